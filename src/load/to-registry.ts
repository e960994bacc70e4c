import pLimit from 'p-limit';
import { trace } from '../trace.js';
import type { BundleReader } from '../bundle/reader.js';
import { copyGraph } from '../content/copy-graph.js';
import { AirgapError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { isManifestMediaType } from '../oci/media-type.js';
import type { RegistryClient } from '../registry/client.js';
import { ImageNotFoundError } from '../registry/errors.js';
import type { Repository } from '../registry/repository.js';
import type { BlobCounts, LoadEvent } from './events.js';
import type { LoadImage } from '../bundle/images.js';
import { destinationName, type NodeRegistry } from './registry-url.js';
import { NodeRegistryStore, type Placement } from './registry-store.js';

/** load's first half: every image of the bundle into the node registry, under its source name. */

/** The registry-image event's fields, with the error itself rather than its message. */
export interface RegistryImageResult extends Omit<Extract<LoadEvent, { event: 'registry-image' }>, 'event' | 'error'> {
  error?: AirgapError;
}

export interface RegistryPhaseResult {
  url: string;
  images: RegistryImageResult[];
  blobs: BlobCounts;
  bytes: number;
}

export interface RegistryPhaseOptions {
  bundle: BundleReader;
  images: readonly LoadImage[];
  client: RegistryClient;
  registry: NodeRegistry;
  concurrency: number;
  dryRun: boolean;
  signal?: AbortSignal;
  emit(e: LoadEvent): void;
}

function asAirgapError(e: unknown): AirgapError {
  if (e instanceof AirgapError) return e;
  return new AirgapError('ERR_INTERNAL', 'internal', (e as Error)?.message ?? String(e), { cause: e });
}

export async function loadIntoRegistry(opts: RegistryPhaseOptions): Promise<RegistryPhaseResult> {
  const { bundle, images, client, registry } = opts;
  const repos = new Map<string, Repository>();
  const repoOf = (img: LoadImage): Repository => {
    const name = img.ref.name;
    let r = repos.get(name);
    if (!r) repos.set(name, (r = client.repository(img.ref, { push: true })));
    return r;
  };
  const store = new NodeRegistryStore(bundle, `node registry ${registry.url}`, {
    dryRun: opts.dryRun,
    onReduced: (p, original) => {
      const img = images.find((i) => i.descriptor.digest === original.digest && repoOf(i) === p.repo);
      opts.emit({
        event: 'warning',
        code: 'INDEX_REDUCED',
        ...(img ? { image: img.name } : {}),
        message: `${registry.host} refused the index of ${img?.name ?? original.digest} because it lacks the platforms the bundle left out; ` +
          `pushed an index of the bundle's platforms only (${p.reduced!.descriptor.digest}) — pulls by tag work, pulls by the original digest ${original.digest} do not`,
      });
    },
  });

  // Every placement first: the store must know all repositories that need a blob before the first copy.
  const tops = new Map<LoadImage, Placement>();
  for (const img of images) {
    const repo = repoOf(img);
    const top: Placement = { repo, ...(img.ref.tag ? { tag: img.ref.tag } : {}), ...(img.reduced ? { reduced: img.reduced } : {}) };
    tops.set(img, top);
    store.place(img.descriptor, top);
    for (const n of img.graph.nodes.slice(1)) store.place(n, { repo });
  }

  // One question first: an unreachable registry, refused credentials or a TLS problem is said
  // once, not once per image.
  if (images.length) await preflight(tops.get(images[0]!)!, opts.signal);
  trace('load: registry preflight');

  const limit = pLimit(opts.concurrency);
  const inFlight = new Map<string, Promise<void>>();
  // Largest first: the uploads queue in this order, and the last one to finish should be small.
  const successors = async (d: Descriptor): Promise<Descriptor[]> => {
    for (const img of images) {
      const kids = img.graph.children.get(d.digest);
      if (kids) return [...kids].sort((a, b) => b.size - a.size);
    }
    return [];
  };

  const results = await Promise.all(images.map(async (img): Promise<RegistryImageResult> => {
    const top = tops.get(img)!;
    const destination = destinationName(registry, img.ref.registry, img.ref.repository, img.ref.tag ?? img.descriptor.digest);
    let error: AirgapError | undefined;
    try {
      if (opts.dryRun) await dryWalk(store, img, limit);
      else {
        await copyGraph(bundle, store, img.descriptor, {
          limit,
          inFlight,
          successors,
          ...(opts.signal ? { signal: opts.signal } : {}),
          onProgress: (d, n) => opts.emit({ event: 'blob-progress', digest: d.digest, bytes: n }),
        });
      }
    } catch (e) {
      error = asAirgapError(e);
    }
    const repoName = top.repo.name;
    const blobs: BlobCounts = { pushed: 0, mounted: 0, present: 0 };
    let bytes = 0;
    const root = store.rootResult(top, img.descriptor.digest);
    for (const n of img.graph.nodes) {
      if (isManifestMediaType(n.mediaType)) continue;
      // A top already in place was skipped with its whole graph: everything under it is there.
      const o = root?.outcome === 'present' ? 'present' : store.outcome(n.digest, repoName);
      if (o === 'pushed' || o === 'would-push') {
        blobs.pushed++;
        bytes += n.size;
      } else if (o === 'mounted' || o === 'would-mount') blobs.mounted++;
      else if (o === 'present') blobs.present++;
    }
    const status: RegistryImageResult['status'] = error ? 'failed'
      : root?.outcome === 'present' ? 'present'
        : opts.dryRun ? 'would-push' : 'pushed';
    const fields: Omit<RegistryImageResult, 'error'> = {
      image: img.name,
      destination,
      status,
      digest: img.descriptor.digest,
      ...(root?.servedDigest ? { servedDigest: root.servedDigest } : {}),
      blobs,
      bytes,
    };
    opts.emit({ event: 'registry-image', ...fields, ...(error ? { error: error.message } : {}) });
    return { ...fields, ...(error ? { error } : {}) };
  }));

  const total: BlobCounts = { pushed: 0, mounted: 0, present: 0 };
  const seen = new Set<string>();
  let bytes = 0;
  for (const img of images) {
    const top = tops.get(img)!;
    const repoName = top.repo.name;
    const rootPresent = store.rootResult(top, img.descriptor.digest)?.outcome === 'present';
    for (const n of img.graph.nodes) {
      if (isManifestMediaType(n.mediaType) || seen.has(`${repoName}|${n.digest}`)) continue;
      seen.add(`${repoName}|${n.digest}`);
      const o = rootPresent ? 'present' : store.outcome(n.digest, repoName);
      if (o === 'pushed' || o === 'would-push') total.pushed++;
      else if (o === 'mounted' || o === 'would-mount') total.mounted++;
      else if (o === 'present') total.present++;
    }
  }
  for (const n of store.uploaded.values()) bytes += n;
  return { url: registry.url, images: results, blobs: total, bytes };
}

async function preflight(top: Placement, signal?: AbortSignal): Promise<void> {
  try {
    await top.repo.resolve(top.tag ?? 'latest', signal ? { signal } : {});
  } catch (e) {
    if (!(e instanceof ImageNotFoundError)) throw e;
  }
}

/** A dry run asks the registry what it has (HEAD, resolve) and changes nothing. */
async function dryWalk(store: NodeRegistryStore, img: LoadImage, limit: ReturnType<typeof pLimit>): Promise<void> {
  const visit = async (d: Descriptor): Promise<void> => {
    if (await limit(() => store.exists(d))) return;
    await Promise.all((img.graph.children.get(d.digest) ?? []).map(visit));
    store.wouldPush(d);
  };
  await visit(img.descriptor);
}
