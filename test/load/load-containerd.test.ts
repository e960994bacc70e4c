/**
 * airgap load into a real containerd 1.6 (CRI plugin on) and a real node registry, checked the way
 * a node is: `ctr -n k8s.io images ls`, and CRI PullImage by the images' original names — exactly
 * what kubelet sends — after the imported images were removed again. Run inside `unshare -n`
 * (scripts/test.sh): a pull that misses the mirror fails fast instead of going upstream.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, copyFile, open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { BundleReader } from '../../src/bundle/reader.js';
import type { LoadEvent } from '../../src/load/events.js';
import type { GeneratedImages, LabRegistry } from '../../scripts/lab/index.js';
import { makeBundle } from '../helpers/make-bundle.js';
import { runCli, startNodeLab, type NodeLab } from '../helpers/node-lab.js';
import type { NodeConfig, NodeContainerd } from '../node/containerd/node-containerd.js';
import { startServeProcess } from '../serve/cli-process.js';

const PINNED = 'io.cri-containerd.pinned=pinned';

let lab: NodeLab;
let work: string;
let gen: GeneratedImages;
let bundle: string;
let reg: LabRegistry;
let node: NodeConfig;
let ctd: NodeContainerd;
let hostsDir: string;

before(async () => {
  lab = await startNodeLab('airgap-load-ctd-');
  ({ work, gen, bundle, reg, node, ctd, hostsDir } = lab);
});
after(async () => {
  await lab?.stop();
});

const cli = (args: string[]) => runCli(['load', ...args]);

function ctr(args: string[]) {
  return execa('ctr', ['--address', node.socket, '--namespace', 'k8s.io', ...args], { stdin: 'ignore' });
}

/** name -> { digest, labels } as `ctr images ls` prints them (REF TYPE DIGEST SIZE(2 words) PLATFORMS LABELS). */
async function ctrImages(): Promise<Map<string, { digest: string; labels: string }>> {
  const out = new Map<string, { digest: string; labels: string }>();
  for (const line of (await ctr(['images', 'ls'])).stdout.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 6) out.set(f[0]!, { digest: f[2]!, labels: f[f.length - 1]! });
  }
  return out;
}

async function removeAllImages(): Promise<void> {
  const names = (await ctr(['images', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
  if (names.length) await ctr(['images', 'rm', '--sync', ...names]);
}

function jsonEvents(stdout: string): LoadEvent[] {
  return stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LoadEvent);
}

/** Every file under dir with its content (undefined dir: absent). */
async function snapshot(paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (p: string): Promise<void> => {
    let st;
    try {
      st = await stat(p);
    } catch {
      out[p] = '<absent>';
      return;
    }
    if (st.isDirectory()) for (const e of await readdir(p)) await walk(join(p, e));
    else out[p] = await readFile(p, 'utf8');
  };
  for (const p of paths) await walk(p);
  return out;
}

test('containerd: every image in k8s.io with the bundle\'s digest, the pause image pinned; a second load imports nothing', async () => {
  const r = await cli([bundle, '--containerd', node.socket]);
  assert.equal(r.exitCode, 0, r.stderr);
  const have = await ctrImages();
  for (const img of gen.images) {
    assert.equal(have.get(img.ref)?.digest, img.digest, `${img.ref} in containerd`);
    // kubelet's view: CRI finds it by the name the pod spec uses
    assert.ok(await ctd.cri.imageStatus(img.ref), `CRI ImageStatus ${img.ref}`);
  }
  assert.ok(have.get('registry.k8s.io/pause:3.9')!.labels.split(',').includes(PINNED), 'pause is pinned');
  assert.ok(!have.get('registry.k8s.io/etcd:3.5.15-0')!.labels.includes(PINNED), 'only pause is pinned');

  // The second run through a `k3s ctr`-style wrapper, as on a k3s node.
  const k3s = join(work, 'k3s');
  await writeFile(k3s, '#!/bin/sh\n[ "$1" = ctr ] && shift\nexec ctr "$@"\n');
  await chmod(k3s, 0o755);
  const again = await cli([bundle, '--containerd', node.socket, '--ctr', `${k3s} ctr`, '--json']);
  assert.equal(again.exitCode, 0, again.stderr);
  const ev = jsonEvents(again.stdout);
  assert.deepEqual(ev.filter((e) => e.event === 'containerd-image').map((e) => e.event === 'containerd-image' && e.status), gen.images.map(() => 'present'));
  const s = ev.find((e) => e.event === 'summary');
  assert.ok(s && s.event === 'summary' && s.summary.changed === false);
});

test('containerd: a corrupt layer fails the import (exit 1, naming the digest) and creates no image', async () => {
  const etcd = gen.images.find((i) => i.ref.includes('/etcd:'))!;
  const used = new Set(gen.images.filter((i) => i !== etcd).flatMap((i) => i.platforms.flatMap((p) => p.layers.map((l) => l.digest))));
  const layer = etcd.platforms.find((p) => p.platform === 'linux/amd64')!.layers.find((l) => !used.has(l.digest))!;
  const bad = join(work, 'corrupt.tar');
  await copyFile(bundle, bad);
  const reader = await BundleReader.open(bad);
  const range = reader.blobRange(layer.digest)!;
  await reader.close();
  const fh = await open(bad, 'r+');
  await fh.write(Buffer.from([0x5a ^ 0xff]), 0, 1, range.offset + 10);
  await fh.close();
  await ctr(['images', 'rm', '--sync', etcd.ref]);

  const r = await cli([bad, '--containerd', node.socket]);
  assert.equal(r.exitCode, 1, r.stderr);
  assert.match(r.stderr, new RegExp(layer.digest));
  const have = await ctrImages();
  assert.equal(have.has(etcd.ref), false, 'no image from partial content');
  assert.equal(have.get('registry.k8s.io/pause:3.9')?.digest, gen.images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!.digest);
});

test('containerd: a bundle without a platform ctr would want (linux/386 on amd64) imports an index of the bundle\'s platforms, where plain ctr import fails', async () => {
  const b = await makeBundle({
    dir: work,
    platforms: ['linux/amd64'],
    images: [{ ref: 'docker.io/library/busybox:1.36', platforms: ['linux/amd64', 'linux/386', 'linux/arm64'] }],
  });
  const plain = await execa('ctr', ['--address', node.socket, '-n', 'k8s.io', 'images', 'import', '--no-unpack', b.path], { reject: false, stdin: 'ignore' });
  assert.notEqual(plain.exitCode, 0, 'ctr alone cannot import it');
  const r = await cli([b.path, '--containerd', node.socket, '--no-unpack', '--json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const warning = jsonEvents(r.stdout).find((e) => e.event === 'warning' && e.code === 'INDEX_REDUCED');
  assert.ok(warning, 'the user is told the digest differs');
  const img = b.images[0]!;
  const expected = { ...JSON.parse(b.store.get(img.descriptor.digest)!.toString()) as { manifests: { platform: { architecture: string } }[] } };
  expected.manifests = expected.manifests.filter((m) => m.platform.architecture === 'amd64');
  const got = (await ctrImages()).get('docker.io/library/busybox:1.36');
  assert.equal(got?.digest, `sha256:${createHash('sha256').update(JSON.stringify(expected)).digest('hex')}`);
  await ctr(['images', 'rm', '--sync', 'docker.io/library/busybox:1.36']);
});

test('other tools\' archives load as they are: ctr images export, and skopeo oci-archive (with --base-name for its bare tags)', async () => {
  const pause = gen.images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!;
  const amd = pause.platforms.find((p) => p.platform === 'linux/amd64')!;
  const raw = async (ref: string): Promise<Buffer> =>
    Buffer.from((await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'buffer', stdin: 'ignore' })).stdout);

  // ctr export of what containerd holds (the host platform's content under the upstream index)
  const exported = join(work, 'ctr-export.tar');
  await ctr(['images', 'export', exported, pause.ref]);
  const r1 = await cli([exported, '--registry', `${reg.url}/from-ctr`]);
  assert.equal(r1.exitCode, 0, r1.stderr);
  const idx = JSON.parse((await raw(`${reg.host}/from-ctr/${pause.ref}`)).toString()) as { manifests: { digest: string }[] };
  assert.deepEqual(idx.manifests.map((m) => m.digest), [amd.digest]);

  // skopeo oci-archive names the image by its tag only ("3.5.15-0"); an OCI index keeps its digest there
  const etcd = gen.images.find((i) => i.ref === 'registry.k8s.io/etcd:3.5.15-0')!;
  const src = await cli([bundle, '--registry', `${reg.url}/src`]);
  assert.equal(src.exitCode, 0, src.stderr);
  const archive = join(work, 'skopeo.tar');
  await execa('skopeo', ['copy', '-q', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${reg.host}/src/${etcd.ref}`, `oci-archive:${archive}:3.5.15-0`], { stdin: 'ignore' });
  const bare = await cli([archive, '--registry', `${reg.url}/from-skopeo`]);
  assert.equal(bare.exitCode, 2);
  assert.match(bare.stderr, /--base-name/);
  const r2 = await cli([archive, '--registry', `${reg.url}/from-skopeo`, '--base-name', 'registry.k8s.io/etcd']);
  assert.equal(r2.exitCode, 0, r2.stderr);
  assert.equal(`sha256:${createHash('sha256').update(await raw(`${reg.host}/from-skopeo/${etcd.ref}`)).digest('hex')}`, etcd.digest);
});

test('the node pulls offline: after load --registry --containerd --configure-containerd and removing the images, CRI pulls every image by its original name from the node registry; airgap serve works as the mirror too', async () => {
  const common = ['--registry', reg.url, '--containerd', node.socket, '--configure-containerd', '--containerd-config', node.configFile, '--hosts-dir', hostsDir];
  const watched = [node.configFile, join(dirname(node.configFile), 'conf.d'), hostsDir];

  // --dry-run: diffs printed, no file, registry or image store changed
  const before = await snapshot(watched);
  const regLog = (await stat(reg.logFile)).size;
  const imagesBefore = await ctrImages();
  const dry = await cli([bundle, ...common, '--dry-run']);
  assert.equal(dry.exitCode, 0, dry.stderr);
  assert.match(dry.stdout, /\+\+\+ /, 'the configuration change is shown as a diff');
  assert.match(dry.stdout, /sandbox_image/);
  assert.deepEqual(await snapshot(watched), before, '--dry-run changes no file');
  const writes = (await readFile(reg.logFile)).subarray(regLog).toString().split('\n').filter((l) => /"(PUT|POST|PATCH|DELETE) /.test(l));
  assert.deepEqual(writes, []);
  assert.deepEqual(await ctrImages(), imagesBefore);

  const r = await cli([bundle, ...common]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /restart/i);
  assert.ok((await readFile(join(hostsDir, 'registry.k8s.io', 'hosts.toml'), 'utf8')).includes(`${reg.url}/v2/registry.k8s.io`));

  const again = await cli([bundle, ...common, '--json']);
  assert.equal(again.exitCode, 0, again.stderr);
  const s = jsonEvents(again.stdout).find((e) => e.event === 'summary');
  assert.ok(s && s.event === 'summary');
  assert.equal(s.summary.changed, false, 'a second load reports no changes');

  // Forget the imported images, restart containerd on the new configuration, pull as kubelet does.
  await removeAllImages();
  ctd = await lab.restartContainerd('containerd-2.log');
  const status = await ctd.cri.status({ verbose: true });
  const config = status.info.config as { sandboxImage?: string };
  assert.equal(config.sandboxImage, 'registry.k8s.io/pause:3.9', 'CRI reports the bundle\'s pause as sandbox image');
  const mark = (await stat(reg.logFile)).size;
  for (const img of gen.images) await ctd.cri.pullImage(img.ref, { timeoutMs: 30_000 });
  const served = (await readFile(reg.logFile)).subarray(mark).toString();
  for (const img of gen.images) {
    assert.match(served, new RegExp(`"(GET|HEAD) /v2/${img.registry}/${img.repository}/manifests/`), `${img.ref} resolved by the node registry`);
  }
  const pulled = await ctrImages();
  for (const img of gen.images) assert.equal(pulled.get(img.ref)?.digest, img.digest);

  // The same with airgap serve as the mirror, the registry gone.
  await reg.stop();
  const serve = await startServeProcess(bundle);
  try {
    await removeAllImages();
    const m = await cli([bundle, '--configure-containerd', '--mirror', serve.url, '--containerd-config', node.configFile, '--hosts-dir', hostsDir]);
    assert.equal(m.exitCode, 0, m.stderr);
    assert.ok((await readFile(join(hostsDir, 'registry.k8s.io', 'hosts.toml'), 'utf8')).includes(`${serve.url}/v2/registry.k8s.io`));
    for (const img of gen.images) await ctd.cri.pullImage(img.ref, { timeoutMs: 30_000 });
    const viaServe = await ctrImages();
    for (const img of gen.images) assert.equal(viaServe.get(img.ref)?.digest, img.digest);
  } finally {
    serve.kill('SIGTERM');
    await serve.exited;
  }
});
