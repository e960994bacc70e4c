import { CheckError } from '../errors.js';
import { isDigest } from '../oci/digest.js';
import { BUNDLE_FORMAT_VERSION, BUNDLE_MEDIA_TYPES, type BundleDocker, type BundleImage, type BundleLoader, type BundleMediaTypes, type BundleMetadata, type BundlePlatformEntry } from './metadata.js';

/** airgap-bundle.json that is not valid JSON or breaks docs/bundle-format.md. */
export class InvalidBundleMetadataError extends CheckError {
  constructor(reason: string, hint?: string) {
    super('ERR_INVALID_BUNDLE_METADATA', `airgap-bundle.json is invalid: ${reason}`, {
      hint: hint ?? 'the bundle is damaged or was edited by hand; pack it again',
      details: { reason },
    });
  }
}

/** Metadata files are a few KB; anything far larger is not ours. */
export const MAX_METADATA_BYTES = 64 * 1024 * 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parsePlatforms(v: unknown, where: string): BundlePlatformEntry[] {
  if (!Array.isArray(v)) throw new InvalidBundleMetadataError(`${where}.platforms is not an array`);
  return v.map((p, i) => {
    const w = `${where}.platforms[${i}]`;
    if (!isObject(p)) throw new InvalidBundleMetadataError(`${w} is not an object`);
    if (typeof p.platform !== 'string' || !p.platform) throw new InvalidBundleMetadataError(`${w}.platform is missing`);
    if (!isDigest(p.digest)) throw new InvalidBundleMetadataError(`${w}.digest ${JSON.stringify(p.digest)} is not a digest`);
    if (typeof p.included !== 'boolean') throw new InvalidBundleMetadataError(`${w}.included is not true or false`);
    return { platform: p.platform, digest: p.digest, included: p.included, ...convertedFrom(p.convertedFrom, w) };
  });
}

function parseImage(v: unknown, i: number): BundleImage {
  const w = `images[${i}]`;
  if (!isObject(v)) throw new InvalidBundleMetadataError(`${w} is not an object`);
  if (typeof v.ref !== 'string' || !v.ref) throw new InvalidBundleMetadataError(`${w}.ref is missing`);
  if (!isDigest(v.digest)) throw new InvalidBundleMetadataError(`${w}.digest ${JSON.stringify(v.digest)} is not a digest`);
  if (typeof v.mediaType !== 'string' || !v.mediaType) throw new InvalidBundleMetadataError(`${w}.mediaType is missing`);
  if (!isSize(v.size)) throw new InvalidBundleMetadataError(`${w}.size is not a byte count`);
  const img: BundleImage = { ref: v.ref, digest: v.digest, mediaType: v.mediaType, size: v.size };
  if (typeof v.role === 'string') img.role = v.role;
  if (typeof v.source === 'string') img.source = v.source;
  if (v.platforms !== undefined) img.platforms = parsePlatforms(v.platforms, w);
  Object.assign(img, convertedFrom(v.convertedFrom, w));
  return img;
}

/** `convertedFrom` (pack --oci-media-types): absent, or the upstream digest. */
function convertedFrom(v: unknown, where: string): Pick<BundleImage, 'convertedFrom'> {
  if (v === undefined) return {};
  if (!isDigest(v)) throw new InvalidBundleMetadataError(`${where}.convertedFrom ${JSON.stringify(v)} is not a digest`);
  return { convertedFrom: v };
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function parseMediaTypes(v: unknown): BundleMediaTypes | undefined {
  if (v === undefined) return undefined;
  if (!BUNDLE_MEDIA_TYPES.includes(v as BundleMediaTypes)) {
    throw new InvalidBundleMetadataError(`mediaTypes ${JSON.stringify(v)} is not one of ${BUNDLE_MEDIA_TYPES.map((m) => `"${m}"`).join(', ')}`);
  }
  return v as BundleMediaTypes;
}

function parseDocker(v: unknown): BundleDocker | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || typeof v.platform !== 'string' || !v.platform || !isStringList(v.images) || !isStringList(v.missing)) {
    throw new InvalidBundleMetadataError('docker must be {"platform", "images": [references], "missing": [references]}');
  }
  return { platform: v.platform, images: v.images, missing: v.missing };
}

/** Parse and validate airgap-bundle.json from untrusted bytes. */
export function parseBundleMetadata(bytes: Buffer): BundleMetadata {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new InvalidBundleMetadataError(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw new InvalidBundleMetadataError('not a JSON object');
  if (typeof doc.formatVersion !== 'number') throw new InvalidBundleMetadataError('formatVersion is missing');
  if (doc.formatVersion > BUNDLE_FORMAT_VERSION) {
    throw new InvalidBundleMetadataError(
      `format version ${doc.formatVersion} is newer than this airgap reads (${BUNDLE_FORMAT_VERSION})`,
      'upgrade airgap to read this bundle',
    );
  }
  if (doc.formatVersion !== BUNDLE_FORMAT_VERSION) throw new InvalidBundleMetadataError(`format version ${doc.formatVersion} is unknown`);
  const tool = doc.tool;
  if (!isObject(tool) || typeof tool.name !== 'string' || typeof tool.version !== 'string') {
    throw new InvalidBundleMetadataError('tool must be {"name": …, "version": …}');
  }
  if (typeof doc.created !== 'string' || Number.isNaN(Date.parse(doc.created))) {
    throw new InvalidBundleMetadataError(`created ${JSON.stringify(doc.created)} is not an RFC 3339 time`);
  }
  let kubernetes: BundleMetadata['kubernetes'] = null;
  if (doc.kubernetes !== null && doc.kubernetes !== undefined) {
    const k = doc.kubernetes;
    if (!isObject(k) || typeof k.version !== 'string' || typeof k.distribution !== 'string') {
      throw new InvalidBundleMetadataError('kubernetes must be null or {"version": …, "distribution": …}');
    }
    kubernetes = { version: k.version, distribution: k.distribution };
  }
  let platforms: BundleMetadata['platforms'];
  if (doc.platforms === 'all') platforms = 'all';
  else if (Array.isArray(doc.platforms) && doc.platforms.every((p) => typeof p === 'string')) platforms = doc.platforms as string[];
  else throw new InvalidBundleMetadataError('platforms must be "all" or a list of platforms');
  if (!Array.isArray(doc.images)) throw new InvalidBundleMetadataError('images is not an array');
  const images = doc.images.map(parseImage);
  const b = doc.blobs;
  if (!isObject(b) || !isSize(b.count) || !isSize(b.size) || !isSize(b.sizeWithoutDedup)) {
    throw new InvalidBundleMetadataError('blobs must be {"count", "size", "sizeWithoutDedup"} byte counts');
  }
  let loaders: BundleMetadata['loaders'];
  if (doc.loaders !== undefined) {
    if (!Array.isArray(doc.loaders)) throw new InvalidBundleMetadataError('loaders is not an array');
    loaders = doc.loaders.map((l: unknown, i: number) => {
      if (!isObject(l) || typeof l.platform !== 'string' || typeof l.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(l.name) ||
        !isSize(l.size) || typeof l.digest !== 'string' || !isDigest(l.digest)) {
        throw new InvalidBundleMetadataError(`loaders[${i}] must be {"platform", "name" (a plain file name), "size", "digest"}`);
      }
      return { platform: l.platform, name: l.name, size: l.size, digest: l.digest as BundleLoader['digest'] };
    });
  }
  const mediaTypes = parseMediaTypes(doc.mediaTypes);
  const docker = parseDocker(doc.docker);
  return {
    formatVersion: doc.formatVersion,
    tool: { name: tool.name, version: tool.version },
    created: doc.created,
    kubernetes,
    platforms,
    images,
    blobs: { count: b.count, size: b.size, sizeWithoutDedup: b.sizeWithoutDedup },
    ...(loaders ? { loaders } : {}),
    ...(mediaTypes ? { mediaTypes } : {}),
    ...(docker ? { docker } : {}),
  };
}
