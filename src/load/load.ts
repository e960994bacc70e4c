import { BundleReader } from '../bundle/reader.js';
import { trace } from '../trace.js';
import { AirgapError } from '../errors.js';
import type { Platform } from '../oci/platform.js';
import { RegistryClient } from '../registry/client.js';
import type { RegistryEvent } from '../registry/events.js';
import { configureContainerd, type ConfigPhaseResult } from './configure.js';
import { LoadFailedError, LoadUsageError } from './errors.js';
import type { LoadEvent, LoadSummary } from './events.js';
import { bundleImages, sandboxImageOf, uniqueContent, type LoadImage } from './images.js';
import { mirrorSpecs, parseRegistryUrl } from './registry-url.js';
import { loadIntoContainerd, type ContainerdPhaseResult } from './to-containerd.js';
import { loadIntoRegistry, type RegistryPhaseResult } from './to-registry.js';

/**
 * `airgap load`: the bundle's images into the node registry (under their source names), into
 * containerd (k8s.io namespace, pause pinned), and containerd configured to pull through the node
 * registry — each step skipped where the node already has it, so a re-run changes nothing and an
 * interrupted run completes.
 */

export const DEFAULT_LOAD_CONCURRENCY = 8;

export interface LoadRegistryOptions {
  /** http://127.0.0.1:5000, https://registry.local:5000/prefix, or host[:port] */
  url: string;
  /** "REGISTRY=USER:PASSWORD" */
  credentials?: string[];
  dockerConfig?: string;
  caFiles?: string[];
  /** hosts allowed over http or without TLS verification */
  insecure?: string[];
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
}

export interface LoadContainerdOptions {
  /** default: the first of /run/containerd/containerd.sock, k3s's, k0s's that exists */
  socket?: string;
  /** the ctr to run, e.g. ["k3s", "ctr"]; default found on PATH */
  ctr?: string[];
  namespace?: string;
  /** unpack at import (default true) */
  unpack?: boolean;
  platform?: Platform;
}

export interface LoadConfigureOptions {
  configPath?: string;
  hostsDir?: string;
  dropInPath?: string;
  /** the registry containerd pulls through (default the --registry URL), e.g. an `airgap serve` address */
  mirror?: string;
  /** CA (PEM) of the mirror's certificate; default the first --ca-file */
  caFile?: string;
  skipVerify?: boolean;
  containerdVersion?: string;
}

export interface LoadOptions {
  /** the bundle (or any OCI layout tar) */
  bundle: string;
  /** for archives that name images only by tag (skopeo's "3.9"): the repository they belong to */
  baseName?: string;
  registry?: LoadRegistryOptions;
  containerd?: LoadContainerdOptions;
  configureContainerd?: LoadConfigureOptions;
  dryRun?: boolean;
  /** blobs in flight at once (default 4) */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?(e: LoadEvent): void;
  onRegistryEvent?(e: RegistryEvent): void;
}

export interface LoadResult {
  images: { name: string; digest: string; role?: string; pause: boolean; platforms: string[] }[];
  registry?: RegistryPhaseResult;
  containerd?: ContainerdPhaseResult;
  config?: ConfigPhaseResult;
  summary: LoadSummary;
}

function safe(sink: ((e: LoadEvent) => void) | undefined): (e: LoadEvent) => void {
  return (e) => {
    try {
      sink?.(e);
    } catch {
      /* an observer's bug does not fail the load */
    }
  };
}

export async function load(opts: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const emit = safe(opts.onEvent);
  const dryRun = opts.dryRun ?? false;
  if (!opts.registry && !opts.containerd && !opts.configureContainerd) {
    throw new LoadUsageError('ERR_LOAD_NOTHING_TO_DO', 'nothing to load into: name a target',
      'add --registry URL (the node registry), --containerd [SOCKET], and/or --configure-containerd');
  }
  const mirrorUrl = opts.configureContainerd?.mirror ?? opts.registry?.url;
  if (opts.configureContainerd && mirrorUrl === undefined) {
    throw new LoadUsageError('ERR_LOAD_NO_MIRROR', '--configure-containerd needs the registry containerd should pull through',
      'add --registry URL (pushes there and configures it), or --mirror URL (e.g. an airgap serve address)');
  }
  const nodeRegistry = opts.registry ? parseRegistryUrl(opts.registry.url) : undefined;
  const mirror = mirrorUrl !== undefined ? parseRegistryUrl(mirrorUrl) : undefined;
  const concurrency = opts.concurrency ?? DEFAULT_LOAD_CONCURRENCY;

  trace('load: start');
  const reader = await BundleReader.open(opts.bundle);
  trace('load: bundle opened (tar index)');
  let client: RegistryClient | undefined;
  try {
    const images: LoadImage[] = await bundleImages(reader, opts.baseName !== undefined ? { baseName: opts.baseName } : {});
    trace('load: images read (manifests parsed)');
    const content = uniqueContent(images);
    const targets = [
      ...(nodeRegistry ? [`registry ${nodeRegistry.url}`] : []),
      ...(opts.containerd ? ['containerd'] : []),
      ...(opts.configureContainerd ? ['containerd configuration'] : []),
    ];
    emit({ event: 'start', bundle: opts.bundle, images: images.length, blobs: content.blobs, bytes: content.bytes, targets, dryRun });
    for (const img of images) {
      if (img.graph.absent.length > 0) {
        emit({
          event: 'notice',
          message: `${img.name}: the bundle holds ${img.graph.platforms.join(', ') || 'no platform'} of its ${img.graph.platforms.length + img.graph.absent.length} platforms`,
        });
      }
    }

    const result: LoadResult = {
      images: images.map((i) => ({ name: i.name, digest: i.descriptor.digest, ...(i.role ? { role: i.role } : {}), pause: i.pause, platforms: i.graph.platforms })),
      summary: { dryRun, changed: false, seconds: 0 },
    };
    const failures: { image: string; target: string; error: AirgapError }[] = [];

    if (nodeRegistry && opts.registry) {
      const reg = opts.registry;
      client = new RegistryClient({
        mirrors: mirrorSpecs(nodeRegistry, images.map((i) => i.ref.registry)),
        ...(reg.credentials ? { credentials: reg.credentials } : {}),
        ...(reg.dockerConfig ? { dockerConfig: reg.dockerConfig } : {}),
        ...(reg.caFiles ? { caFiles: reg.caFiles } : {}),
        ...(reg.insecure ? { insecure: reg.insecure } : {}),
        ...(reg.retry ? { retry: reg.retry } : {}),
        ...(opts.onRegistryEvent ? { onEvent: opts.onRegistryEvent } : {}),
      });
      const r = await loadIntoRegistry({
        bundle: reader,
        images,
        client,
        registry: nodeRegistry,
        concurrency,
        dryRun,
        ...(opts.signal ? { signal: opts.signal } : {}),
        emit,
      });
      trace('load: registry phase done');
      result.registry = r;
      for (const i of r.images) if (i.error) failures.push({ image: i.image, target: `registry ${nodeRegistry.url}`, error: i.error });
      result.summary.registry = {
        url: r.url,
        images: r.images.length,
        pushed: r.images.filter((i) => i.status === 'pushed' || i.status === 'would-push').length,
        present: r.images.filter((i) => i.status === 'present').length,
        failed: r.images.filter((i) => i.status === 'failed').length,
        blobs: r.blobs,
        bytes: r.bytes,
      };
    }

    // A node whose registry did not get the images must not be pointed at it: stop here.
    if (failures.length && (opts.containerd || opts.configureContainerd)) {
      emit({ event: 'notice', message: 'containerd was left as it is because the registry did not get every image' });
    }
    if (!failures.length && opts.containerd) {
      const c = opts.containerd;
      const r = await loadIntoContainerd({
        bundle: reader,
        images,
        ...(c.socket ? { socket: c.socket } : {}),
        ...(c.ctr ? { ctr: c.ctr } : {}),
        ...(c.namespace ? { namespace: c.namespace } : {}),
        ...(c.unpack !== undefined ? { unpack: c.unpack } : {}),
        ...(c.platform ? { platform: c.platform } : {}),
        dryRun,
        ...(opts.signal ? { signal: opts.signal } : {}),
        emit,
      });
      result.containerd = r;
      for (const i of r.images) if (i.error) failures.push({ image: i.image, target: `containerd ${r.address}`, error: i.error });
      result.summary.containerd = {
        address: r.address,
        images: r.images.length,
        imported: r.images.filter((i) => i.status === 'imported' || i.status === 'would-import').length,
        present: r.images.filter((i) => i.status === 'present').length,
        failed: r.images.filter((i) => i.status === 'failed').length,
        pinned: r.pinned,
      };
    }

    if (failures.length && opts.configureContainerd && result.containerd) {
      emit({ event: 'notice', message: 'the containerd configuration was left as it is because not every image was imported' });
    }
    if (!failures.length && opts.configureContainerd && mirror) {
      const c = opts.configureContainerd;
      const sandbox = sandboxImageOf(images);
      const r = await configureContainerd({
        registries: [...new Set(images.map((i) => i.ref.registry))],
        mirror,
        ...(sandbox ? { sandboxImage: sandbox.name } : {}),
        ...(c.configPath ? { configPath: c.configPath } : {}),
        ...(c.hostsDir ? { hostsDir: c.hostsDir } : {}),
        ...(c.dropInPath ? { dropInPath: c.dropInPath } : {}),
        ...((c.caFile ?? opts.registry?.caFiles?.[0]) ? { caFile: c.caFile ?? opts.registry?.caFiles?.[0] } : {}),
        skipVerify: c.skipVerify ?? (mirror.origin.startsWith('https:') && (opts.registry?.insecure ?? []).some((h) => h === mirror.host || h === mirror.host.replace(/:\d+$/, ''))),
        ...(c.containerdVersion ? { containerdVersion: c.containerdVersion }
          : result.containerd ? { containerdVersion: result.containerd.version } : {}),
        ...(result.containerd ? { containerdAddress: result.containerd.address } : opts.containerd?.socket ? { containerdAddress: opts.containerd.socket } : {}),
        dryRun,
        emit,
      });
      result.config = r;
      result.summary.config = {
        changed: r.changed,
        unchanged: r.unchanged,
        ...(sandbox ? { sandboxImage: sandbox.name } : {}),
        restartNeeded: r.restartNeeded,
      };
    }

    const s = result.summary;
    s.changed = Boolean(
      (s.registry && (s.registry.pushed > 0 || s.registry.blobs.pushed > 0 || s.registry.blobs.mounted > 0)) ||
      (s.containerd && (s.containerd.imported > 0 || s.containerd.pinned.length > 0)) ||
      (s.config && s.config.changed.length > 0),
    );
    s.seconds = (Date.now() - started) / 1000;
    emit({ event: 'summary', summary: s });
    if (failures.length) throw new LoadFailedError(failures);
    return result;
  } finally {
    await client?.close().catch(() => undefined);
    await reader.close().catch(() => undefined);
  }
}
