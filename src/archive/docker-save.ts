import type { Readable } from 'node:stream';
import type { DockerArchiveView, EntryBytes } from '../bundle/reader.js';
import { parseDockerManifestJson } from '../bundle/docker-manifest.js';
import { BundleEntry } from '../bundle/metadata.js';
import { normalizeEntryName, type TarEntry, type TarIndex } from '../bundle/tar-index.js';
import { Annotation, type Descriptor } from '../oci/descriptor.js';
import { Digester, digestOf, isDigest, type Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-type.js';
import { isReference, parseReference } from '../oci/reference.js';
import { sniffCompression } from './compression.js';
import { ArchiveInputError } from './errors.js';

/**
 * A docker-archive (the format of `docker save`, `podman save`, skopeo's `docker-archive:` and the
 * image tarballs k3s and RKE2 publish) seen as an OCI layout: `manifest.json` names each image's
 * config and layer files and its tags; the archive keeps no registry manifest, so airgap builds one
 * per image, deterministically (same archive, same digests), and says that these digests are not
 * the registry's. Layers are taken as stored: an uncompressed layer's digest is its diff_id (the
 * config names it, and every read checks it); a compressed one is hashed.
 */

const MAX_JSON = 16 * 1024 * 1024;

function bad(where: string, what: string): ArchiveInputError {
  return new ArchiveInputError('ERR_DOCKER_ARCHIVE', `${where} is a docker-archive whose ${what}`,
    'save it again (docker save -o FILE IMAGE…), or pass a bundle made by airgap pack', { where });
}

function parseDockerManifest(b: Buffer, where: string): { Config: string; RepoTags: string[]; Layers: string[] }[] {
  let list;
  try {
    list = parseDockerManifestJson(b);
  } catch (e) {
    throw bad(where, `manifest.json is invalid: ${(e as Error).message}`);
  }
  if (list.length === 0) throw bad(where, 'manifest.json lists no image');
  return list.map((m) => ({ Config: m.config, RepoTags: m.repoTags, Layers: m.layers }));
}

async function collect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export interface DockerViewOptions {
  /** The sha256 of a whole entry when already known (a stream hashed it as it passed); else it is read and hashed. */
  known?(entry: TarEntry): Digest | undefined;
}

export async function dockerArchiveView(tar: TarIndex, bytes: EntryBytes, opts: DockerViewOptions = {}): Promise<DockerArchiveView> {
  const where = tar.path;
  // docker save stores a layer two images share once and links the other name to it.
  const links = new Map<string, TarEntry>();
  for (const e of tar.entries) if (e.type === 'symlink' && e.linkName !== undefined) links.set(e.name, e);
  const resolve = (name: string, depth = 0): string => {
    const l = links.get(name);
    if (!l || depth > 8) return name;
    const dir = name.includes('/') ? name.slice(0, name.lastIndexOf('/') + 1) : '';
    if (l.linkName!.startsWith('/')) return name;
    // "../b" from "a/x": resolved here; a target outside the archive stays unresolved (and an error).
    const parts: string[] = [];
    for (const p of `${dir}${l.linkName}`.split('/')) {
      if (p === '..') {
        if (!parts.length) return name;
        parts.pop();
      } else if (p && p !== '.') parts.push(p);
    }
    return resolve(parts.join('/'), depth + 1);
  };
  const file = (raw: string, role: string): TarEntry => {
    const e = tar.files.get(resolve(normalizeEntryName(raw).name));
    if (!e) throw bad(where, `manifest.json names ${role} "${raw}", which is not in the archive`);
    if (e.truncated) throw bad(where, `${role} "${raw}" is cut short by the end of the archive`);
    return e;
  };
  const mf = file(BundleEntry.DockerManifest, 'its index');
  if (mf.size > MAX_JSON) throw bad(where, `manifest.json is ${mf.size} bytes`);
  const list = parseDockerManifest(await bytes.read(mf.name, mf), where);

  const hash = async (e: TarEntry): Promise<Digest> => {
    const known = opts.known?.(e);
    if (known) return known;
    const d = new Digester('sha256');
    for await (const c of bytes.stream(e.name, e, 0, e.size, {})) d.update(c as Buffer);
    return d.digest();
  };

  const made = new Map<string, Buffer>();
  const entries = new Map<string, string>();
  const manifests: Descriptor[] = [];
  const untagged: string[] = [];
  let compressedLayers = 0;

  for (const [i, m] of list.entries()) {
    const ce = file(m.Config, 'the config');
    if (ce.size > MAX_JSON) throw bad(where, `config "${m.Config}" is ${ce.size} bytes`);
    const configBytes = await bytes.read(ce.name, ce);
    const configDigest = digestOf(configBytes);
    let config: { os?: unknown; architecture?: unknown; variant?: unknown; rootfs?: { diff_ids?: unknown } };
    try {
      config = JSON.parse(configBytes.toString('utf8')) as typeof config;
    } catch {
      throw bad(where, `config "${m.Config}" is not valid JSON`);
    }
    const diffIds = Array.isArray(config.rootfs?.diff_ids) ? config.rootfs.diff_ids : [];
    if (diffIds.length !== m.Layers.length) {
      throw bad(where, `image ${i + 1} (${m.RepoTags[0] ?? configDigest}) has ${m.Layers.length} layer files but its config names ${diffIds.length} diff_ids`);
    }
    entries.set(configDigest, ce.name);
    const layers: Descriptor[] = [];
    for (const [j, raw] of m.Layers.entries()) {
      const le = file(raw, 'the layer');
      const named = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(le.name);
      const head = await collect(bytes.stream(le.name, le, 0, Math.min(8, le.size), {}));
      const compression = sniffCompression(head);
      let digest: Digest;
      if (named && isDigest(`${named[1]}:${named[2]}`)) digest = `${named[1]}:${named[2]}` as Digest;
      else if (compression === 'none') {
        const id = diffIds[j];
        if (typeof id !== 'string' || !isDigest(id)) throw bad(where, `config "${m.Config}" has an invalid diff_id ${JSON.stringify(id)}`);
        digest = id;
      } else {
        compressedLayers++;
        digest = await hash(le);
      }
      if (!entries.has(digest)) entries.set(digest, le.name);
      layers.push({
        mediaType: compression === 'gzip' ? MediaType.OciLayerGzip : compression === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayer,
        digest,
        size: le.size,
      });
    }
    // Key order fixed, no whitespace: the same archive always gives the same manifest digest.
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configBytes.byteLength },
      layers,
    }));
    const digest = digestOf(manifest);
    made.set(digest, manifest);
    const platform = typeof config.os === 'string' && typeof config.architecture === 'string'
      ? { os: config.os, architecture: config.architecture, ...(typeof config.variant === 'string' && config.variant ? { variant: config.variant } : {}) }
      : undefined;
    const base: Descriptor = { mediaType: MediaType.OciManifest, digest, size: manifest.byteLength, ...(platform ? { platform } : {}) };
    const tags = m.RepoTags.filter((t) => isReference(t));
    if (tags.length === 0) {
      untagged.push(configDigest);
      manifests.push(base);
    }
    for (const t of tags) {
      const name = parseReference(t).toString();
      manifests.push({ ...base, annotations: { [Annotation.ContainerdImageName]: name, [Annotation.RefName]: name } });
    }
  }

  // Links between files inside the archive are how docker save and containers/image share layers, not damage.
  for (let i = tar.issues.length - 1; i >= 0; i--) {
    const issue = tar.issues[i]!;
    if (issue.code !== 'link' || issue.entry === undefined) continue;
    const name = normalizeEntryName(issue.entry).name;
    const real = resolve(name);
    if (real !== name && tar.files.has(real)) tar.issues.splice(i, 1);
  }
  const notes = [
    `a docker-archive: the archive keeps no registry manifests, so airgap built one per image (OCI, layers as stored); their digests differ from the registry's, so pull these images by tag, not by an upstream digest`,
  ];
  if (untagged.length) notes.push(`${untagged.length === 1 ? 'an image' : `${untagged.length} images`} with no tag (saved by ID): ${untagged.map((d) => `sha256:${d.slice(7, 19)}`).join(', ')}; it has no name to load it under: tag it and save it again`);
  if (compressedLayers) notes.push(`${compressedLayers} compressed layer file(s) were hashed to find their digests`);
  return { index: { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }, made, entries, untagged, notes };
}
