/**
 * Other tools' image archives, made by the tools themselves from small generated images: `docker
 * save` (Docker Engine 20.10), `podman save -m --format docker-archive` (podman 4.3) and `skopeo copy
 * … docker-archive:` (skopeo 1.9), each optionally compressed with the real gzip / zstd CLIs. For
 * every archive the helper says what it must hold (RepoTags, config digest = image ID, diff_ids),
 * known from the generator, so tests assert a reader against facts it did not read from the file.
 *
 * What the tools write here (Debian bookworm; `tar tvf` of the archives test/archive/fixtures.test.ts
 * makes, and which that test pins):
 *
 * docker save (dockerd 20.10.24; the daemon writes the archive, whatever the CLI: here the CLI on
 * PATH is 28.2, talking API 1.41)
 * - The legacy layout only: no oci-layout, no index.json.
 * - Per layer a directory named by its v1 layer ID (a chain ID, not the diff_id): `<v1id>/` (a
 *   directory entry), `<v1id>/VERSION` ("1.0"), `<v1id>/json` (v1 compat config), `<v1id>/layer.tar`
 *   (the layer UNCOMPRESSED: sha256(layer.tar) = its diff_id). Per image `<config-hex>.json` (the
 *   config, byte for byte: sha256 = the image ID). Then `manifest.json`, then `repositories` (left
 *   out when no image in the archive has a tag).
 * - Entry order: the whole tree sorted by path (Docker tars a temp dir it wrote), so configs and
 *   layer directories interleave by hex and, inside a directory, VERSION < json < layer.tar;
 *   manifest.json comes after every hex-named entry, second to last (or last without repositories).
 *   Entries are root/root with names, 0644 files and 0755 directories, the mode fields carrying
 *   the type bits too (0100644, 0040755, 0120777); layer entries and the config carry the image's
 *   created time, manifest.json and repositories the epoch.
 * - A layer shared by two images in the archive with the same parent chain (a common base) has one
 *   directory, named in both images' Layers. The same layer under two v1 IDs (e.g. the top layer of
 *   an image and of one built FROM it with only a LABEL) is stored once: the second
 *   `<v1id>/layer.tar` is a symlink entry (0777) to `../<other-v1id>/layer.tar`.
 * - manifest.json: `[{"Config":"<hex>.json","RepoTags":[…],"Layers":["<v1id>/layer.tar",…]}]`, one
 *   entry per image in RANDOM order (Go map iteration: it changes from run to run, whatever the
 *   command line says; dockerSave reads it back so `images` follows the file). An image named
 *   twice (two tags) is one entry, its RepoTags in command-line order. An image saved by ID only:
 *   `"RepoTags":null` (and no `repositories` entry for it). `"Parent":"sha256:<image id>"` only
 *   when the image's parent (a local build's FROM) is in the same archive. Names are written as
 *   given (127.0.0.1:PORT/a/b:1).
 * - Which of two images owning the same layer under different v1 IDs gets the file and which the
 *   symlink follows that random order too.
 * - `docker load` prints `Loaded image: NAME` per tag, in manifest order, and — only when the LAST
 *   manifest entry has no tag — then `Loaded image ID: sha256:…` for every image in the archive.
 * - repositories: `{"<name>":{"<tag>":"<v1id of the top layer>"}}`.
 * - An image without layers cannot be saved ("empty export - not implemented").
 *
 * podman save -m --format docker-archive (podman 4.3.1) and skopeo copy docker-archive: (1.9.3)
 * - The same writer (containers/image's docker-archive): per image, in manifest.json order, first
 *   its layers not written yet as `<diff_id-hex>.tar` (UNCOMPRESSED, even when the registry held
 *   gzip; sha256 = the name), then `<config-hex>.json`, then for each of its layers whose v1 ID is
 *   not in the archive yet the legacy entries `<v1id>/layer.tar` — a symlink to
 *   `../<diff_id-hex>.tar` —, `<v1id>/VERSION`, `<v1id>/json`; no directory entries.
 *   `manifest.json` then `repositories` come LAST. Every entry is uid/gid 0 without user or group
 *   names, mtime the epoch, mode 0444 (0 for the symlinks), no type bits in the mode field.
 * - manifest.json: `Layers` name the top-level `<diff_id-hex>.tar` files, not the symlinks. One entry
 *   per image, first-appearance order; two names of one image: one entry with both RepoTags in
 *   command-line order. Untagged (podman save by image ID; skopeo without a name after the path):
 *   `"RepoTags":[]` and `repositories` is `{}` (present, empty object).
 * - skopeo writes one image per archive (one name at most).
 *
 * Both: plain ustar headers (no PAX, no GNU long names: every name is under 100 bytes), the tar
 * ended by two zero blocks and nothing after (no padding to a 10 KiB record).
 *
 * Compression (as `gzip FILE` / `zstd FILE` write it: one gzip member whose header carries FNAME
 * and MTIME; one zstd frame): Docker 20.10's `docker load` reads .tar.gz but refuses .tar.zst
 * ("archive/tar: invalid tar header"); Debian's skopeo 1.9.3 and podman 4.3.1 read .tar.zst
 * docker-archives but fail on every .tar.gz one ("loading tar component manifest.json: unexpected
 * EOF"). So: docker load is the oracle for .gz, skopeo for .zst.
 *
 * Images: generated by the lab (scripts/lab), host platform only, pushed to a lab registry as a
 * one-entry index; names must be fully qualified (a registry host first) so no tool rewrites them.
 * Docker pulls from 127.0.0.1:PORT over plain HTTP without --insecure-registry (127.0.0.0/8 is
 * insecure by default), so startDockerEngine needs no extra flag.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  generateImages,
  LabError,
  seedRegistry,
  seededRepository,
  startRegistry,
  which,
  type LabRegistry,
} from '../../scripts/lab/index.js';
import { formatPlatform, hostPlatform } from '../../src/oci/platform.js';
import type { DockerEngineLab } from './docker-engine.js';

/** A generated image to push: its name and how many layers (1: its own; 2: + a base layer shared with the others; 3: + a second shared one). */
export interface ArchiveImage {
  /** Fully qualified, with a tag: lab.test/alpha:1.0, registry.k8s.io/pause:3.9 */
  name: string;
  layers?: 1 | 2 | 3;
}

/** Three images, 1-3 layers, the 2- and 3-layer ones sharing their base layer. */
export const DEFAULT_ARCHIVE_IMAGES: readonly ArchiveImage[] = [
  { name: 'lab.test/alpha:1.0', layers: 2 },
  { name: 'lab.test/beta:2.0', layers: 3 },
  { name: 'registry.k8s.io/pause:3.9', layers: 1 },
];

export interface TestImage {
  /** Where it can be pulled: 127.0.0.1:PORT/<name>; the name tools save it under by default. */
  ref: string;
  /** The generated name, e.g. registry.k8s.io/pause:3.9 (a name to save it under instead). */
  name: string;
  platform: string;
  /** The config's digest: the image ID Docker and podman give it. */
  configDigest: string;
  /** rootfs.diff_ids: sha256 of each uncompressed layer tar, in order. */
  diffIds: string[];
  /** The gzip layer blobs in the registry (what no docker-archive holds). */
  layerDigests: string[];
  /** The host platform's manifest in the registry ('' for an image built in a Docker Engine). */
  manifestDigest: string;
}

export interface TestImageSet {
  registry: LabRegistry;
  images: TestImage[];
  /** The image generated under this name. */
  get(name: string): TestImage;
  /** Stops the registry when makeTestImages started it. */
  stop(): Promise<void>;
}

/**
 * Generate small host-platform images (layers of random bytes, tens to hundreds of KiB at the
 * default scale) and push them into `registry` (a plain-HTTP lab registry without auth), or into
 * one started here.
 */
export async function makeTestImages(opts: { registry?: LabRegistry; images?: readonly ArchiveImage[]; scale?: number } = {}): Promise<TestImageSet> {
  requireTool('skopeo'); // seedRegistry pushes with it
  const specs = opts.images ?? DEFAULT_ARCHIVE_IMAGES;
  specs.forEach((s) => checkName(s.name));
  if (opts.registry && (opts.registry.tls || opts.registry.auth !== 'none')) {
    throw new LabError('ERR_LAB_ARCHIVE_REGISTRY', `the archive tools pull over plain HTTP without credentials; ${opts.registry.url} has tls=${opts.registry.tls}, auth=${opts.registry.auth}`);
  }
  const platform = formatPlatform(hostPlatform());
  const role = { 1: 'pause', 2: 'other', 3: 'kube' } as const;
  const gen = await generateImages({ refs: specs.map((s) => ({ ref: s.name, role: role[s.layers ?? 2] })), platforms: [platform], scale: opts.scale ?? 0.01 });
  const registry = opts.registry ?? (await startRegistry());
  try {
    await seedRegistry(registry, gen);
  } catch (err) {
    if (!opts.registry) await registry.stop();
    throw err;
  }
  const images = gen.images.map((img): TestImage => {
    const p = img.platforms[0]!;
    return {
      ref: `${registry.host}/${seededRepository(img)}:${img.tag}`,
      name: img.ref,
      platform,
      configDigest: p.config.digest,
      diffIds: p.layers.map((l) => l.diffId),
      layerDigests: p.layers.map((l) => l.digest),
      manifestDigest: p.digest,
    };
  });
  return {
    registry,
    images,
    get(name) {
      const img = images.find((i) => i.name === name);
      if (!img) throw new Error(`no test image named ${name}; have ${images.map((i) => i.name).join(', ')}`);
      return img;
    },
    stop: async () => {
      if (!opts.registry) await registry.stop();
    },
  };
}

/** One image in a save: under `names` (its pull ref by default; others are tagged first), or untagged (by image ID) with []. */
export type SaveItem = TestImage | { image: TestImage; names: string[] };

export type ArchiveTool = 'docker-save' | 'podman-save' | 'skopeo';
export type Compression = 'none' | 'gzip' | 'zstd';

export interface ArchivedImage {
  /** As manifest.json lists them; [] for an untagged image (Docker writes null, the others []). */
  repoTags: string[];
  configDigest: string;
  diffIds: string[];
}

export interface MadeArchive {
  path: string;
  tool: ArchiveTool;
  compression: Compression;
  /** In manifest.json order (for docker save, read back from the file: Docker's order is random). */
  images: ArchivedImage[];
}

/**
 * `docker save -o OUT …` by a running Engine: pulls what it lacks (by the image's pull ref), tags the
 * other names, saves by name, or by image ID for an untagged item.
 */
export async function dockerSave(lab: DockerEngineLab, items: SaveItem[], out: string): Promise<MadeArchive> {
  requireTool('docker');
  requireTool('tar');
  const list = normalize(items);
  await Promise.all(unique(list.map((i) => i.image)).map((img) => ensureImage(lab, img)));
  for (const { image, names } of list) {
    for (const n of names) await docker(lab, ['tag', image.configDigest, n]);
  }
  await docker(lab, ['save', '-o', out, ...args(list)]);
  // The one thing read back: Docker's manifest.json order is random.
  const order = (JSON.parse(String((await run('tar', ['-xOf', out, 'manifest.json'])).stdout)) as { Config: string }[]).map((m) => `sha256:${m.Config.replace(/\.json$/, '')}`);
  const images = expected(list).sort((a, b) => order.indexOf(a.configDigest) - order.indexOf(b.configDigest));
  if (order.length !== images.length || images.some((img, n) => order[n] !== img.configDigest)) {
    throw new LabError('ERR_LAB_ARCHIVE_TOOL', `docker save wrote images ${order.join(', ')} into ${out}; expected ${images.map((i) => i.configDigest).join(', ')}`);
  }
  return { path: out, tool: 'docker-save', compression: 'none', images };
}

/**
 * An image built FROM `image` with one LABEL (Docker's legacy builder, no container run): the same
 * layers under a new config, so its top layer gets another v1 ID than `image`'s and a `docker save`
 * of both stores it once, as a symlink. Exists only in this Engine; `ref` is `name`.
 */
export async function dockerBuildVariant(lab: DockerEngineLab, image: TestImage, name: string): Promise<TestImage> {
  checkName(name);
  const ctx = await mkdtemp(join(tmpdir(), 'airgap-archive-build-'));
  try {
    await ensureImage(lab, image);
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${image.configDigest}\nLABEL io.airgap.lab.variant=${JSON.stringify(name)}\n`);
    await docker(lab, ['build', '-q', '-t', name, ctx]);
    const id = String((await docker(lab, ['image', 'inspect', '--format', '{{.Id}}', name])).stdout).trim();
    return { ...image, ref: name, name, configDigest: id, manifestDigest: '' };
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

/**
 * `podman save -m --format docker-archive -o OUT …` from a private store (vfs under a temp dir,
 * removed after): pulls each image with --tls-verify=false, tags the other names, saves.
 */
export async function podmanSave(items: SaveItem[], out: string): Promise<MadeArchive> {
  requireTool('podman');
  const list = normalize(items);
  const work = await mkdtemp(join(tmpdir(), 'airgap-archive-podman-'));
  try {
    await mkdir(join(work, 'tmp'));
    const policy = join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const base = ['--root', join(work, 'storage'), '--runroot', join(work, 'run'), '--tmpdir', join(work, 'tmp'), '--storage-driver', 'vfs',
      '--cgroup-manager', 'cgroupfs', '--events-backend', 'none'];
    const podman = (a: string[]) => run('podman', [...base, ...a]);
    for (const img of unique(list.map((i) => i.image))) await podman(['pull', '-q', '--tls-verify=false', '--signature-policy', policy, img.ref]);
    for (const { image, names } of list) {
      for (const n of names) if (n !== image.ref) await podman(['tag', image.ref, n]);
    }
    await podman(['save', '-m', '--format', 'docker-archive', '-o', out, ...args(list)]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { path: out, tool: 'podman-save', compression: 'none', images: expected(list) };
}

/** `skopeo copy docker://REF docker-archive:OUT[:NAME]`: one image, under one name or none ([]). */
export async function skopeoDockerArchive(item: SaveItem, out: string): Promise<MadeArchive> {
  requireTool('skopeo');
  const [one] = normalize([item]);
  const { image, names } = one!;
  if (names.length > 1) throw new Error(`skopeo writes one name into a docker-archive; got ${names.join(', ')}`);
  await rm(out, { force: true });
  await run('skopeo', ['--insecure-policy', 'copy', '-q', '--src-tls-verify=false', `docker://${image.ref}`, `docker-archive:${out}${names[0] ? `:${names[0]}` : ''}`]);
  return { path: out, tool: 'skopeo', compression: 'none', images: expected([one!]) };
}

/** Compress with the real CLI (`gzip -k` / `zstd -k`, default levels), keeping the original: PATH.gz or PATH.zst. */
export async function compress(path: string, kind: 'gzip' | 'zstd'): Promise<string>;
export async function compress(archive: MadeArchive, kind: 'gzip' | 'zstd'): Promise<MadeArchive>;
export async function compress(what: string | MadeArchive, kind: 'gzip' | 'zstd'): Promise<string | MadeArchive> {
  requireTool(kind);
  const path = typeof what === 'string' ? what : what.path;
  const out = `${path}.${kind === 'gzip' ? 'gz' : 'zst'}`;
  await run(kind, kind === 'gzip' ? ['-k', '-f', path] : ['-q', '-k', '-f', path, '-o', out]);
  return typeof what === 'string' ? out : { ...what, path: out, compression: kind };
}

const PACKAGES: Record<string, string> = { docker: 'docker.io', dockerd: 'docker.io', podman: 'podman', skopeo: 'skopeo', gzip: 'gzip', zstd: 'zstd', tar: 'tar' };

/** Fails (never skips) when a tool is missing, naming the Debian package. */
export function requireTool(tool: string): void {
  if (!which(tool)) {
    throw new LabError('ERR_LAB_MISSING_TOOL', `'${tool}' is not installed (not found on PATH)`, {
      hint: `install the test lab packages: bash scripts/lab-install.sh (${PACKAGES[tool] ?? tool})`,
    });
  }
}

function checkName(name: string): void {
  const first = name.split('/')[0]!;
  const qualified = name.includes('/') && (first.includes('.') || first.includes(':')) && first !== 'docker.io';
  if (!qualified || name.includes('@') || !/:[\w][\w.-]*$/.test(name)) {
    throw new Error(`archive test names must be host/repository:tag, not on docker.io (tools rewrite those): ${name}`);
  }
}

function normalize(items: SaveItem[]): { image: TestImage; names: string[] }[] {
  const list = items.map((i) => ('image' in i ? i : { image: i, names: [i.ref] }));
  for (const { names } of list) names.forEach(checkName);
  return list;
}

function unique(images: TestImage[]): TestImage[] {
  return images.filter((img, n) => images.findIndex((i) => i.configDigest === img.configDigest) === n);
}

/** The tool's arguments: every name, and the image ID of an untagged item. */
function args(list: { image: TestImage; names: string[] }[]): string[] {
  return list.flatMap(({ image, names }) => (names.length ? names : [image.configDigest.slice('sha256:'.length)]));
}

/** One entry per image in first-appearance order (podman's and skopeo's manifest.json order), its names in order. */
function expected(list: { image: TestImage; names: string[] }[]): ArchivedImage[] {
  const out = new Map<string, ArchivedImage>();
  for (const { image, names } of list) {
    const entry = out.get(image.configDigest) ?? { repoTags: [], configDigest: image.configDigest, diffIds: image.diffIds };
    for (const n of names) if (!entry.repoTags.includes(n)) entry.repoTags.push(n);
    out.set(image.configDigest, entry);
  }
  return [...out.values()];
}

/** Pull an image the Engine lacks (by its ID) from the registry. */
async function ensureImage(lab: DockerEngineLab, image: TestImage): Promise<void> {
  if ((await lab.docker(['image', 'inspect', image.configDigest])).exitCode !== 0) await docker(lab, ['pull', image.ref]);
}

async function docker(lab: DockerEngineLab, a: string[]) {
  const r = await lab.docker(a);
  if (r.exitCode !== 0) throw new LabError('ERR_LAB_ARCHIVE_TOOL', `docker ${a.join(' ')} failed (exit ${r.exitCode}): ${String(r.stderr).trim()}`);
  return r;
}

async function run(cmd: string, a: string[]) {
  const r = await execa(cmd, a, { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new LabError('ERR_LAB_ARCHIVE_TOOL', `${cmd} ${a.join(' ')} failed (exit ${r.exitCode}): ${String(r.stderr).trim()}`);
  return r;
}
