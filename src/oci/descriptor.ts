import { parseDigest, type Digest } from './digest.js';
import { InvalidManifestError } from './errors.js';
import { show } from './show.js';
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

/** An OCI annotations map: string keys to string values, as Go's map[string]string decodes it. */
export function validateAnnotations(v: unknown, where: string, details: Record<string, unknown> = {}): Record<string, string> {
  if (!isObject(v)) throw new InvalidManifestError(`${where} annotations are ${show(v)}, not an object`, { where, ...details });
  for (const [k, a] of Object.entries(v)) {
    if (typeof a !== 'string') {
      throw new InvalidManifestError(`${where} annotation ${show(k, 80)} is ${show(a)}, not a string`, { where, ...details });
    }
  }
  return v as Record<string, string>;
}

function validatePlatform(p: unknown, where: string, digest: string): Platform {
  const bad = (why: string): InvalidManifestError => new InvalidManifestError(`${where} has an invalid platform: ${why}`, { where, digest });
  if (!isObject(p)) throw bad(`${show(p)}, not an object`);
  if (typeof p.os !== 'string' || !p.os) throw bad('no os');
  if (typeof p.architecture !== 'string' || !p.architecture) throw bad('no architecture');
  const out: Platform = { os: p.os, architecture: p.architecture };
  if (p.variant != null) {
    if (typeof p.variant !== 'string') throw bad(`variant is ${show(p.variant)}`);
    if (p.variant) out.variant = p.variant;
  }
  if (p['os.version'] != null) {
    if (typeof p['os.version'] !== 'string') throw bad(`os.version is ${show(p['os.version'])}`);
    if (p['os.version']) out['os.version'] = p['os.version'];
  }
  if (p['os.features'] != null) {
    const f = p['os.features'];
    if (!Array.isArray(f) || !f.every((x) => typeof x === 'string')) throw bad('os.features is not a list of strings');
    if (f.length > 0) out['os.features'] = f as string[];
  }
  return out;
}

/**
 * Check a descriptor decoded from untrusted JSON; `where` names its place in the error. Optional
 * fields that are null count as absent, as Go's encoding/json (containerd, distribution) reads them.
 */
export function validateDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw new InvalidManifestError(`${where} is ${show(v)}, not an object`, { where });
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || !mediaType) throw new InvalidManifestError(`${where} has no mediaType`, { where });
  if (typeof digest !== 'string') throw new InvalidManifestError(`${where} has no digest`, { where });
  try {
    parseDigest(digest);
  } catch (e) {
    throw new InvalidManifestError(`${where}: ${(e as Error).message}`, { where, digest: digest.slice(0, 140) });
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidManifestError(`${where} has an invalid size ${show(size)}: expected a whole number of bytes`, { where, digest });
  }
  const d: Descriptor = { mediaType, digest: digest as Digest, size };
  if (v.urls != null) {
    if (!Array.isArray(v.urls) || !v.urls.every((u) => typeof u === 'string')) {
      throw new InvalidManifestError(`${where} has invalid urls: expected a list of strings`, { where, digest });
    }
    d.urls = v.urls as string[];
  }
  if (v.annotations != null) d.annotations = validateAnnotations(v.annotations, where, { digest });
  if (v.platform != null) d.platform = validatePlatform(v.platform, where, digest);
  if (v.artifactType != null) {
    if (typeof v.artifactType !== 'string') throw new InvalidManifestError(`${where} has an artifactType that is not a string`, { where, digest });
    d.artifactType = v.artifactType;
  }
  return d;
}

/** A descriptor trimmed to its identity, for maps and logs. */
export function descriptorKey(d: Pick<Descriptor, 'digest'>): string {
  return d.digest;
}

export function platformOf(d: Descriptor): Platform | undefined {
  return d.platform ? normalizePlatform(d.platform) : undefined;
}
