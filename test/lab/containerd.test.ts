import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import {
  assertIsolatedNetwork,
  generateImages,
  LabError,
  layoutToArchive,
  seedRegistry,
  startContainerd,
  startRegistry,
  type GeneratedImages,
  type LabContainerd,
  type LabRegistry,
} from '../../scripts/lab/index.js';

const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';

describe('containerd in the lab', () => {
  let gen: GeneratedImages;
  let work: string;
  let archive: string;
  let ctd: LabContainerd;
  let reg: LabRegistry;

  before(async () => {
    gen = await generateImages({ scale: 0.01 });
    work = await mkdtemp(join(tmpdir(), 'airgap-lab-ctd-test-'));
    archive = join(work, 'layout.tar');
    [ctd, reg] = await Promise.all([startContainerd(), startRegistry(), layoutToArchive(gen.layoutDir, archive)]);
  });
  after(async () => {
    await Promise.all([ctd?.stop(), reg?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  it('refuses to run where interfaces other than lo are reachable', async () => {
    const fake = join(work, 'net-dev');
    const head = 'Inter-|   Receive\n face |bytes    packets\n';
    await writeFile(fake, `${head}    lo: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n  eth0: 1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n`);
    await assert.rejects(assertIsolatedNetwork(fake), (err: LabError) => {
      assert.equal(err.code, 'ERR_LAB_NETWORK_NOT_ISOLATED');
      assert.match(err.message, /eth0/);
      return true;
    });
    await writeFile(fake, `${head}    lo: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`);
    await assertIsolatedNetwork(fake);
    await assertIsolatedNetwork(); // this test process: inside scripts/test.sh's namespace
  });

  it('refuses for real in the outer network namespace', async (t) => {
    // An ancestor (npm, the shell) still lives in the outer namespace: run the check there. It only
    // reads /proc/self/net/dev; nothing is started.
    const own = readlinkSync('/proc/self/ns/net');
    let pid = process.ppid;
    let outer: number | undefined;
    while (pid > 1) {
      try {
        if (readlinkSync(`/proc/${pid}/ns/net`) !== own) {
          outer = pid;
          break;
        }
        pid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      } catch {
        break;
      }
    }
    if (outer === undefined) return t.skip('no ancestor in another network namespace');
    const lab = fileURLToPath(new URL('../../scripts/lab/containerd.js', import.meta.url));
    const res = await execa(
      'nsenter',
      [`--net=/proc/${outer}/ns/net`, process.execPath, '--input-type=module', '-e', `import(${JSON.stringify(lab)}).then((m) => m.assertIsolatedNetwork())`],
      { reject: false },
    );
    if (/Permission denied|Operation not permitted/.test(String(res.stderr))) return t.skip('nsenter not permitted here');
    if (!/^\s*(?!lo:)[^\s:]+:/m.test(readFileSync(`/proc/${outer}/net/dev`, 'utf8').split('\n').slice(2).join('\n'))) {
      return t.skip('the outer namespace has only lo');
    }
    assert.notEqual(res.exitCode, 0);
    assert.match(String(res.stderr), /ERR_LAB_NETWORK_NOT_ISOLATED|refusing to start containerd/);
  });

  it('keeps socket, root, state and config under its own dir, with config_path and CRI on', async () => {
    for (const p of [ctd.socket, ctd.root, ctd.state, ctd.configFile, ctd.hostsDir]) {
      assert.ok(p.startsWith(ctd.dir + '/'), p);
      assert.ok(existsSync(p), p);
    }
    const config = await readFile(ctd.configFile, 'utf8');
    assert.match(config, /^version = 2$/m);
    assert.ok(config.includes(`config_path = ${JSON.stringify(ctd.hostsDir)}`));
    assert.match(await ctd.ctr(['version']), /Server:\s*\n\s*Version:\s*1\.6\./);
    const plugins = await ctd.ctr(['plugins', 'ls']);
    assert.match(plugins, /io\.containerd\.grpc\.v1\s+cri\s+\S+\s+ok/);
    assert.match(plugins, new RegExp(`io\\.containerd\\.snapshotter\\.v1\\s+${ctd.snapshotter}\\s+\\S+\\s+ok`));
  });

  it('answers the kubelet-facing CRI API on the same socket', async () => {
    const v = await ctd.cri.version();
    assert.equal(v.runtimeName, 'containerd');
    assert.equal(v.runtimeApiVersion, 'v1');
    assert.match(v.runtimeVersion, /^1\.6\./);
  });

  it('pulls through a hosts.toml mirror to the lab registry over CRI', async () => {
    await seedRegistry(reg, gen, { only: ['registry.k8s.io/pause:3.9'] });
    await mkdir(join(ctd.hostsDir, 'registry.k8s.io'), { recursive: true });
    await writeFile(
      join(ctd.hostsDir, 'registry.k8s.io', 'hosts.toml'),
      `server = "https://registry.k8s.io"\n\n[host."${reg.url}/v2/registry.k8s.io"]\n  capabilities = ["pull", "resolve"]\n  override_path = true\n`,
    );
    const pause = gen.images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!;
    const id = await ctd.cri.pullImage(pause.ref);
    const status = await ctd.cri.imageStatus(pause.ref);
    assert.equal(status?.id, id);
    assert.deepEqual(status?.repoDigests, [`registry.k8s.io/pause@${pause.digest}`]);
  });

  it('imports an oci-archive of a generated layout, all platforms, and unpacks it', async () => {
    const out = await ctd.ctr(['-n', 'k8s.io', 'images', 'import', '--all-platforms', archive]);
    assert.equal(out.match(/\.\.\.done/g)?.length, gen.images.length, out);

    const listed = (await ctd.ctr(['-n', 'k8s.io', 'images', 'ls'])).split('\n').slice(1).filter(Boolean);
    for (const img of gen.images) {
      const row = listed.find((l) => l.split(/\s+/)[0] === img.ref);
      assert.ok(row, `${img.ref} in ctr images ls`);
      assert.ok(row.includes(img.digest), `${img.ref} keeps its index digest`);
    }
    // --all-platforms kept the arm64 content too
    const content = await ctd.ctr(['-n', 'k8s.io', 'content', 'ls', '-q']);
    for (const img of gen.images) {
      const arm = img.platforms.find((p) => p.platform === 'linux/arm64')!;
      assert.ok(content.includes(arm.digest) && content.includes(arm.layers.at(-1)!.digest), `${img.ref} arm64 content`);
    }
    // CRI sees every image by name
    const tags = (await ctd.cri.listImages()).flatMap((i) => i.repoTags);
    for (const img of gen.images) assert.ok(tags.includes(img.ref), `${img.ref} visible over CRI`);

    // one snapshot per distinct layer chain of the host platform: the layers really unpacked
    const chains = new Set<string>();
    for (const img of gen.images) {
      const layers = img.platforms.find((p) => p.platform === `linux/${hostArch}`)!.layers.map((l) => l.diffId);
      layers.forEach((_, i) => chains.add(layers.slice(0, i + 1).join(',')));
    }
    const snaps = (await ctd.ctr(['-n', 'k8s.io', 'snapshots', '--snapshotter', ctd.snapshotter, 'ls'])).split('\n').slice(1).filter(Boolean);
    assert.equal(snaps.length, chains.size);
  });

  it('stops by PID and removes its dir', async () => {
    await ctd.stop();
    assert.throws(() => process.kill(ctd.pid, 0), { code: 'ESRCH' });
    assert.equal(existsSync(ctd.socket), false);
    assert.equal(existsSync(ctd.dir), false);
  });
});
