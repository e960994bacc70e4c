/**
 * airgap load --docker into a real Docker Engine (Debian's docker.io 20.10, dockerd started as a
 * plain process under a temp dir), checked the way a cri-dockerd node sees it: `docker image
 * inspect NAME` finds each bundle image by its original name with the bundle's config digest as
 * image ID (Docker's image ID is its config's digest). Run inside `unshare -n` (scripts/test.sh).
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, open, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BundleReader } from '../../src/bundle/reader.js';
import type { LoadEvent } from '../../src/load/events.js';
import { hostPlatform } from '../../src/load/to-containerd.js';
import { formatPlatform } from '../../src/oci/platform.js';
import type { GeneratedImage, GeneratedImages } from '../../scripts/lab/index.js';
import { startDockerEngine, type DockerEngineLab } from '../helpers/docker-engine.js';
import { bundleFromLayout } from '../helpers/lab-bundle.js';
import { runCli, startBundleLab, type BundleLab } from '../helpers/node-lab.js';

let lab: BundleLab;
let engine: DockerEngineLab | undefined;
let work: string;
let gen: GeneratedImages;
let bundle: string;
let socket: string;
/** an empty kubelet directory: the node's runtime is not read from this machine's /var/lib/kubelet */
let noKubelet: string;

before(async () => {
  lab = await startBundleLab('airgap-load-docker-');
  ({ work, gen, bundle } = lab);
  noKubelet = join(work, 'no-kubelet');
  await mkdir(noKubelet);
  engine = await startDockerEngine(join(work, 'docker'));
  socket = engine.socket;
});
after(async () => {
  await engine?.stop();
  await lab?.stop();
});

const cli = (args: string[]) => runCli(['load', ...args, '--kubelet-dir', noKubelet]);
const docker = (args: string[]) => engine!.docker(args);

function jsonEvents(stdout: string): LoadEvent[] {
  return stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LoadEvent);
}

/** The image ID Docker should give `img` on this machine: its host-platform config's digest. */
function expectedId(img: GeneratedImage): string {
  const host = formatPlatform(hostPlatform());
  const p = img.platforms.find((x) => x.platform === host) ?? img.platforms[0]!;
  return p.config.digest;
}

/** NAME -> image ID as `docker image inspect` reports it; undefined when Docker has no such image. */
async function imageId(name: string): Promise<string | undefined> {
  const r = await docker(['image', 'inspect', '--format', '{{.Id}}', name]);
  return r.exitCode === 0 ? String(r.stdout).trim() : undefined;
}

test('docker: every bundle image in Docker\'s store under its original name with the bundle\'s config digest as image ID, pause included; a second load changes nothing', async () => {
  const r = await cli([bundle, '--docker', socket]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /Docker Engine 20\.10/);
  assert.match(r.stdout, new RegExp(`docker ${socket}: ${gen.images.length} images \\(${gen.images.length} loaded, 0 already present\\)`));
  assert.ok(gen.images.some((i) => i.ref === 'registry.k8s.io/pause:3.9'), 'the set has a pause image');
  for (const img of gen.images) assert.equal(await imageId(img.ref), expectedId(img), `${img.ref} in Docker`);

  const again = await cli([bundle, '--docker', socket, '--json']);
  assert.equal(again.exitCode, 0, again.stderr);
  const ev = jsonEvents(again.stdout);
  const statuses = new Map(ev.flatMap((e) => (e.event === 'docker-image' ? [[e.image, e.status] as const] : [])));
  assert.deepEqual([...statuses.keys()].sort(), gen.images.map((i) => i.ref).sort());
  assert.ok([...statuses.values()].every((s) => s === 'present'), JSON.stringify([...statuses]));
  const s = ev.find((e) => e.event === 'summary');
  assert.ok(s && s.event === 'summary');
  assert.equal(s.summary.changed, false, 'a second load reports no changes');
  assert.deepEqual({ ...s.summary.docker, version: undefined }, { socket, version: undefined, images: gen.images.length, loaded: 0, present: gen.images.length, failed: 0 });

  const human = await cli([bundle, '--docker', socket]);
  assert.equal(human.exitCode, 0, human.stderr);
  assert.match(human.stdout, /Nothing changed/);
});

test('docker: --dry-run says what would load and loads nothing', async () => {
  const etcd = gen.images.find((i) => i.ref.includes('/etcd:'))!;
  assert.equal((await docker(['image', 'rm', etcd.ref])).exitCode, 0);
  const before = String((await docker(['image', 'ls', '-a', '-q', '--no-trunc'])).stdout).split('\n').sort();
  const r = await cli([bundle, '--docker', socket, '--dry-run', '--json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const ev = jsonEvents(r.stdout);
  const mine = ev.find((e) => e.event === 'docker-image' && e.image === etcd.ref);
  assert.ok(mine && mine.event === 'docker-image');
  assert.equal(mine.status, 'would-load');
  assert.equal(mine.imageId, expectedId(etcd));
  assert.equal(ev.filter((e) => e.event === 'docker-image' && e.status === 'present').length, gen.images.length - 1);
  const s = ev.find((e) => e.event === 'summary');
  assert.ok(s && s.event === 'summary' && s.summary.dryRun && s.summary.docker?.loaded === 1);
  assert.equal(await imageId(etcd.ref), undefined, 'nothing was loaded');
  assert.deepEqual(String((await docker(['image', 'ls', '-a', '-q', '--no-trunc'])).stdout).split('\n').sort(), before);

  const load = await cli([bundle, '--docker', socket]);
  assert.equal(load.exitCode, 0, load.stderr);
  assert.equal(await imageId(etcd.ref), expectedId(etcd));
});

test('docker: a corrupt layer fails that image (exit 1, naming the digest) and loads nothing of it; the others are loaded', async () => {
  const etcd = gen.images.find((i) => i.ref.includes('/etcd:'))!;
  const host = formatPlatform(hostPlatform());
  const used = new Set(gen.images.filter((i) => i !== etcd).flatMap((i) => i.platforms.flatMap((p) => p.layers.map((l) => l.digest))));
  const layer = etcd.platforms.find((p) => p.platform === host)!.layers.find((l) => !used.has(l.digest))!;
  const bad = join(work, 'corrupt.tar');
  await copyFile(bundle, bad);
  const reader = await BundleReader.open(bad);
  const range = reader.blobRange(layer.digest)!;
  await reader.close();
  const fh = await open(bad, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, range.offset + 10);
  await fh.write(Buffer.from([b[0]! ^ 0xff]), 0, 1, range.offset + 10);
  await fh.close();
  assert.equal((await docker(['image', 'rm', etcd.ref])).exitCode, 0);
  const pause = gen.images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!;
  assert.equal((await docker(['image', 'rm', pause.ref])).exitCode, 0);

  const r = await cli([bad, '--docker', socket]);
  assert.equal(r.exitCode, 1, r.stderr);
  assert.match(r.stderr, new RegExp(layer.digest));
  assert.match(r.stdout, /FAILED/);
  assert.equal(await imageId(etcd.ref), undefined, 'no image from partial content');
  assert.equal(await imageId(expectedId(etcd)), undefined, 'not even untagged');
  assert.equal(await imageId(pause.ref), expectedId(pause), 'the other images are loaded');

  const fixed = await cli([bundle, '--docker', socket]);
  assert.equal(fixed.exitCode, 0, fixed.stderr);
  assert.equal(await imageId(etcd.ref), expectedId(etcd));
});

test('docker: several names of one image in the bundle go in one archive; each name gets the image', async () => {
  const pause = gen.images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!;
  const layout = join(work, 'two-names');
  await mkdir(layout);
  await symlink(join(gen.layoutDir, 'blobs'), join(layout, 'blobs'));
  await copyFile(join(gen.layoutDir, 'oci-layout'), join(layout, 'oci-layout'));
  const index = JSON.parse(await readFile(join(gen.layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const entry = index.manifests.find((m) => m.digest === pause.digest)!;
  const other = 'registry.local/airgap/pause:stable';
  const alias = { ...entry, annotations: { ...entry.annotations, 'io.containerd.image.name': other, 'org.opencontainers.image.ref.name': other } };
  await writeFile(join(layout, 'index.json'), JSON.stringify({ ...index, manifests: [entry, alias] }));
  const b = (await bundleFromLayout(layout, join(work, 'two-names.tar'))).path;

  const r = await cli([b, '--docker', socket, '--json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const ev = jsonEvents(r.stdout).filter((e) => e.event === 'docker-image');
  assert.deepEqual(ev.map((e) => e.event === 'docker-image' && [e.image, e.status]).sort(), [[pause.ref, 'present'], [other, 'loaded']]);
  assert.equal(await imageId(other), expectedId(pause));
  assert.equal(await imageId(pause.ref), expectedId(pause));

  // Both missing: one load brings both names.
  assert.equal((await docker(['image', 'rm', other, pause.ref])).exitCode, 0);
  const both = await cli([b, '--docker', socket, '--json']);
  assert.equal(both.exitCode, 0, both.stderr);
  assert.deepEqual(jsonEvents(both.stdout).flatMap((e) => (e.event === 'docker-image' ? [e.status] : [])), ['loaded', 'loaded']);
  assert.equal(await imageId(other), expectedId(pause));
  assert.equal(await imageId(pause.ref), expectedId(pause));
});

test('docker: refused on a node whose kubelet uses containerd, and together with containerd steps (exit 2, ERR_NODE_RUNTIME_MISMATCH); a cri-dockerd node is told to use --docker', async () => {
  const containerdKubelet = join(work, 'kubelet-containerd');
  await mkdir(containerdKubelet);
  await writeFile(join(containerdKubelet, 'kubeadm-flags.env'), 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.9"\n');
  const before = String((await docker(['image', 'ls', '-a', '-q', '--no-trunc'])).stdout).split('\n').sort();
  const r = await runCli(['load', bundle, '--docker', socket, '--kubelet-dir', containerdKubelet, '--json']);
  assert.equal(r.exitCode, 2, r.stderr);
  const err = jsonEvents(r.stdout).find((e) => (e as { event: string }).event === 'error') as unknown as { code: string; message: string; hint: string } | undefined;
  const text = `${r.stdout}\n${r.stderr}`;
  assert.match(text, /ERR_NODE_RUNTIME_MISMATCH/);
  assert.match(text, /containerd/);
  assert.match(text, /kubeadm-flags\.env/, 'says where the runtime was found');
  assert.match(text, /--containerd --configure-containerd/, 'names the right flags');
  if (err) assert.equal(err.code, 'ERR_NODE_RUNTIME_MISMATCH');
  assert.deepEqual(String((await docker(['image', 'ls', '-a', '-q', '--no-trunc'])).stdout).split('\n').sort(), before, 'nothing loaded');

  const both = await cli([bundle, '--docker', socket, '--containerd']);
  assert.equal(both.exitCode, 2, both.stderr);
  assert.match(both.stderr, /--docker cannot go with --containerd/);
  // --configure with --docker configures cri-dockerd; without its systemd unit that stops before anything is loaded.
  const both2 = await cli([bundle, '--docker', socket, '--configure-containerd', '--mirror', 'http://127.0.0.1:5000']);
  assert.equal(both2.exitCode, 2, both2.stderr);
  assert.match(both2.stderr, /needs cri-dockerd's systemd unit, and there is no cri-docker\.service/);

  const dockerKubelet = join(work, 'kubelet-cri-dockerd');
  await mkdir(dockerKubelet);
  await writeFile(join(dockerKubelet, 'kubeadm-flags.env'), 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/cri-dockerd.sock"\n');
  const reverse = await runCli(['load', bundle, '--containerd', '--kubelet-dir', dockerKubelet]);
  assert.equal(reverse.exitCode, 2, reverse.stderr);
  assert.match(reverse.stderr, /cri-dockerd/);
  assert.match(reverse.stderr, /--docker/);
  // ... and --docker is right there
  const ok = await runCli(['load', bundle, '--docker', socket, '--kubelet-dir', dockerKubelet]);
  assert.equal(ok.exitCode, 0, ok.stderr);
});

test('docker: no socket -> exit 6 naming the socket and how to start Docker', async () => {
  const missing = join(work, 'no-such-docker.sock');
  const r = await cli([bundle, '--docker', missing]);
  assert.equal(r.exitCode, 6, r.stderr);
  assert.match(r.stderr, new RegExp(missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.match(r.stderr, /systemctl start docker/);
});

test('docker --configure: cri-docker.service gets a drop-in with the bundle\'s pause (diffed, then written, then unchanged); a missing unit is refused first', async () => {
  const { load } = await import('../../src/load/load.js');
  const root = join(work, 'cri-dockerd-root');
  await mkdir(join(root, 'lib/systemd/system'), { recursive: true });
  const base = { bundle, docker: { socket }, configureContainerd: {}, kubeletDir: noKubelet, root };

  // No unit anywhere: refused before anything is loaded.
  await assert.rejects(load(base), (e: Error & { code?: string }) => e.code === 'ERR_CRI_DOCKERD_UNIT' && /install cri-dockerd/.test((e as { hint?: string }).hint ?? ''));

  await writeFile(join(root, 'lib/systemd/system/cri-docker.service'),
    '[Service]\nType=notify\nExecStart=/usr/bin/cri-dockerd --container-runtime-endpoint fd:// --pod-infra-container-image=registry.k8s.io/pause:3.6\n');
  const dropIn = join(root, 'etc/systemd/system/cri-docker.service.d/50-airgap.conf');
  const events: LoadEvent[] = [];
  const dry = await load({ ...base, dryRun: true, onEvent: (e) => events.push(e) });
  const diff = events.find((e) => e.event === 'config');
  assert.ok(diff && diff.event === 'config' && diff.status === 'would-create' && /\+ExecStart=\/usr\/bin\/cri-dockerd --container-runtime-endpoint fd:\/\/ --pod-infra-container-image=registry\.k8s\.io\/pause:3\.9/.test(diff.diff ?? ''), JSON.stringify(diff));
  assert.equal(dry.summary.config?.changed.length, 1);
  await assert.rejects(readFile(dropIn, 'utf8'), 'a dry run writes nothing');

  const first = await load(base);
  assert.equal(first.summary.config?.restartCommand, 'systemctl daemon-reload && systemctl restart cri-docker');
  assert.equal(first.summary.config?.restartNeeded, true);
  assert.equal(first.summary.runtime, 'docker');
  const text = await readFile(dropIn, 'utf8');
  assert.match(text, /\[Service\]\nExecStart=\nExecStart=\/usr\/bin\/cri-dockerd --container-runtime-endpoint fd:\/\/ --pod-infra-container-image=registry\.k8s\.io\/pause:3\.9\n$/);
  const second = await load(base);
  assert.deepEqual(second.summary.config?.changed, []);
  assert.equal(second.summary.changed, false);
});
