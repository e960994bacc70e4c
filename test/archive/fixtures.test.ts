/**
 * The other tools' archives test/helpers/archives.ts makes (docker save, podman save -m, skopeo
 * docker-archive, gzip / zstd of them), checked against the tools' own view: `docker load` into a
 * second, empty Docker Engine names the images with the helper's RepoTags and image IDs (config
 * digests) and diff_ids; `skopeo inspect --raw docker-archive:…` gives the same config digest and
 * layers. It also pins the entry layout each tool writes (the comment at the top of archives.ts),
 * which the archive reader is built from. Runs as root (dockerd) inside `unshare -n` (scripts/test.sh).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import {
  compress,
  dockerBuildVariant,
  dockerSave,
  makeTestImages,
  podmanSave,
  requireTool,
  skopeoDockerArchive,
  type MadeArchive,
  type TestImage,
  type TestImageSet,
} from '../helpers/archives.js';
import { startDockerEngine, type DockerEngineLab } from '../helpers/docker-engine.js';
import { makeTempDir } from '../helpers/make-bundle.js';
import { readTar, type TarEntry } from '../pack/helpers.js';

interface ManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
  Parent?: string;
}

let work: string;
let cleanup: (() => Promise<void>) | undefined;
let set: TestImageSet | undefined;
/** the Engine that pulls and saves */
let saver: DockerEngineLab | undefined;
/** an empty Engine that loads what the tools wrote */
let loader: DockerEngineLab | undefined;
let alpha: TestImage;
let beta: TestImage;
let pause: TestImage;

before(async () => {
  for (const tool of ['dockerd', 'docker', 'podman', 'skopeo', 'gzip', 'zstd']) requireTool(tool);
  ({ dir: work, cleanup } = await makeTempDir('airgap-archive-fixtures-'));
  const [s, a, b] = await Promise.allSettled([makeTestImages(), startDockerEngine(join(work, 'saver')), startDockerEngine(join(work, 'loader'))]);
  if (s.status === 'fulfilled') set = s.value;
  if (a.status === 'fulfilled') saver = a.value;
  if (b.status === 'fulfilled') loader = b.value;
  for (const r of [s, a, b]) if (r.status === 'rejected') throw r.reason;
  alpha = set!.get('lab.test/alpha:1.0');
  beta = set!.get('lab.test/beta:2.0');
  pause = set!.get('registry.k8s.io/pause:3.9');
});
after(async () => {
  await Promise.all([saver?.stop(), loader?.stop(), set?.stop()]);
  await cleanup?.();
});

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const out = (name: string): string => join(work, name);
/** A symlink entry's target (tar-stream's header has it; the shared TarEntry type does not name it). */
const linkOf = (e: TarEntry): string => (e.header as { linkname?: string | null }).linkname ?? '';

/** The manifest.json entry of an image. */
function entryOf(manifest: ManifestEntry[], img: TestImage): ManifestEntry {
  const m = manifest.find((e) => sha256Of(e.Config) === img.configDigest);
  assert.ok(m, `${img.name} in manifest.json`);
  return m;
}
const sha256Of = (configFile: string): string => `sha256:${posix.basename(configFile, '.json')}`;

/** The archive's entries, and every manifest.json entry checked against the helper: config bytes, layer bytes (through symlinks), RepoTags. */
async function checkContents(made: MadeArchive): Promise<{ entries: TarEntry[]; manifest: ManifestEntry[] }> {
  const entries = await readTar(await readFile(made.path));
  const byName = new Map(entries.map((e) => [e.name, e]));
  const data = (name: string): Buffer => {
    const e = byName.get(name);
    assert.ok(e, `${name} in ${made.path}`);
    return e.header.type === 'symlink' ? data(posix.join(posix.dirname(name), linkOf(e))) : e.data;
  };
  const manifest = JSON.parse(data('manifest.json').toString()) as ManifestEntry[];
  assert.equal(manifest.length, made.images.length, JSON.stringify(manifest));
  made.images.forEach((img, n) => {
    const m = manifest[n]!;
    const untagged = made.tool === 'docker-save' ? null : [];
    assert.deepEqual(m.RepoTags, img.repoTags.length ? img.repoTags : untagged, `RepoTags of ${img.configDigest}`);
    assert.equal(sha(data(m.Config)), img.configDigest, m.Config);
    assert.deepEqual(m.Layers.map((l) => sha(data(l))), img.diffIds, 'every layer uncompressed: sha256 = diff_id');
  });
  return { entries, manifest };
}

/**
 * Docker's view: `docker load` into the second Engine reports the archive's names (and, when the
 * last manifest entry is untagged, every image ID: Docker's rule), and each has the image ID and diff_ids.
 */
async function checkDockerLoad(made: MadeArchive): Promise<void> {
  const r = await loader!.docker(['load', '-i', made.path]);
  assert.equal(r.exitCode, 0, String(r.stderr));
  const said = String(r.stdout).split('\n').filter(Boolean);
  const ids = made.images.at(-1)!.repoTags.length ? [] : made.images.map((i) => `Loaded image ID: ${i.configDigest}`);
  assert.deepEqual(said, [...made.images.flatMap((i) => i.repoTags.map((t) => `Loaded image: ${t}`)), ...ids]);
  for (const img of made.images) {
    for (const name of img.repoTags.length ? img.repoTags : [img.configDigest]) {
      const inspect = await loader!.docker(['image', 'inspect', '--format', '{{json .Id}} {{json .RootFS.Layers}}', name]);
      assert.equal(inspect.exitCode, 0, String(inspect.stderr));
      const [id, layers] = String(inspect.stdout).split(' ');
      assert.deepEqual([JSON.parse(id!), JSON.parse(layers!)], [img.configDigest, img.diffIds], name);
    }
  }
}

/** skopeo's view: `skopeo inspect --raw docker-archive:PATH:NAME` (or `:@N` untagged) gives the config digest and the layers. */
async function checkSkopeoInspect(made: MadeArchive): Promise<void> {
  for (const [n, img] of made.images.entries()) {
    const r = await execa('skopeo', ['inspect', '--raw', `docker-archive:${made.path}:${img.repoTags[0] ?? `@${n}`}`], { reject: false, stdin: 'ignore' });
    assert.equal(r.exitCode, 0, String(r.stderr));
    const m = JSON.parse(String(r.stdout)) as { config: { digest: string }; layers: { digest: string }[] };
    assert.equal(m.config.digest, img.configDigest);
    assert.deepEqual(m.layers.map((l) => l.digest), img.diffIds);
  }
}

/** Docker's layout: the tree sorted by path, per layer `<v1id>/` + VERSION + json + layer.tar, `<config>.json`, manifest.json, repositories when tagged. */
function assertDockerLayout(entries: TarEntry[], manifest: ManifestEntry[]): void {
  const dirs = new Set(manifest.flatMap((m) => m.Layers.map((l) => posix.dirname(l))));
  const want = [
    ...[...dirs].flatMap((d) => [`${d}/`, `${d}/VERSION`, `${d}/json`, `${d}/layer.tar`]),
    ...manifest.map((m) => m.Config),
  ].sort();
  want.push('manifest.json');
  if (manifest.some((m) => m.RepoTags)) want.push('repositories');
  assert.deepEqual(entries.map((e) => e.name), want);
  for (const e of entries) {
    assert.ok(/^[0-9a-f]{64}(\/(VERSION|json|layer\.tar)?|\.json)$|^(manifest\.json|repositories)$/.test(e.name), e.name);
    if (e.header.type === 'directory') assert.equal(e.header.mode! & 0o7777, 0o755, e.name);
    else if (e.header.type === 'file') assert.equal(e.header.mode! & 0o7777, 0o644, e.name);
  }
}

/**
 * containers/image's layout (podman, skopeo): per image its new `<diff_id>.tar` layers, its
 * `<config>.json`, then per new v1 layer a `layer.tar` symlink to `../<diff_id>.tar`, VERSION, json;
 * manifest.json and repositories last; 0/0, 0444, epoch.
 */
function assertContainersImageLayout(entries: TarEntry[], manifest: ManifestEntry[]): void {
  let i = 0;
  const written = new Set<string>();
  const linked = new Set<string>();
  for (const m of manifest) {
    for (const l of m.Layers) {
      assert.match(l, /^[0-9a-f]{64}\.tar$/);
      if (written.has(l)) continue;
      written.add(l);
      assert.equal(entries[i++]?.name, l);
    }
    assert.equal(entries[i++]?.name, m.Config);
    while (/^[0-9a-f]{64}\/layer\.tar$/.test(entries[i]?.name ?? '')) {
      const link = entries[i]!;
      const dir = posix.dirname(link.name);
      assert.equal(link.header.type, 'symlink');
      assert.equal(link.header.mode! & 0o7777, 0);
      assert.ok(m.Layers.includes(posix.basename(linkOf(link))) && linkOf(link).startsWith('../'), linkOf(link));
      linked.add(posix.basename(linkOf(link)));
      assert.deepEqual([entries[i + 1]?.name, entries[i + 2]?.name], [`${dir}/VERSION`, `${dir}/json`]);
      i += 3;
    }
  }
  assert.deepEqual(entries.slice(i).map((e) => e.name), ['manifest.json', 'repositories']);
  assert.deepEqual([...linked].sort(), [...written].sort(), 'a legacy symlink for every layer');
  for (const e of entries) {
    assert.equal(e.header.uid, 0);
    assert.equal(e.header.mtime?.getTime(), 0, e.name);
    if (e.header.type === 'file') assert.equal(e.header.mode! & 0o7777, 0o444, e.name);
  }
}

test('docker save, one image: the legacy layout sorted by path, layers uncompressed, manifest.json then repositories last; docker load names it with its image ID', async () => {
  const made = await dockerSave(saver!, [pause], out('docker-one.tar'));
  assert.deepEqual(made.images, [{ repoTags: [pause.ref], configDigest: pause.configDigest, diffIds: pause.diffIds }]);
  const { entries, manifest } = await checkContents(made);
  assertDockerLayout(entries, manifest);
  assert.equal(manifest[0]!.Layers.length, 1);
  const repositories = JSON.parse(entries.find((e) => e.name === 'repositories')!.data.toString()) as Record<string, Record<string, string>>;
  const [repo, tag] = [pause.ref.slice(0, pause.ref.lastIndexOf(':')), pause.ref.slice(pause.ref.lastIndexOf(':') + 1)];
  assert.deepEqual(repositories, { [repo]: { [tag]: posix.dirname(manifest[0]!.Layers[0]!) } });
  await checkDockerLoad(made);
});

test('docker save, three images: one manifest.json entry each (in Docker\'s own order); the shared base layer is one directory named by both', async () => {
  const made = await dockerSave(saver!, [beta, pause, alpha], out('docker-three.tar'));
  assert.deepEqual(made.images.map((i) => i.configDigest).sort(), [beta, pause, alpha].map((i) => i.configDigest).sort());
  const { entries, manifest } = await checkContents(made);
  assertDockerLayout(entries, manifest);
  assert.equal(alpha.diffIds[0], beta.diffIds[0], 'alpha and beta share their base layer');
  assert.equal(entryOf(manifest, alpha).Layers[0], entryOf(manifest, beta).Layers[0]);
  assert.equal(new Set(manifest.flatMap((m) => m.Layers)).size, new Set([alpha, beta, pause].flatMap((i) => i.diffIds)).size);
  await checkDockerLoad(made);
});

test('docker save, one image under two tags: one entry with both RepoTags in command-line order, both in repositories', async () => {
  const made = await dockerSave(saver!, [{ image: alpha, names: ['registry.local/alpha:other', alpha.ref] }], out('docker-two-tags.tar'));
  assert.deepEqual(made.images, [{ repoTags: ['registry.local/alpha:other', alpha.ref], configDigest: alpha.configDigest, diffIds: alpha.diffIds }]);
  const { entries, manifest } = await checkContents(made);
  assertDockerLayout(entries, manifest);
  const repositories = JSON.parse(entries.find((e) => e.name === 'repositories')!.data.toString()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(repositories).sort(), ['registry.local/alpha', alpha.ref.slice(0, alpha.ref.lastIndexOf(':'))].sort());
  await checkDockerLoad(made);
});

test('docker save by image ID: RepoTags null and no repositories entry; docker load reports the image ID', async () => {
  const made = await dockerSave(saver!, [{ image: beta, names: [] }], out('docker-untagged.tar'));
  assert.deepEqual(made.images, [{ repoTags: [], configDigest: beta.configDigest, diffIds: beta.diffIds }]);
  const { entries, manifest } = await checkContents(made);
  assert.equal(manifest[0]!.RepoTags, null);
  assert.ok(!entries.some((e) => e.name === 'repositories'));
  assertDockerLayout(entries, manifest);
  await checkDockerLoad(made);
});

test('docker save of an image and one built FROM it with a LABEL: the shared top layer is stored once, the other layer.tar a symlink; Parent names the base', async () => {
  const variant = await dockerBuildVariant(saver!, alpha, 'lab.test/alpha:variant');
  assert.deepEqual(variant.diffIds, alpha.diffIds);
  assert.notEqual(variant.configDigest, alpha.configDigest);
  const made = await dockerSave(saver!, [alpha, variant], out('docker-symlink.tar'));
  const { entries, manifest } = await checkContents(made);
  const [base, built] = [entryOf(manifest, alpha), entryOf(manifest, variant)];
  assert.equal(base.Layers[0], built.Layers[0], 'the same chain: one directory');
  assert.notEqual(base.Layers[1], built.Layers[1], 'the top layer under two v1 IDs');
  const links = entries.filter((e) => e.header.type === 'symlink');
  assert.equal(links.length, 1);
  // whichever image Docker wrote first owns the file
  const [link, target] = links[0]!.name === base.Layers[1] ? [base, built] : [built, base];
  assert.equal(links[0]!.name, link.Layers[1]);
  assert.equal(linkOf(links[0]!), `../${target.Layers[1]}`);
  assert.equal(built.Parent, alpha.configDigest);
  assert.equal(base.Parent, undefined);
  await checkDockerLoad(made);
});

test('podman save -m: containers/image layout (diff_id-named layers, symlinked legacy dirs, manifest.json and repositories last); two tags in one entry, untagged RepoTags []', async () => {
  const made = await podmanSave([{ image: alpha, names: [alpha.ref, 'registry.local/alpha:other'] }, { image: beta, names: [] }, { image: pause, names: [pause.name] }], out('podman.tar'));
  assert.deepEqual(made.images.map((i) => i.repoTags), [[alpha.ref, 'registry.local/alpha:other'], [], [pause.name]]);
  const { entries, manifest } = await checkContents(made);
  assertContainersImageLayout(entries, manifest);
  assert.equal(manifest[1]!.Layers[0], manifest[0]!.Layers[0], 'the shared base layer is one file');
  const repositories = JSON.parse(entries.at(-1)!.data.toString()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(repositories).sort(), [alpha.ref.slice(0, alpha.ref.lastIndexOf(':')), 'registry.k8s.io/pause', 'registry.local/alpha'].sort());
  await checkSkopeoInspect(made);
  await checkDockerLoad(made);
});

test('skopeo copy to docker-archive: the containers/image layout for one image, named or unnamed (RepoTags [], repositories {})', async () => {
  const named = await skopeoDockerArchive({ image: pause, names: [pause.name] }, out('skopeo-named.tar'));
  assert.deepEqual(named.images, [{ repoTags: [pause.name], configDigest: pause.configDigest, diffIds: pause.diffIds }]);
  const a = await checkContents(named);
  assertContainersImageLayout(a.entries, a.manifest);
  await checkSkopeoInspect(named);

  const unnamed = await skopeoDockerArchive({ image: beta, names: [] }, out('skopeo-unnamed.tar'));
  const b = await checkContents(unnamed);
  assertContainersImageLayout(b.entries, b.manifest);
  assert.deepEqual(b.manifest[0]!.RepoTags, []);
  assert.equal(b.entries.at(-1)!.data.toString(), '{}');
  await checkSkopeoInspect(unnamed);
  await checkDockerLoad(unnamed);
});

test('gzip and zstd by their CLIs: the original kept, the stream decompresses to it; docker load reads the .gz, skopeo the .zst', async () => {
  const plain = await dockerSave(saver!, [alpha, pause], out('docker-compressed.tar'));
  const gz = await compress(plain, 'gzip');
  const zst = await compress(await podmanSave([alpha, beta], out('podman-compressed.tar')), 'zstd');
  assert.deepEqual([gz.path, gz.compression, gz.images], [`${plain.path}.gz`, 'gzip', plain.images]);
  assert.equal(zst.path, out('podman-compressed.tar.zst'));
  assert.deepEqual((await readFile(gz.path)).subarray(0, 2), Buffer.from([0x1f, 0x8b]));
  assert.deepEqual((await readFile(zst.path)).subarray(0, 4), Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
  const gunzip = await execa('gzip', ['-dc', gz.path], { encoding: 'buffer', stdin: 'ignore' });
  assert.ok(Buffer.from(gunzip.stdout).equals(await readFile(plain.path)));
  const unzstd = await execa('zstd', ['-dc', zst.path], { encoding: 'buffer', stdin: 'ignore' });
  assert.ok(Buffer.from(unzstd.stdout).equals(await readFile(out('podman-compressed.tar'))));
  await checkDockerLoad(gz);
  await checkSkopeoInspect(zst);
  assert.equal(await compress(plain.path, 'zstd'), `${plain.path}.zst`);
});
