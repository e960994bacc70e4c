import { NETWORK_FAILURE_CODES } from '../network-errors.js';
import type { LimitFunction } from 'p-limit';
import type { BundlePlatformEntry } from '../bundle/metadata.js';
import type { ReadOnlyStorage, Resolver } from '../content/target.js';
import { DigestMismatchError, SizeMismatchError } from '../content/errors.js';
import { readAll } from '../content/verify-stream.js';
import { AirgapError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { MAX_MANIFEST_BYTES, parseManifest, type ParsedManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/media-type.js';
import { formatPlatform, platformMatches, type Platform, type PlatformSelection } from '../oci/platform.js';
import type { ImageReference } from '../oci/reference.js';
import type { ResolveProblem } from './errors.js';
import type { PackImage } from './image-set.js';

/**
 * Resolution: every reference to a digest, every index, manifest and config of the chosen
 * platforms fetched into memory (they are small), every problem collected rather than thrown, so
 * the user hears about all of them before the long transfer starts.
 */

/** Where an image comes from: a registry Repository, or any store with the same abilities. */
export interface ImageSource extends ReadOnlyStorage, Resolver {
  /** the endpoint URL, for the metadata (never credentials) */
  readonly source?: string;
  fetchManifest?(ref: string | Descriptor, opts?: { signal?: AbortSignal }): Promise<{ descriptor: Descriptor; bytes: Buffer; manifest: ParsedManifest }>;
}

export interface SourceProvider {
  repository(ref: ImageReference): ImageSource;
}

export interface ResolvedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
  parsed: ParsedManifest;
}

export interface ResolvedImage {
  image: PackImage;
  repo: ImageSource;
  source?: string;
  /** the top descriptor as upstream serves it (mediaType, digest, size); after --oci-media-types, as converted */
  descriptor: Descriptor;
  /** --oci-media-types: the upstream top descriptor, when converting changed it */
  convertedFrom?: Descriptor;
  /** the digest came from the lock file */
  pinned: boolean;
  /** the tag's digest upstream now, when it was checked against a pin */
  upstreamDigest?: string;
  /** the top manifest, then every included child, depth first */
  manifests: ResolvedManifest[];
  configs: { descriptor: Descriptor; bytes: Buffer }[];
  /** layers of the included platforms in manifest order (foreign layers left out) */
  layers: Descriptor[];
  /** for an index: every child, included or not */
  platforms?: BundlePlatformEntry[];
  /** the platforms packed: "linux/amd64", or "unknown" for content without one */
  packed: string[];
  /** non-distributable (foreign) layers left out, as containerd does */
  foreignLayers: number;
}

/** Configs are small JSON; this bounds what a hostile registry can make us hold. */
export const MAX_CONFIG_BYTES = 32 * 1024 * 1024;

export interface ResolveImageOptions {
  platforms: PlatformSelection;
  /** a digest from the lock file for this reference */
  pin?: string;
  limit: LimitFunction;
  signal?: AbortSignal;
}

export function isForeignLayer(d: Descriptor): boolean {
  return d.mediaType === MediaType.DockerForeignLayerGzip || d.mediaType.includes('.nondistributable.');
}

/** An error as one line of the resolution report, or rethrown when it is a bug rather than a problem. */
export function problemOf(ref: string, e: unknown, source?: string): ResolveProblem {
  if (e instanceof AirgapError) {
    if (e.kind === 'internal') throw e;
    return { ref, code: e.code, kind: e.kind, message: e.message, ...(e.hint ? { hint: e.hint } : {}), ...(source ? { source } : {}) };
  }
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+|AIRGAP_HTTP_[A-Z_]+)$/.test(code)) {
    return { ref, code, kind: 'remote', message: (e as Error).message, ...(source ? { source } : {}) };
  }
  throw e;
}

/**
 * Manifests and configs are read whole, after the transport's own retries ended with the headers:
 * a body cut short, a wrong length or wrong bytes (a flaky proxy) get fresh tries here. An error
 * the client already retried (RegistryUnavailableError) or a plain refusal is not tried again.
 */
const WHOLE_READ_TRIES = 4;
export function isBodyFailure(e: unknown): boolean {
  if (e instanceof DigestMismatchError || e instanceof SizeMismatchError) return e.kind === 'remote';
  if (e instanceof AirgapError) return false;
  // undici wraps socket errors: look down the cause chain.
  for (let cur: unknown = e, i = 0; cur && typeof cur === 'object' && i < 5; cur = (cur as { cause?: unknown }).cause, i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_FAILURE_CODES.has(code) || code === 'ERR_STREAM_PREMATURE_CLOSE')) return true;
  }
  return false;
}

async function readWhole<T>(read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (e) {
      if (attempt >= WHOLE_READ_TRIES || signal?.aborted || !isBodyFailure(e)) throw e;
      await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
    }
  }
}

async function getManifest(repo: ImageSource, what: string | Descriptor, limit: LimitFunction, signal?: AbortSignal): Promise<ResolvedManifest> {
  return readWhole(() => getManifestOnce(repo, what, limit, signal), signal);
}

async function getManifestOnce(repo: ImageSource, what: string | Descriptor, limit: LimitFunction, signal?: AbortSignal): Promise<ResolvedManifest> {
  if (typeof repo.fetchManifest === 'function') {
    const r = await limit(() => repo.fetchManifest!(what, { signal }));
    return { descriptor: r.descriptor, bytes: r.bytes, parsed: r.manifest };
  }
  const desc = typeof what === 'string' ? await limit(() => repo.resolve(what, { signal })) : what;
  const bytes = await limit(async () => readAll(await repo.fetch(desc, { signal }), Math.min(desc.size, MAX_MANIFEST_BYTES)));
  return { descriptor: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size }, bytes, parsed: parseManifest(bytes, desc.mediaType) };
}

/** The platform an image config declares (os/architecture/variant), if it is an image config at all. */
export function configPlatform(bytes: Buffer): Platform | undefined {
  try {
    const c = JSON.parse(bytes.toString('utf8')) as { os?: unknown; architecture?: unknown; variant?: unknown };
    if (typeof c.os !== 'string' || typeof c.architecture !== 'string' || !c.os || !c.architecture) return undefined;
    return { os: c.os, architecture: c.architecture, ...(typeof c.variant === 'string' && c.variant ? { variant: c.variant } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * Resolve one image. Returns it with the problems found (a missing platform is a problem, yet the
 * rest is still resolved so all problems come out together); no image when its top is unreachable.
 */
export async function resolveImage(image: PackImage, repo: ImageSource, opts: ResolveImageOptions): Promise<{ resolved?: ResolvedImage; problems: ResolveProblem[] }> {
  const problems: ResolveProblem[] = [];
  const ref = image.name;
  const source = repo.source;
  const { limit, signal, platforms: sel } = opts;
  const pinned = !image.ref.digest && opts.pin !== undefined;
  const identifier = image.ref.digest ?? opts.pin ?? image.ref.tag ?? 'latest';

  let top: ResolvedManifest;
  let upstreamDigest: string | undefined;
  try {
    const [t, upstream] = await Promise.all([
      getManifest(repo, identifier, limit, signal),
      // With a pin, also ask where the tag points now, to report a tag that moved.
      pinned && image.ref.tag ? limit(() => repo.resolve(image.ref.tag!, { signal })).then((d) => d.digest, () => undefined) : undefined,
    ]);
    top = t;
    upstreamDigest = upstream;
  } catch (e) {
    return { problems: [problemOf(ref, e, source)] };
  }

  const resolved: ResolvedImage = {
    image,
    repo,
    ...(source ? { source } : {}),
    descriptor: { mediaType: top.descriptor.mediaType, digest: top.descriptor.digest, size: top.descriptor.size },
    pinned,
    ...(upstreamDigest ? { upstreamDigest } : {}),
    manifests: [],
    configs: [],
    layers: [],
    packed: [],
    foreignLayers: 0,
  };

  // Configs are fetched as soon as their manifest is in (all children at once), not one child at
  // a time during the ordered walk below: resolution is round trips, and they overlap.
  const configReads = new Map<string, Promise<Buffer>>();
  const readConfig = (config: Descriptor): Promise<Buffer> => {
    let p = configReads.get(config.digest);
    if (!p) {
      p = readWhole(() => limit(async () => readAll(await repo.fetch(config, { signal }), config.size)), signal);
      p.catch(() => {}); // awaited (and reported) by the walk; not an unhandled rejection meanwhile
      configReads.set(config.digest, p);
    }
    return p;
  };
  const prefetchConfig = (m: ParsedManifest): void => {
    if (m.kind !== 'index' && m.manifest.config.size <= MAX_CONFIG_BYTES) void readConfig(m.manifest.config);
  };
  prefetchConfig(top.parsed);

  // Depth first, in document order, so the bundle's order follows the upstream graph.
  const visit = async (node: ResolvedManifest, depth: number): Promise<void> => {
    resolved.manifests.push(node);
    const m = node.parsed;
    if (m.kind === 'index') {
      const chosen = m.index.manifests.filter((c) => sel.all || (c.platform !== undefined && sel.platforms.some((p) => platformMatches(p, c.platform))));
      if (depth === 0) {
        resolved.platforms = m.index.manifests.map((c) => ({
          platform: c.platform ? formatPlatform(c.platform) : 'unknown',
          digest: c.digest,
          included: chosen.includes(c),
        }));
        if (!sel.all) {
          const missing = sel.platforms.filter((p) => !m.index.manifests.some((c) => platformMatches(p, c.platform)));
          if (missing.length) {
            const published = [...new Set(m.index.manifests.filter((c) => c.platform).map((c) => formatPlatform(c.platform!)))];
            problems.push({
              ref,
              code: 'ERR_PLATFORM_NOT_PUBLISHED',
              kind: 'check',
              message: `does not publish ${missing.map(formatPlatform).join(', ')} (it has ${published.join(', ') || 'no platform entries'})`,
              hint: 'choose platforms every image publishes with --platform, or leave this image out',
              ...(source ? { source } : {}),
            });
          }
        }
      }
      const children = await Promise.all(
        chosen.map((c) =>
          getManifest(repo, c, limit, signal).then(
            (r) => {
              prefetchConfig(r.parsed);
              return { c, r };
            },
            (e: unknown) => {
              problems.push(problemOf(`${ref} (${c.platform ? formatPlatform(c.platform) : c.digest})`, e, source));
              return undefined;
            },
          ),
        ),
      );
      for (const child of children) {
        if (!child) continue;
        const r: ResolvedManifest = { ...child.r, descriptor: child.c };
        if (depth === 0 && child.c.platform) resolved.packed.push(formatPlatform(child.c.platform));
        await visit(r, depth + 1);
      }
      return;
    }
    const config = m.manifest.config;
    if (config.size > MAX_CONFIG_BYTES) {
      problems.push({ ref, code: 'ERR_CONFIG_TOO_LARGE', kind: 'check', message: `config ${config.digest} is ${config.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit` });
      return;
    }
    let configBytes: Buffer;
    try {
      configBytes = await readConfig(config);
    } catch (e) {
      problems.push(problemOf(ref, e, source));
      return;
    }
    resolved.configs.push({ descriptor: config, bytes: configBytes });
    if (depth === 0) {
      // A single-platform image: its config says which platform it is.
      const p = configPlatform(configBytes);
      resolved.packed.push(p ? formatPlatform(p) : 'unknown');
      if (!sel.all && p && !sel.platforms.every((want) => platformMatches(want, p))) {
        const missing = sel.platforms.filter((want) => !platformMatches(want, p));
        problems.push({
          ref,
          code: 'ERR_PLATFORM_NOT_PUBLISHED',
          kind: 'check',
          message: `does not publish ${missing.map(formatPlatform).join(', ')} (it is a single-platform ${formatPlatform(p)} image)`,
          hint: 'choose platforms every image publishes with --platform, or leave this image out',
          ...(source ? { source } : {}),
        });
      }
    }
    for (const l of m.manifest.layers) {
      if (isForeignLayer(l)) resolved.foreignLayers++;
      else resolved.layers.push(l);
    }
  };

  try {
    await visit(top, 0);
  } catch (e) {
    problems.push(problemOf(ref, e, source));
  }
  return { resolved, problems };
}
