/**
 * Archives in: every kind of archive users have, read by verify, inspect, load (node registry and
 * containerd) and serve. The archives are made by the real tools (test/helpers/archives.ts: docker
 * save from a Docker Engine started here, podman save -m, skopeo docker-archive, an airgap pack),
 * plain, gzip'd and zstd'd, from files and from standard input. What a user checks: every image
 * pulls back from the node registry by its name, with the archive's layers and config, and what
 * cannot be loaded (an untagged image, a damaged layer) is said and changes nothing.
 * Runs as root (dockerd, containerd) inside `unshare -n` (scripts/test.sh).
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { startContainerd, startRegistry, type LabContainerd, type LabRegistry } from '../../scripts/lab/index.js';
import { compress, dockerSave, makeTestImages, podmanSave, requireTool, skopeoDockerArchive, type TestImage, type TestImageSet } from '../helpers/archives.js';
import { CLI } from '../helpers/cli.js';
import { startDockerEngine, type DockerEngineLab } from '../helpers/docker-engine.js';
import { makeTempDir } from '../helpers/make-bundle.js';
import { startServeProcess } from '../serve/cli-process.js';

let work: string;
let cleanup: (() => Promise<void>) | undefined;
let set: TestImageSet | undefined;
let saver: DockerEngineLab | undefined;
let node: LabRegistry | undefined;
let containerd: LabContainerd | undefined;
let alpha: TestImage;
let beta: TestImage;
let pause: TestImage;

/** An archive under test: where it is, and the images (name -> what its registry copy must be) it holds. */
interface Case {
  label: string;
  path: string;
  /** name -> the image; layers as the archive stores them */
  images: Map<string, TestImage>;
  /** docker-archives hold uncompressed layers (digest = diff_id); an airgap bundle holds upstream's gzip blobs */
  layers: 'diff-ids' | 'upstream';
}
const cases: Case[] = [];
const byLabel = (l: string): Case => cases.find((c) => c.label === l)!;

async function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa(process.execPath, [CLI, ...args], {
    reject: false,
    env: { NO_COLOR: '1', CI: '1', AIRGAP_DEBUG: '' },
    ...(input ? { inputFile: input } : { stdin: 'ignore' }),
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

before(async () => {
  for (const tool of ['dockerd', 'docker', 'podman', 'skopeo', 'gzip', 'zstd', 'ctr', 'containerd']) requireTool(tool);
  ({ dir: work, cleanup } = await makeTempDir('airgap-archive-read-'));
  const started = await Promise.allSettled([makeTestImages(), startDockerEngine(join(work, 'docker')), startRegistry(), startContainerd()]);
  const [s, d, r, c] = started;
  if (s.status === 'fulfilled') set = s.value;
  if (d.status === 'fulfilled') saver = d.value;
  if (r.status === 'fulfilled') node = r.value;
  if (c.status === 'fulfilled') containerd = c.value;
  for (const x of started) if (x.status === 'rejected') throw x.reason;
  alpha = set!.get('lab.test/alpha:1.0');
  beta = set!.get('lab.test/beta:2.0');
  pause = set!.get('registry.k8s.io/pause:3.9');
  const named = (i: TestImage, ...more: string[]): { image: TestImage; names: string[] } => ({ image: i, names: [i.name, ...more] });
  const out = (n: string): string => join(work, n);

  const d1 = await dockerSave(saver!, [named(pause)], out('docker-1.tar'));
  const d3 = await dockerSave(saver!, [named(alpha, 'lab.test/alpha:latest'), named(beta), named(pause)], out('docker-3.tar'));
  const pm = await podmanSave([named(alpha), named(beta), named(pause)], out('podman.tar'));
  const sk = await skopeoDockerArchive(named(alpha), out('skopeo.tar'));
  const three = new Map([[alpha.name, alpha], ['lab.test/alpha:latest', alpha], [beta.name, beta], [pause.name, pause]]);
  cases.push(
    { label: 'docker save, 1 image', path: d1.path, images: new Map([[pause.name, pause]]), layers: 'diff-ids' },
    { label: 'docker save, 3 images', path: d3.path, images: three, layers: 'diff-ids' },
    { label: 'docker save, 3 images, .tar.gz', path: await compress(d3.path, 'gzip'), images: three, layers: 'diff-ids' },
    { label: 'docker save, 3 images, .tar.zst', path: await compress(d3.path, 'zstd'), images: three, layers: 'diff-ids' },
    { label: 'podman save -m', path: pm.path, images: new Map([[alpha.name, alpha], [beta.name, beta], [pause.name, pause]]), layers: 'diff-ids' },
    { label: 'skopeo docker-archive', path: sk.path, images: new Map([[alpha.name, alpha]]), layers: 'diff-ids' },
  );

  // An airgap bundle of the same images, packed from the lab registry, then compressed.
  const bundle = out('airgap.tar');
  const reg = set!.registry.url;
  const packed = await run(['pack', '--image', alpha.name, '--image', pause.name, '--platform', alpha.platform,
    '--registry-mirror', `lab.test=${reg}/lab.test`, '--registry-mirror', `registry.k8s.io=${reg}/registry.k8s.io`, '-o', bundle]);
  assert.equal(packed.code, 0, packed.stderr);
  const two = new Map([[alpha.name, alpha], [pause.name, pause]]);
  cases.push(
    { label: 'airgap bundle, .tar.gz', path: await compress(bundle, 'gzip'), images: two, layers: 'upstream' },
    { label: 'airgap bundle, .tar.zst', path: await compress(bundle, 'zstd'), images: two, layers: 'upstream' },
  );
});

after(async () => {
  await Promise.all([saver?.stop(), set?.stop(), node?.stop(), containerd?.stop()]);
  await cleanup?.();
});

/** The image as the node registry serves it under PREFIX: its manifest's config and layer digests. */
async function pulled(prefix: string, name: string): Promise<{ config: string; layers: string[] }> {
  const r = await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${node!.host}/${prefix}/${name}`], { reject: false });
  assert.equal(r.exitCode, 0, `${name} pulls from ${node!.host}/${prefix}: ${r.stderr}`);
  let m = JSON.parse(r.stdout) as { manifests?: { digest: string }[]; config?: { digest: string }; layers?: { digest: string }[] };
  if (m.manifests) {
    // an index (the airgap bundle keeps upstream's): its one platform
    const repo = name.slice(0, name.lastIndexOf(':'));
    const child = await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${node!.host}/${prefix}/${repo}@${m.manifests[0]!.digest}`]);
    m = JSON.parse(child.stdout) as typeof m;
  }
  return { config: m.config!.digest, layers: m.layers!.map((l) => l.digest) };
}

function assertArchiveLayers(c: Case, name: string, got: { config: string; layers: string[] }): void {
  const img = c.images.get(name)!;
  assert.equal(got.config, img.configDigest, `${c.label}: ${name}'s config is the archive's (image ID)`);
  assert.deepEqual(got.layers, c.layers === 'diff-ids' ? img.diffIds : img.layerDigests, `${c.label}: ${name}'s layers are the archive's`);
}

const slug = (l: string): string => l.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

describe('verify and inspect read every archive', () => {
  test('each kind, from its file: verify passes and names every image; inspect lists them', async () => {
    for (const c of cases) {
      const v = await run(['verify', c.path, '--json']);
      assert.equal(v.code, 0, `${c.label}: ${v.stdout.slice(0, 2000)} ${v.stderr}`);
      const report = JSON.parse(v.stdout) as { ok: boolean; bundle: { kind: string; compression?: string; notes?: string[] }; images: { ref: string }[] };
      assert.equal(report.ok, true, c.label);
      assert.deepEqual(new Set(report.images.map((i) => i.ref)), new Set(c.images.keys()), c.label);
      if (c.layers === 'diff-ids') {
        assert.equal(report.bundle.kind, 'docker-archive', c.label);
        assert.match(report.bundle.notes!.join(' '), /digests differ from the registry's/, c.label);
      }
      if (c.path.endsWith('.zst')) assert.equal(report.bundle.compression, 'zstd', c.label);
      if (c.path.endsWith('.gz')) assert.equal(report.bundle.compression, 'gzip', c.label);

      const i = await run(['inspect', c.path, '--json']);
      assert.equal(i.code, 0, `${c.label}: ${i.stderr}`);
      const inspected = JSON.parse(i.stdout) as { images: { ref: string }[] };
      assert.deepEqual(new Set(inspected.images.map((x) => x.ref)), new Set(c.images.keys()), c.label);
    }
  });

  test('from standard input: a .tar.zst docker save and a .tar.gz airgap bundle, in one pass', async () => {
    for (const c of [byLabel('docker save, 3 images, .tar.zst'), byLabel('airgap bundle, .tar.gz')]) {
      const v = await run(['verify', '-', '--json'], c.path);
      assert.equal(v.code, 0, `${c.label}: ${v.stderr}`);
      const report = JSON.parse(v.stdout) as { ok: boolean; bundle: { streamed?: boolean }; images: { ref: string }[] };
      assert.equal(report.bundle.streamed, true);
      assert.deepEqual(new Set(report.images.map((i) => i.ref)), new Set(c.images.keys()), c.label);
    }
  });

  test('a flipped byte in a layer of a compressed docker save fails verify, naming the image', async () => {
    const c = byLabel('docker save, 3 images');
    const bad = join(work, 'bad.tar');
    const bytes = await readFile(c.path);
    // The first layer.tar's data: its header is where the name ends in layer.tar.
    const at = bytes.indexOf(Buffer.from('/layer.tar\0'));
    assert.ok(at > 0);
    const data = Math.ceil((at + 1) / 512) * 512 + 700;
    bytes[data] = bytes[data]! ^ 0xff;
    await writeFile(bad, bytes);
    const gz = await compress(bad, 'gzip');
    const v = await run(['verify', gz]);
    assert.equal(v.code, 1, v.stdout);
    assert.match(v.stdout, /does not match its digest/);
    assert.match(v.stdout, /lab\.test\/(alpha|beta)|registry\.k8s\.io\/pause/);
  });
});

describe('load puts every archive into the node registry and containerd', () => {
  test('each kind, from its file: every image pulls back by name with the archive\'s config and layers', async () => {
    for (const c of cases) {
      const prefix = slug(c.label);
      const r = await run(['load', c.path, '--registry', `${node!.url}/${prefix}`]);
      assert.equal(r.code, 0, `${c.label}: ${r.stdout} ${r.stderr}`);
      for (const name of c.images.keys()) assertArchiveLayers(c, name, await pulled(prefix, name));
    }
  });

  test('from standard input (.tar.zst), into the registry and containerd at once', async () => {
    const c = byLabel('docker save, 3 images, .tar.zst');
    const prefix = 'stdin';
    const r = await run(['load', '-', '--registry', `${node!.url}/${prefix}`, '--containerd', containerd!.socket], c.path);
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    for (const name of c.images.keys()) assertArchiveLayers(c, name, await pulled(prefix, name));
    const listed = await containerd!.ctr(['-n', 'k8s.io', 'images', 'ls', '-q']);
    for (const name of c.images.keys()) assert.ok(listed.split('\n').includes(`docker.io/${name}`) || listed.split('\n').includes(name), `${name} in containerd: ${listed}`);
  });

  test('into containerd from a .tar.gz airgap bundle and a podman archive: the names CRI looks up', async () => {
    for (const c of [byLabel('airgap bundle, .tar.gz'), byLabel('podman save -m')]) {
      const r = await run(['load', c.path, '--containerd', containerd!.socket]);
      assert.equal(r.code, 0, `${c.label}: ${r.stdout} ${r.stderr}`);
      const listed = (await containerd!.ctr(['-n', 'k8s.io', 'images', 'ls', '-q'])).split('\n');
      for (const name of c.images.keys()) assert.ok(listed.includes(name), `${c.label}: ${name} in containerd: ${listed.join(', ')}`);
    }
  });

  test('an untagged image in a docker save is said and left out; the tagged one loads', async () => {
    const made = await dockerSave(saver!, [{ image: alpha, names: [alpha.name] }, { image: beta, names: [] }], join(work, 'untagged.tar'));
    const v = await run(['verify', made.path]);
    assert.equal(v.code, 0, v.stdout);
    const r = await run(['load', made.path, '--registry', `${node!.url}/untagged`]);
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.match(r.stdout + r.stderr, new RegExp(`no tag.*sha256:${beta.configDigest.slice(7, 19)}`));
    await pulled('untagged', alpha.name);
    const tags = await execa('skopeo', ['list-tags', '--tls-verify=false', `docker://${node!.host}/untagged/lab.test/beta`], { reject: false });
    assert.notEqual(tags.exitCode, 0, 'nothing of the untagged image is pushed under a name');
  });

  test('a damaged layer read from standard input: load fails and that image is not visible', async () => {
    const gz = join(work, 'bad.tar.gz');
    const r = await run(['load', '-', '--registry', `${node!.url}/damaged`], gz);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stdout + r.stderr, /does not match|digest/i);
    // Whichever image owned the damaged layer has no tag in the registry.
    let missing = 0;
    for (const name of [alpha.name, beta.name, pause.name]) {
      const t = await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${node!.host}/damaged/${name}`], { reject: false });
      if (t.exitCode !== 0) missing++;
    }
    assert.ok(missing >= 1, 'the image with the damaged layer is not pullable');
  });
});

describe('serve answers pulls from every archive', () => {
  test('a .tar.zst docker save: decompressed once beside it, every image pulls by name', async () => {
    const c = byLabel('docker save, 3 images, .tar.zst');
    const s = await startServeProcess(c.path);
    try {
      const host = new URL(s.url).host;
      for (const name of c.images.keys()) {
        const r = await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/${name}`], { reject: false });
        assert.equal(r.exitCode, 0, `${name}: ${r.stderr} ${s.stderr()}`);
        const m = JSON.parse(r.stdout) as { config: { digest: string }; layers: { digest: string }[] };
        assertArchiveLayers(c, name, { config: m.config.digest, layers: m.layers.map((l) => l.digest) });
        const copied = await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/${name}`, `oci:${join(work, `served-${slug(name)}`)}`], { reject: false });
        assert.equal(copied.exitCode, 0, `${name} copies, every blob: ${copied.stderr}`);
      }
      assert.ok(s.events.some((e) => e.event === 'notice' && e.code === 'decompressed'), JSON.stringify(s.events));
    } finally {
      s.kill('SIGTERM');
      await s.exited;
    }
    assert.ok((await readdir(work)).some((f) => f.endsWith('.airgap-cache.tar')), 'the cache file is beside the archive');
  });

  test('podman and skopeo archives and an airgap .tar.gz serve every image', async () => {
    for (const c of [byLabel('podman save -m'), byLabel('skopeo docker-archive'), byLabel('airgap bundle, .tar.gz'), byLabel('docker save, 1 image')]) {
      const s = await startServeProcess(c.path);
      try {
        const host = new URL(s.url).host;
        for (const name of c.images.keys()) {
          const r = await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/${name}`, `oci:${join(work, `served2-${slug(c.label)}-${slug(name)}`)}`], { reject: false });
          assert.equal(r.exitCode, 0, `${c.label}: ${name}: ${r.stderr}`);
        }
      } finally {
        s.kill('SIGTERM');
        await s.exited;
      }
    }
  });

  test('standard input is refused with the way to serve it', async () => {
    const r = await run(['serve', '-'], byLabel('docker save, 1 image').path);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /save the stream to a file first/);
  });
});

