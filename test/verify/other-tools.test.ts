import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { generateImages } from '../../scripts/lab/generate.js';
import { indexTar } from '../../src/bundle/tar-index.js';
import { verifyBundle } from '../../src/verify/verify-bundle.js';
import { inspectBundle } from '../../src/verify/inspect.js';
import type { Finding, VerifyReport } from '../../src/verify/report.js';
import { bundleFromLayout } from '../helpers/lab-bundle.js';
import { makeTempDir } from '../helpers/make-bundle.js';

/**
 * Real archives from the tools users have: the lab's kubeadm set packed per the bundle format,
 * skopeo's oci-archive, and containerd's `ctr images export` (with and without all platforms).
 */

const run = promisify(execFile);

let dir: string;
let cleanup: () => Promise<void>;
let skopeoPause: string;
let skopeoEtcd: string;

function errors(r: VerifyReport): Finding[] {
  return r.checks.flatMap((c) => c.findings.filter((f) => f.severity === 'error'));
}

async function which(cmd: string): Promise<boolean> {
  return access(cmd).then(() => true, () => false);
}

before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-other-tools-'));
  // skopeo 1.9 finds only OCI-typed entries of an OCI layout by name, so these two are OCI images.
  const lab = await generateImages({ refs: [{ ref: 'registry.k8s.io/pause:3.9', format: 'oci' }, { ref: 'registry.k8s.io/etcd:3.5.15-0', format: 'oci' }] });
  skopeoPause = join(dir, 'pause.oci.tar');
  skopeoEtcd = join(dir, 'etcd.oci.tar');
  if (await which('/usr/bin/skopeo')) {
    for (const [ref, out] of [['registry.k8s.io/pause:3.9', skopeoPause], ['registry.k8s.io/etcd:3.5.15-0', skopeoEtcd]] as const) {
      await run('skopeo', ['copy', '--quiet', '--all', '--preserve-digests', `oci:${lab.layoutDir}:${ref}`, `oci-archive:${out}:${ref}`]);
    }
  }
});
after(async () => {
  await cleanup();
});

describe('the lab bundle', () => {
  it('the kubeadm v1.30.14 set, two platforms, verifies against v1.30.14', async () => {
    const lab = await generateImages();
    const b = await bundleFromLayout(lab.layoutDir, join(dir, 'lab.tar'), { kubernetes: { version: 'v1.30.14', distribution: 'kubeadm' } });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
    assert.equal(r.summary.warnings, 0);
    assert.equal(r.summary.blobs, lab.blobs.count);
    assert.equal(r.summary.bytesHashed, lab.blobs.size);
    assert.equal(r.kubernetes?.needed.every((n) => n.status === 'present'), true);
    assert.deepEqual(r.platformMatrix.platforms, ['linux/amd64', 'linux/arm64']);
    assert.ok(r.platformMatrix.rows.every((row) => row.cells['linux/amd64'] === 'present' && row.cells['linux/arm64'] === 'present'));
    const i = await inspectBundle(b.path);
    assert.equal(i.images.length, 7);
    assert.equal(i.blobs.count, lab.blobs.count);
    assert.ok(i.blobs.shared.count > 0, 'the lab set shares base layers');
  });

  it('packed for amd64 only, it verifies, and --platform linux/arm64 fails by name', async () => {
    const lab = await generateImages();
    const b = await bundleFromLayout(lab.layoutDir, join(dir, 'lab-amd64.tar'), { platforms: ['linux/amd64'], kubernetes: { version: 'v1.30.14', distribution: 'kubeadm' } });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
    const arm = await verifyBundle(b.path, { platforms: ['linux/arm64'] });
    assert.equal(errors(arm).length, 7);
    assert.ok(errors(arm).every((f) => f.code === 'platform-not-included'));
  });
});

describe('skopeo oci-archive', { skip: !(await which('/usr/bin/skopeo')) && 'skopeo is not installed' }, () => {
  it('verifies with what can be checked without our metadata', async () => {
    for (const [path, ref] of [[skopeoPause, 'registry.k8s.io/pause:3.9'], [skopeoEtcd, 'registry.k8s.io/etcd:3.5.15-0']] as const) {
      const r = await verifyBundle(path);
      assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
      assert.equal(r.bundle?.kind, 'oci-layout');
      assert.equal(r.checks.find((c) => c.name === 'metadata')!.status, 'skip');
      assert.deepEqual(r.images.map((i) => i.ref), [ref]);
      assert.ok(r.summary.bytesHashed > 0);
    }
  });

  it('a flipped byte in a skopeo archive is caught and named', async () => {
    const idx = await indexTar(skopeoPause);
    const layer = idx.entries.filter((e) => e.type === 'file' && e.name.startsWith('blobs/')).sort((a, b) => b.size - a.size)[0]!;
    const bytes = await readFile(skopeoPause);
    bytes[layer.offset + 7] ^= 0x01;
    const bad = join(dir, 'pause-flipped.tar');
    await writeFile(bad, bytes);
    const r = await verifyBundle(bad);
    assert.equal(r.ok, false);
    const e = errors(r).filter((f) => f.check === 'integrity');
    assert.deepEqual(e.map((f) => [f.digest, f.images]), [[`sha256:${layer.name.split('/')[2]}`, ['registry.k8s.io/pause:3.9']]]);
  });
});

const canContainerd = process.getuid?.() === 0 && (await which('/usr/bin/containerd')) && (await which('/usr/bin/ctr')) && (await which('/usr/bin/skopeo'));

describe('ctr images export', { skip: !canContainerd && 'needs root, containerd, ctr and skopeo' }, () => {
  let daemon: ChildProcess | undefined;
  let sock: string;
  const ctr = (...args: string[]) => run('ctr', ['--address', sock, '--namespace', 'airgap-test', ...args]);

  before(async () => {
    const root = join(dir, 'containerd');
    sock = join(root, 'containerd.sock');
    const config = join(dir, 'containerd.toml');
    await writeFile(config, [
      'version = 2',
      `root = "${root}/root"`,
      `state = "${root}/state"`,
      '[grpc]',
      `  address = "${sock}"`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      '  disable_tcp_service = true',
      '',
    ].join('\n'));
    // In a network namespace of its own: whatever containerd tries, nothing leaves this machine.
    daemon = spawn('unshare', ['-n', 'containerd', '--config', config], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await ctr('version');
        break;
      } catch (e) {
        if (Date.now() > deadline || daemon.exitCode !== null) throw new Error(`containerd did not start: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await ctr('images', 'import', '--all-platforms', skopeoPause);
  });
  after(() => {
    // A throwaway root under the temp dir: no need for a graceful stop.
    if (daemon?.pid) process.kill(daemon.pid, 'SIGKILL');
  });

  it('an export of all platforms verifies clean', async () => {
    const out = join(dir, 'ctr-all.tar');
    await ctr('images', 'export', '--all-platforms', out, 'registry.k8s.io/pause:3.9');
    const r = await verifyBundle(out);
    assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
    assert.equal(r.summary.warnings, 0);
    // ctr stores the short tag as ref.name; the containerd name is the full one
    assert.deepEqual(r.images.map((i) => i.ref), ['registry.k8s.io/pause:3.9']);
    assert.deepEqual(r.platformMatrix.rows[0]!.cells, { 'linux/amd64': 'present', 'linux/arm64': 'present' });
  });

  it('an export of the host platform only: the other is absent (a warning), and fails --platform', async () => {
    const out = join(dir, 'ctr-host.tar');
    await ctr('images', 'export', out, 'registry.k8s.io/pause:3.9');
    const r = await verifyBundle(out);
    assert.equal(r.ok, true, JSON.stringify(errors(r), null, 1));
    const absent = r.checks.flatMap((c) => c.findings).filter((f) => f.code === 'platform-absent');
    assert.equal(absent.length, 1);
    const other = absent[0]!.platform!;
    const strict = await verifyBundle(out, { platforms: [other] });
    assert.equal(strict.ok, false);
    assert.deepEqual(errors(strict).map((f) => [f.code, f.platform]), [['platform-not-included', other]]);
  });
});
