import type { BundleReader } from '../bundle/reader.js';
import { AirgapError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { isIndexMediaType } from '../oci/media-type.js';
import { formatPlatform, hostPlatform, platformCompatible, type Platform } from '../oci/platform.js';
import { Ctr, findCtr, findSocket, PINNED_LABEL, type CtrImage } from '../node/containerd/ctr.js';
import { ContainerdError } from './errors.js';
import type { LoadEvent } from './events.js';
import type { LoadImage } from '../bundle/images.js';
import { ociArchive } from './oci-archive.js';

/** load's second half: every image into containerd's k8s.io namespace, the pause image pinned. */

export { PINNED_LABEL } from '../node/containerd/ctr.js';
export { hostPlatform } from '../oci/platform.js';

export interface ContainerdImageResult {
  image: string;
  status: 'imported' | 'present' | 'would-import' | 'failed';
  /** the digest containerd's image record names (the bundle's, or its reduced index) */
  digest: string;
  platform: string;
  error?: AirgapError;
}

export interface ContainerdPhaseResult {
  address: string;
  command: string;
  /** containerd's version, e.g. "1.6.20~ds1" */
  version: string;
  images: ContainerdImageResult[];
  /** pause images pinned by this run (or that a dry run would pin) */
  pinned: string[];
  alreadyPinned: string[];
}

export interface ContainerdPhaseOptions {
  bundle: BundleReader;
  images: readonly LoadImage[];
  /** containerd's socket; default the first of the usual ones that exists */
  socket?: string;
  /** the ctr command, e.g. ["k3s", "ctr"]; default found on PATH */
  ctr?: string[];
  /** the node's own ctr when none is on PATH (RKE2's, in its data directory) */
  ctrFallback?: string[];
  namespace?: string;
  /** unpack into the snapshotter at import (default true, as ctr does) */
  unpack?: boolean;
  /** the platform containerd runs (default this machine's) */
  platform?: Platform;
  dryRun: boolean;
  signal?: AbortSignal;
  emit(e: LoadEvent): void;
}


/** What to import for one image: the root (original or reduced index), the platform, the blobs. */
interface ImportPlan {
  image: LoadImage;
  root: Descriptor;
  reduced: boolean;
  /** "--platform" value, when it is not this machine's */
  platform?: string;
  platformLabel: string;
  blobs: Descriptor[];
}

function subgraph(image: LoadImage, from: Descriptor, out: Map<string, Descriptor>): void {
  if (out.has(from.digest)) return;
  out.set(from.digest, from);
  for (const c of image.graph.children.get(from.digest) ?? []) subgraph(image, c, out);
}

/**
 * ctr imports an index for one platform (and what it runs: amd64 also takes 386, arm64 also arm):
 * it must find every such child. Only those children and their content travel; when the bundle
 * left out a child ctr would want, the reduced index (the bundle's platforms only) is imported.
 */
function planImport(image: LoadImage, host: Platform, emit: (e: LoadEvent) => void): ImportPlan {
  const root = image.descriptor;
  if (!isIndexMediaType(root.mediaType)) {
    const blobs = new Map<string, Descriptor>();
    subgraph(image, root, blobs);
    return { image, root, reduced: false, platformLabel: formatPlatform(host), blobs: [...blobs.values()] };
  }
  const held = image.graph.children.get(root.digest) ?? [];
  let platform: Platform = host;
  let flag: string | undefined;
  if (!held.some((c) => platformCompatible(host, c.platform))) {
    const first = held.find((c) => c.platform && c.platform.os !== 'unknown')?.platform;
    if (first) {
      platform = first;
      flag = formatPlatform(first);
      emit({
        event: 'warning',
        code: 'NO_HOST_PLATFORM',
        image: image.name,
        message: `the bundle has no ${formatPlatform(host)} content for ${image.name}; importing ${flag} (pack the bundle with --platform ${formatPlatform(host)} for this node)`,
      });
    }
  }
  const wanted = image.graph.absent.filter((c) => platformCompatible(platform, c.platform));
  const useReduced = wanted.length > 0 && image.reduced !== undefined;
  const blobs = new Map<string, Descriptor>();
  const top = useReduced ? image.reduced!.descriptor : root;
  blobs.set(top.digest, top);
  for (const c of held) if (platformCompatible(platform, c.platform)) subgraph(image, c, blobs);
  return { image, root: top, reduced: useReduced, ...(flag ? { platform: flag } : {}), platformLabel: formatPlatform(platform), blobs: [...blobs.values()] };
}

function asAirgapError(e: unknown): AirgapError {
  if (e instanceof AirgapError) return e;
  return new ContainerdError('ERR_CONTAINERD_IMPORT', (e as Error)?.message ?? String(e), 'see containerd\'s log for the cause', {}, e);
}

export async function loadIntoContainerd(opts: ContainerdPhaseOptions): Promise<ContainerdPhaseResult> {
  const socket = await findSocket(opts.socket);
  const command = await findCtr(socket, opts.ctr, opts.ctrFallback);
  const ctr = new Ctr(command, socket, opts.namespace ?? 'k8s.io');
  const version = await ctr.serverVersion();
  const host = opts.platform ?? hostPlatform();
  let existing = new Map((await ctr.images()).map((i) => [i.name, i] as const));
  const results: ContainerdImageResult[] = [];

  for (const image of opts.images) {
    const plan = planImport(image, host, opts.emit);
    const have: CtrImage | undefined = existing.get(image.name);
    const known: string[] = [image.descriptor.digest, ...(image.reduced ? [image.reduced.descriptor.digest] : [])];
    let result: ContainerdImageResult;
    if (have && known.includes(have.digest)) {
      result = { image: image.name, status: 'present', digest: have.digest, platform: plan.platformLabel };
    } else if (opts.dryRun) {
      result = { image: image.name, status: 'would-import', digest: plan.root.digest, platform: plan.platformLabel };
    } else {
      try {
        if (plan.reduced) {
          opts.emit({
            event: 'warning',
            code: 'INDEX_REDUCED',
            image: image.name,
            message: `the bundle left out platforms of ${image.name} that containerd would want on ${plan.platformLabel}; ` +
              `importing an index of the bundle's platforms only (${plan.root.digest}) instead of ${image.descriptor.digest}`,
          });
        }
        const extra = plan.reduced ? new Map([[plan.root.digest, image.reduced!.bytes]]) : undefined;
        const archive = ociArchive(opts.bundle, [{ name: image.name, descriptor: plan.root, blobs: plan.blobs, ...(extra ? { extra } : {}) }], opts.signal ? { signal: opts.signal } : {});
        await ctr.import(archive, {
          ...(plan.platform ? { platform: plan.platform } : {}),
          unpack: opts.unpack ?? true,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        result = { image: image.name, status: 'imported', digest: plan.root.digest, platform: plan.platformLabel };
      } catch (e) {
        result = { image: image.name, status: 'failed', digest: plan.root.digest, platform: plan.platformLabel, error: asAirgapError(e) };
      }
    }
    results.push(result);
  }

  // What containerd holds now, not what ctr printed: every imported name must name its digest.
  if (!opts.dryRun && results.some((r) => r.status === 'imported')) {
    existing = new Map((await ctr.images()).map((i) => [i.name, i] as const));
    for (const r of results) {
      if (r.status !== 'imported') continue;
      const got = existing.get(r.image);
      if (!got || got.digest !== r.digest) {
        r.status = 'failed';
        r.error = new ContainerdError('ERR_CONTAINERD_IMPORT_MISSING', `after import, containerd ${got ? `names ${got.digest} as ${r.image}` : `has no image ${r.image}`}, expected ${r.digest}`,
          'see containerd\'s log (journalctl -u containerd); check that nothing else rewrote the image', { image: r.image, expected: r.digest, got: got?.digest });
      }
    }
  }
  for (const r of results) {
    opts.emit({
      event: 'containerd-image',
      image: r.image,
      status: r.status,
      digest: r.digest,
      platform: r.platform,
      ...(r.error ? { error: r.error.message } : {}),
    });
  }

  const pinned: string[] = [];
  const alreadyPinned: string[] = [];
  const pauses = opts.images.filter((i) => i.pause && results.find((r) => r.image === i.name)?.status !== 'failed');
  for (const p of pauses) {
    const rec = existing.get(p.name);
    if (rec?.labels[PINNED_LABEL] === 'pinned') {
      alreadyPinned.push(p.name);
      opts.emit({ event: 'containerd-pin', image: p.name, status: 'already-pinned' });
    } else if (opts.dryRun) {
      pinned.push(p.name);
      opts.emit({ event: 'containerd-pin', image: p.name, status: 'would-pin' });
    } else {
      await ctr.label(p.name, PINNED_LABEL, 'pinned');
      pinned.push(p.name);
    }
  }
  if (!opts.dryRun && pinned.length) {
    const now = new Map((await ctr.images()).map((i) => [i.name, i] as const));
    for (const name of pinned) {
      if (now.get(name)?.labels[PINNED_LABEL] !== 'pinned') {
        throw new ContainerdError('ERR_PIN_FAILED', `containerd did not keep the label ${PINNED_LABEL}=pinned on ${name}`,
          `label it by hand: ${command.label} -n k8s.io images label ${name} ${PINNED_LABEL}=pinned`, { image: name });
      }
      opts.emit({ event: 'containerd-pin', image: name, status: 'pinned' });
    }
  }
  return { address: socket, command: command.label, version, images: results, pinned, alreadyPinned };
}
