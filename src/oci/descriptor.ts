import { parseDigest, type Digest } from './digest.js';
import { InvalidManifestError } from './errors.js';
import { normalizePlatform, type Platform } from './platform.js';

/** An OCI content descriptor: what a manifest says about a piece of content it points at. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export const Annotation = {
  /** OCI image layout: the reference an index.json entry stands for. */
  RefName: 'org.opencontainers.image.ref.name',
  /** containerd's `ctr images import`: the full image name to create. */
  ContainerdImageName: 'io.containerd.image.name',
  Created: 'org.opencontainers.image.created',
} as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Check a descriptor decoded from untrusted JSON; `where` names its place in the error. */
export function validateDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw new InvalidManifestError(`${where} is not an object`, { where });
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || !mediaType) throw new InvalidManifestError(`${where} has no mediaType`, { where });
  if (typeof digest !== 'string') throw new InvalidManifestError(`${where} has no digest`, { where });
  try {
    parseDigest(digest);
  } catch (e) {
    throw new InvalidManifestError(`${where}: ${(e as Error).message}`, { where, digest });
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidManifestError(`${where} has an invalid size ${JSON.stringify(size)}`, { where, digest });
  }
  const d: Descriptor = { mediaType, digest: digest as Digest, size };
  if (v.urls !== undefined) {
    if (!Array.isArray(v.urls) || !v.urls.every((u) => typeof u === 'string')) {
      throw new InvalidManifestError(`${where} has invalid urls`, { where, digest });
    }
    d.urls = v.urls as string[];
  }
  if (v.annotations !== undefined) {
    if (!isObject(v.annotations) || !Object.values(v.annotations).every((a) => typeof a === 'string')) {
      throw new InvalidManifestError(`${where} has invalid annotations`, { where, digest });
    }
    d.annotations = v.annotations as Record<string, string>;
  }
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isObject(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      throw new InvalidManifestError(`${where} has an invalid platform`, { where, digest });
    }
    d.platform = { os: p.os, architecture: p.architecture };
    if (typeof p.variant === 'string' && p.variant) d.platform.variant = p.variant;
    if (typeof p['os.version'] === 'string') d.platform['os.version'] = p['os.version'];
    if (Array.isArray(p['os.features'])) d.platform['os.features'] = p['os.features'].filter((f): f is string => typeof f === 'string');
  }
  if (typeof v.artifactType === 'string') d.artifactType = v.artifactType;
  return d;
}

/** A descriptor trimmed to its identity, for maps and logs. */
export function descriptorKey(d: Pick<Descriptor, 'digest'>): string {
  return d.digest;
}

export function platformOf(d: Descriptor): Platform | undefined {
  return d.platform ? normalizePlatform(d.platform) : undefined;
}
