import type { Writable } from 'node:stream';
import pLimit from 'p-limit';
import type { BundleMetadata } from '../bundle/metadata.js';
import { BundleFileWriter } from '../bundle/writer.js';
import { planBundle, type BundlePlan } from '../bundle/writer-plan.js';
import { BundleStreamWriter } from '../bundle/writer-stream.js';
import { DEFAULT_PLATFORM, formatPlatform, formatSelection, hostPlatform, platformMatches, type Platform, type PlatformSelection } from '../oci/platform.js';
import { bundleContent, formatCreated } from './bundle-content.js';
import { DockerPlatformNotPackedError, ImageSetResolveError, type ResolveProblem } from './errors.js';
import type { PackEvent, PackSummary } from './events.js';
import { buildImageSet, type ImageSetRequest } from './image-set.js';
import { readLockFile, writeLockFile, type LockFile } from './lock-file.js';
import { RateLimiter } from './rate-limit.js';
import { resolveImage, type ResolvedImage, type SourceProvider } from './resolve.js';
import { transferLayers } from './transfer.js';
import { convertToOci } from './oci-convert.js';
import { loaderMetadata, type LoaderFile } from './loaders.js';
import { trace } from '../trace.js';

/**
 * pack = resolve the image set (everything but layers, all problems at once), plan the bundle,
 * then copy every layer registry -> bundle. See docs/pack.md.
 */

export interface PackOptions extends ImageSetRequest {
  /** default: linux/amd64 */
  platforms?: PlatformSelection;
  /** lock file: written when absent, followed when present */
  lock?: string;
  /** a file path (written as OUT.partial, renamed when complete), or a stream such as stdout */
  output: string | Writable;
  /** where images come from: a RegistryClient, or any provider of ImageSources */
  sources: SourceProvider;
  /** layers fetched at once, default 4 */
  concurrency?: number;
  /** attempts after a failed layer download, default 2 (the registry client retries too) */
  retries?: number;
  retryDelayMs?: number;
  /** bytes per second over all downloads */
  limitRate?: number;
  /** seconds: the creation time and every tar mtime (SOURCE_DATE_EPOCH) */
  sourceDateEpoch?: number;
  now?: () => Date;
  /** resolve and plan, but transfer nothing */
  dryRun?: boolean;
  checkpointMs?: number;
  signal?: AbortSignal;
  onEvent?(e: PackEvent): void;
  /** airgap executables carried beside the OCI layout (see ./loaders.ts) */
  loaders?: readonly LoaderFile[];
  /** the one platform manifest.json (docker load) names each image for; default this machine's */
  dockerPlatform?: Platform;
  /** rewrite Docker manifest lists and manifests with OCI media types (new digests; ./oci-convert.ts) */
  ociMediaTypes?: boolean;
}

export interface PackResult {
  summary: PackSummary;
  metadata: BundleMetadata;
  plan: BundlePlan;
  images: ResolvedImage[];
}

export const DEFAULT_CONCURRENCY = 4;

/**
 * The platform manifest.json names images for when --docker-platform is not given: this machine's
 * (where `docker load` is likeliest to run) when the bundle holds it, else the first one packed — a
 * bundle packed on amd64 for arm64 nodes still loads into their Docker.
 */
export function defaultDockerPlatform(platforms: PlatformSelection): Platform {
  const host = hostPlatform();
  if (platforms.all || platforms.platforms.some((p) => platformMatches(p, host))) return host;
  return platforms.platforms[0] ?? host;
}

/** The bundle name when -o is not given: airgap-k8s-v1.30.14-linux-amd64.tar */
export function defaultOutputName(kubernetes: string | undefined, platforms: PlatformSelection): string {
  const p = platforms.all ? 'all' : platforms.platforms.map((x) => formatPlatform(x).replaceAll('/', '-')).join('_');
  return kubernetes ? `airgap-k8s-${kubernetes}-${p}.tar` : `airgap-images-${p}.tar`;
}

export async function pack(opts: PackOptions): Promise<PackResult> {
  const started = Date.now();
  const emit = (e: PackEvent): void => {
    try {
      opts.onEvent?.(e);
    } catch {
      // a broken progress display must not break the pack
    }
  };
  const platforms: PlatformSelection = opts.platforms ?? { all: false, platforms: [DEFAULT_PLATFORM] };
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  const outputName = typeof opts.output === 'string' ? opts.output : '-';
  const wanted = opts.dockerPlatform;
  if (wanted && !platforms.all && !platforms.platforms.some((p) => platformMatches(p, wanted))) {
    throw new DockerPlatformNotPackedError(formatPlatform(wanted), formatSelection(platforms));
  }

  trace('pack: start');
  // 1. The image set, with the list checked before anything goes over the network.
  const set = await buildImageSet(opts);
  trace('pack: image set');
  emit({
    event: 'start',
    kubernetes: set.kubernetes
      ? { version: set.kubernetes.version, distribution: set.kubernetes.distribution, requested: set.kubernetes.requested, exact: set.kubernetes.exact }
      : null,
    platforms: formatSelection(platforms),
    defaultPlatform: opts.platforms === undefined,
    images: set.images.length,
    output: outputName,
  });
  for (const n of set.notices) emit({ event: 'notice', ...n });
  const lock = opts.lock ? await readLockFile(opts.lock) : undefined;

  // 2. Resolve everything but layers; collect every problem.
  const limit = pLimit(Math.max(16, concurrency));
  const outcomes = await Promise.all(
    set.images.map((image) => {
      emit({ event: 'resolving', ref: image.name });
      const pin = image.ref.digest ? undefined : lock?.images[image.name];
      return resolveImage(image, opts.sources.repository(image.ref), { platforms, limit, signal: opts.signal, ...(pin ? { pin } : {}) });
    }),
  );
  opts.signal?.throwIfAborted();
  trace('pack: resolved manifests + configs');
  const problems: ResolveProblem[] = outcomes.flatMap((o) => o.problems);
  if (problems.length) throw new ImageSetResolveError(problems, set.images.length);
  const upstream = outcomes.map((o) => o.resolved!);
  for (const r of upstream) {
    const blobs = new Map<string, number>();
    for (const m of r.manifests) blobs.set(m.descriptor.digest, m.descriptor.size);
    for (const c of r.configs) blobs.set(c.descriptor.digest, c.descriptor.size);
    for (const l of r.layers) blobs.set(l.digest, l.size);
    emit({
      event: 'resolved',
      ref: r.image.name,
      role: r.image.role,
      digest: r.descriptor.digest,
      mediaType: r.descriptor.mediaType,
      platforms: r.packed,
      ...(r.source ? { source: r.source } : {}),
      layers: r.layers.length,
      bytes: [...blobs.values()].reduce((a, b) => a + b, 0),
      pinned: r.pinned,
    });
  }
  const foreign = upstream.filter((r) => r.foreignLayers > 0);
  if (foreign.length) {
    emit({
      event: 'notice',
      code: 'FOREIGN_LAYERS',
      message: `non-distributable (foreign) layers left out, as containerd does: ${foreign.map((r) => `${r.image.name} (${r.foreignLayers})`).join(', ')}`,
    });
  }
  // The lock pins upstream's digests, whatever the bundle holds.
  if (opts.lock) await updateLock(opts.lock, lock, upstream, set.kubernetes?.version, emit);
  const images = opts.ociMediaTypes ? upstream.map(convertToOci) : upstream;
  if (opts.ociMediaTypes) noticeConverted(images, emit);
  const dockerPlatform = opts.dockerPlatform ?? defaultDockerPlatform(platforms);

  // 3. Plan the whole bundle. An interrupted earlier run of the same plan lends its creation time.
  const base = opts.sourceDateEpoch !== undefined ? new Date(opts.sourceDateEpoch * 1000) : (opts.now?.() ?? new Date());
  let created = formatCreated(base);
  let mtime = opts.sourceDateEpoch ?? Math.floor(base.getTime() / 1000);
  const planFor = (): BundlePlan => {
    const input = bundleContent(images, { kubernetes: set.kubernetes, platforms, created, mtime, dockerPlatform, ociConverted: opts.ociMediaTypes ?? false });
    if (!opts.loaders?.length) return planBundle(input);
    return planBundle({ ...input, metadata: { ...input.metadata, loaders: loaderMetadata(opts.loaders) }, loaders: opts.loaders });
  };
  let plan = planFor();
  if (typeof opts.output === 'string' && opts.sourceDateEpoch === undefined && !opts.dryRun) {
    const earlier = await BundleFileWriter.inspect(opts.output);
    if (earlier && earlier.planId === plan.id) {
      created = earlier.created;
      mtime = earlier.mtime;
      plan = planFor();
    }
  }

  trace('pack: planned');
  const docker = plan.metadata.docker;
  if (docker?.missing.length) {
    emit({
      event: 'notice',
      code: 'DOCKER_MISSING',
      message: `manifest.json (docker load) names ${docker.images.length} of ${images.length} images for ${docker.platform}; left out, having no ${docker.platform} manifest in the bundle: ${docker.missing.join(', ')} (choose the platform with --docker-platform; airgap load --docker picks another)`,
      details: { platform: docker.platform, missing: docker.missing },
    });
  }
  const planEvent = (resumedBlobs: number, resumedBytes: number): void => {
    const layerBytes = plan.layers.reduce((n, e) => n + e.size, 0);
    emit({
      event: 'plan',
      images: images.length,
      blobs: plan.metadata.blobs.count,
      layers: plan.layers.length,
      bytes: plan.metadata.blobs.size,
      bytesWithoutDedup: plan.metadata.blobs.sizeWithoutDedup,
      toFetch: layerBytes - resumedBytes,
      resumedBytes,
      resumedBlobs,
      bundleSize: plan.size,
      dryRun: opts.dryRun ?? false,
    });
  };
  const summary = (fetched: number, resumedBytes: number): PackSummary => ({
    images: images.length,
    platforms: formatSelection(platforms),
    blobs: plan.metadata.blobs.count,
    bytes: plan.metadata.blobs.size,
    savedByDedup: plan.metadata.blobs.sizeWithoutDedup - plan.metadata.blobs.size,
    fetched,
    resumedBytes,
    bundleSize: plan.size,
    output: outputName,
    seconds: (Date.now() - started) / 1000,
    dryRun: opts.dryRun ?? false,
  });
  const result = (s: PackSummary): PackResult => {
    emit({ event: 'summary', ...s });
    return { summary: s, metadata: plan.metadata, plan, images };
  };

  if (opts.dryRun) {
    planEvent(0, 0);
    return result(summary(0, 0));
  }

  // 4. Transfer every layer straight into place.
  const transfer = {
    concurrency,
    retries: opts.retries ?? 2,
    ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
    ...(opts.limitRate ? { rate: new RateLimiter(opts.limitRate) } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onEvent: emit,
  };
  if (typeof opts.output === 'string') {
    const writer = await BundleFileWriter.open(opts.output, plan, {
      created,
      ...(opts.checkpointMs !== undefined ? { checkpointMs: opts.checkpointMs } : {}),
      onNotice: (code, message) => emit({ event: 'notice', code, message }),
    });
    try {
      trace('pack: writer open (fixed parts written)');
      planEvent(writer.resumed.blobs, writer.resumed.bytes);
      const t = await transferLayers(plan, images, writer, { ...transfer, largestFirst: true });
      trace('pack: layers transferred');
      await writer.commit();
      trace('pack: committed');
      return result(summary(t.fetched, writer.resumed.bytes));
    } catch (e) {
      await writer.close();
      throw e;
    }
  }
  const writer = new BundleStreamWriter(opts.output, plan);
  planEvent(0, 0);
  const t = await transferLayers(plan, images, writer, transfer);
  await writer.finish();
  return result(summary(t.fetched, 0));
}

/** What --oci-media-types changed: every rewritten image with both digests, and the references by digest that no longer match. */
function noticeConverted(images: readonly ResolvedImage[], emit: (e: PackEvent) => void): void {
  const converted = images.filter((r) => r.convertedFrom);
  emit({
    event: 'notice',
    code: 'OCI_CONVERTED',
    message: converted.length
      ? `--oci-media-types: ${converted.length} of ${images.length} images rewritten with OCI media types, under new digests: ${converted.map((r) => `${r.image.name} ${r.convertedFrom!.digest} -> ${r.descriptor.digest}`).join(', ')}`
      : `--oci-media-types: all ${images.length} images already use OCI media types; nothing rewritten`,
    details: { converted: converted.map((r) => ({ ref: r.image.name, upstream: r.convertedFrom!.digest, digest: r.descriptor.digest })) },
  });
  const pinned = converted.filter((r) => r.image.ref.digest);
  if (pinned.length) {
    emit({
      event: 'notice',
      code: 'OCI_CONVERTED_PINNED',
      message: `these references pin an upstream digest that --oci-media-types replaced; pulls by that digest will not find the bundle's image: ${pinned.map((r) => `${r.image.name} (now ${r.descriptor.digest})`).join(', ')}`,
      details: { refs: pinned.map((r) => r.image.name) },
    });
  }
}

async function updateLock(path: string, lock: LockFile | undefined, images: ResolvedImage[], kubernetes: string | undefined, emit: (e: PackEvent) => void): Promise<void> {
  const pins: Record<string, string> = { ...(lock?.images ?? {}) };
  const added: string[] = [];
  for (const r of images) {
    if (r.image.ref.digest || pins[r.image.name]) continue;
    pins[r.image.name] = r.descriptor.digest;
    added.push(r.image.name);
  }
  const moved = images.filter((r) => r.pinned && r.upstreamDigest && r.upstreamDigest !== r.descriptor.digest);
  if (moved.length) {
    emit({
      event: 'notice',
      code: 'LOCK_MOVED',
      message: `tags moved upstream since ${path} pinned them (packing the pinned digests): ${moved.map((r) => `${r.image.name} ${r.descriptor.digest} -> ${r.upstreamDigest}`).join(', ')}`,
      details: { moved: moved.map((r) => ({ ref: r.image.name, pinned: r.descriptor.digest, upstream: r.upstreamDigest })) },
    });
  }
  const names = new Set(images.map((r) => r.image.name));
  const unused = Object.keys(lock?.images ?? {}).filter((k) => !names.has(k));
  if (unused.length) emit({ event: 'notice', code: 'LOCK_UNUSED', message: `pins in ${path} for images not packed: ${unused.join(', ')}` });
  if (!lock || added.length) {
    await writeLockFile(path, { lockVersion: 1, ...(kubernetes ?? lock?.kubernetes ? { kubernetes: kubernetes ?? lock?.kubernetes } : {}), images: pins });
    emit({
      event: 'notice',
      code: lock ? 'LOCK_UPDATED' : 'LOCK_WRITTEN',
      message: lock ? `pinned ${added.length} more image${added.length === 1 ? '' : 's'} in ${path}: ${added.join(', ')}` : `pinned ${added.length} image digests in ${path}`,
      details: { added },
    });
  }
}
