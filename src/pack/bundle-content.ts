import { dockerManifestJson, dockerRepoTag, manifestForPlatform, type DockerArchiveImage } from '../bundle/docker-manifest.js';
import { BUNDLE_FORMAT_VERSION, type BundleDocker, type BundleImage, type BundleMetadata } from '../bundle/metadata.js';
import { indexMediaType, type BundleBlobWithData, type BundlePlanInput } from '../bundle/writer-plan.js';
import type { KubernetesImageSet } from '../kubernetes/image-set.js';
import type { Descriptor } from '../oci/descriptor.js';
import { formatPlatform, type Platform, type PlatformSelection } from '../oci/platform.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { configPlatform, isForeignLayer, type ResolvedImage } from './resolve.js';

/**
 * What goes into the bundle, from the resolved images: the metadata, index.json's images, and
 * the blobs in their fixed order — images by reference, each image's graph depth first; every
 * manifest, then every config, then every layer; each blob at its first place only.
 */

export interface BundleContentOptions {
  kubernetes: KubernetesImageSet | null;
  platforms: PlatformSelection;
  /** RFC 3339, seconds, UTC */
  created: string;
  mtime: number;
  /** the one platform manifest.json (docker load) names each image for */
  dockerPlatform: Platform;
  /** the images were converted with --oci-media-types (./oci-convert.ts) */
  ociConverted?: boolean;
}

/** A time as the metadata writes it: 2026-11-22T00:00:00Z (always 20 characters for years 1000-9999). */
export function formatCreated(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The blobs an image needs, each once. */
export function imageBlobs(r: ResolvedImage): Descriptor[] {
  const seen = new Map<string, Descriptor>();
  for (const m of r.manifests) seen.set(m.descriptor.digest, m.descriptor);
  for (const c of r.configs) seen.set(c.descriptor.digest, c.descriptor);
  for (const l of r.layers) if (!seen.has(l.digest)) seen.set(l.digest, l);
  return [...seen.values()];
}

/** manifest.json's entries and what the metadata records of them. */
export interface DockerArchivePlan {
  entries: DockerArchiveImage[];
  docker: BundleDocker;
}

/**
 * manifest.json for `platform`: each image's manifest for exactly that platform, its config and
 * layers as the bundle holds them; references of the same Docker image (same config and layers)
 * share one entry with several RepoTags. Images without such a manifest, or with foreign layers the
 * bundle cannot hold, are left out and listed as missing. Images in reference order, so the same
 * inputs give the same bytes.
 */
export function dockerArchivePlan(images: readonly ResolvedImage[], platform: Platform): DockerArchivePlan {
  const entries: DockerArchiveImage[] = [];
  const byKey = new Map<string, { repoTags: string[] }>();
  const docker: BundleDocker = { platform: formatPlatform(platform), images: [], missing: [] };
  for (const r of images) {
    const manifests = new Map(r.manifests.map((m) => [m.descriptor.digest, m.parsed]));
    const configs = new Map(r.configs.map((c) => [c.descriptor.digest, c.bytes]));
    const found = manifestForPlatform(r.descriptor, platform, (d) => manifests.get(d.digest), (m) => {
      const bytes = configs.get(m.config.digest);
      return bytes ? configPlatform(bytes) : undefined;
    });
    if (!found || found.manifest.layers.some(isForeignLayer)) {
      docker.missing.push(r.image.name);
      continue;
    }
    docker.images.push(r.image.name);
    const { config, layers } = found.manifest;
    const key = [config.digest, ...layers.map((l) => l.digest)].join(',');
    const tag = dockerRepoTag(r.image.ref);
    const known = byKey.get(key);
    if (known) {
      if (tag && !known.repoTags.includes(tag)) known.repoTags.push(tag);
      continue;
    }
    const entry = { repoTags: tag ? [tag] : [], config, layers };
    byKey.set(key, entry);
    entries.push(entry);
  }
  return { entries, docker };
}

export function bundleContent(resolved: readonly ResolvedImage[], opts: BundleContentOptions): BundlePlanInput {
  const images = [...resolved].sort((a, b) => (a.image.name < b.image.name ? -1 : a.image.name > b.image.name ? 1 : 0));
  const manifests: BundleBlobWithData[] = [];
  const configs: BundleBlobWithData[] = [];
  const layers: Descriptor[] = [];
  const unique = new Map<string, number>();
  let sizeWithoutDedup = 0;
  for (const r of images) {
    for (const m of r.manifests) manifests.push({ descriptor: m.descriptor, data: m.bytes });
    for (const c of r.configs) configs.push({ descriptor: c.descriptor, data: c.bytes });
    layers.push(...r.layers);
    for (const b of imageBlobs(r)) {
      sizeWithoutDedup += b.size;
      unique.set(b.digest, b.size);
    }
  }
  let size = 0;
  for (const s of unique.values()) size += s;

  const metaImages: BundleImage[] = images.map((r) => ({
    ref: r.image.name,
    digest: r.descriptor.digest,
    mediaType: indexMediaType(r.descriptor.mediaType),
    size: r.descriptor.size,
    role: r.image.role,
    ...(r.source ? { source: r.source } : {}),
    ...(r.platforms ? { platforms: r.platforms } : {}),
    ...(r.convertedFrom ? { convertedFrom: r.convertedFrom.digest } : {}),
  }));
  const docker = dockerArchivePlan(images, opts.dockerPlatform);
  const metadata: BundleMetadata = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    created: opts.created,
    kubernetes: opts.kubernetes ? { version: opts.kubernetes.version, distribution: opts.kubernetes.distribution } : null,
    platforms: opts.platforms.all ? 'all' : opts.platforms.platforms.map(formatPlatform),
    images: metaImages,
    blobs: { count: unique.size, size, sizeWithoutDedup },
    mediaTypes: opts.ociConverted ? 'oci-converted' : 'upstream',
    docker: docker.docker,
  };
  return {
    metadata,
    images: images.map((r) => ({ ref: r.image.name, descriptor: r.descriptor })),
    dockerManifest: dockerManifestJson(docker.entries),
    manifests,
    configs,
    layers,
    mtime: opts.mtime,
  };
}
