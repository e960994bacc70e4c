import { CheckError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { isDigest, type Digest } from '../oci/digest.js';
import type { ImageManifest, ParsedManifest } from '../oci/manifest.js';
import { platformMatches, type Platform } from '../oci/platform.js';
import type { ImageReference } from '../oci/reference.js';
import { blobPath } from './metadata.js';

/**
 * manifest.json, the docker-archive index (the `docker save` format): `[{Config, RepoTags, Layers}]`,
 * each path a file of the archive. Docker Engine 20.10's `docker load` reads only this (not an OCI
 * index.json); its image ID is the digest of the config. Layers may stay gzip: Docker decompresses
 * each and checks it against the config's diff_ids. Every bundle `airgap pack` writes carries one
 * for a single platform (docs/bundle-format.md); `airgap load --docker` builds one on the fly.
 */

export interface DockerArchiveImage {
  /** tagged references (registry.k8s.io/pause:3.9); all name the same image; may be empty (untagged) */
  repoTags: readonly string[];
  config: Descriptor;
  /** in the manifest's order (base first) */
  layers: readonly Descriptor[];
}

/** manifest.json for these images, with the file paths the archive uses (blobs/sha256/<hex>, as docker 25 writes). */
export function dockerManifestJson(images: readonly DockerArchiveImage[]): Buffer {
  return Buffer.from(JSON.stringify(images.map((i) => ({
    Config: blobPath(i.config.digest),
    RepoTags: [...i.repoTags],
    Layers: i.layers.map((l) => blobPath(l.digest)),
  }))));
}

/**
 * The tag Docker gets for a reference: name:tag. A digest is dropped (Docker refuses to tag with a
 * digest reference); a reference by digest only has no tag (Docker loads the image untagged).
 */
export function dockerRepoTag(ref: ImageReference): string | undefined {
  return ref.tag ? `${ref.name}:${ref.tag}` : undefined;
}

/** One entry of a manifest.json as read: the archive paths it names. */
export interface DockerManifestEntry {
  config: string;
  repoTags: string[];
  layers: string[];
}

/** manifest.json that is not JSON or not `[{Config, RepoTags, Layers}]`: `docker load` would refuse the archive. */
export class InvalidDockerManifestError extends CheckError {
  constructor(reason: string) {
    super('ERR_INVALID_DOCKER_MANIFEST', `manifest.json is invalid: ${reason}`, {
      hint: 'docker load cannot read this bundle; pack it again (airgap load --docker does not need manifest.json)',
      details: { reason },
    });
  }
}

/** Far more than any bundle holds; bounds hostile input. */
export const MAX_DOCKER_MANIFEST_BYTES = 16 * 1024 * 1024;

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Parse manifest.json from untrusted bytes: the shape Docker's loader requires (RepoTags may be null, as Docker writes it for untagged images). */
export function parseDockerManifestJson(bytes: Buffer): DockerManifestEntry[] {
  if (bytes.byteLength > MAX_DOCKER_MANIFEST_BYTES) throw new InvalidDockerManifestError(`${bytes.byteLength} bytes, over the ${MAX_DOCKER_MANIFEST_BYTES}-byte limit`);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new InvalidDockerManifestError(`not valid JSON (${(e as Error).message.slice(0, 200)})`);
  }
  if (!Array.isArray(doc)) throw new InvalidDockerManifestError('not a JSON array');
  return doc.map((e: unknown, i) => {
    const o = e as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new InvalidDockerManifestError(`entry ${i} is not an object`);
    if (typeof o.Config !== 'string' || !o.Config) throw new InvalidDockerManifestError(`entry ${i} has no Config path`);
    if (o.RepoTags !== null && o.RepoTags !== undefined && !isStringArray(o.RepoTags)) throw new InvalidDockerManifestError(`entry ${i}: RepoTags is not a list of strings`);
    if (!isStringArray(o.Layers)) throw new InvalidDockerManifestError(`entry ${i}: Layers is not a list of paths`);
    return { config: o.Config, repoTags: (o.RepoTags as string[] | null | undefined) ?? [], layers: o.Layers };
  });
}

/** The digest a blob path names (blobs/sha256/<hex> -> sha256:<hex>); undefined for any other path. */
export function digestOfBlobPath(path: string): Digest | undefined {
  const m = /^blobs\/([^/]+)\/([^/]+)$/.exec(path);
  const d = m ? `${m[1]}:${m[2]}` : '';
  return isDigest(d) ? d : undefined;
}

/** Indexes inside indexes beyond this are not followed (real images have one level). */
const MAX_DEPTH = 8;

/**
 * The image manifest for exactly `want` under an image's top manifest: through an index, the first
 * child whose platform matches that the bundle holds (`read` returns undefined for one it does not);
 * a single manifest when its config says it is for `want`. Undefined when there is none.
 */
export function manifestForPlatform(
  top: Descriptor,
  want: Platform,
  read: (d: Descriptor) => ParsedManifest | undefined,
  configPlatform: (m: ImageManifest) => Platform | undefined,
): { descriptor: Descriptor; manifest: ImageManifest } | undefined {
  const walk = (d: Descriptor, depth: number, viaIndex: boolean): { descriptor: Descriptor; manifest: ImageManifest } | undefined => {
    const parsed = depth > MAX_DEPTH ? undefined : read(d);
    if (!parsed) return undefined;
    if (parsed.kind === 'manifest') {
      return viaIndex || platformMatches(want, configPlatform(parsed.manifest)) ? { descriptor: d, manifest: parsed.manifest } : undefined;
    }
    for (const c of parsed.index.manifests) {
      if (!platformMatches(want, c.platform)) continue;
      const found = walk(c, depth + 1, true);
      if (found) return found;
    }
    return undefined;
  };
  return walk(top, 0, false);
}
