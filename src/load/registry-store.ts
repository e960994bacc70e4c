import type { Readable } from 'node:stream';
import type { BundleReader } from '../bundle/reader.js';
import type { FetchOptions, Storage } from '../content/target.js';
import { readAll } from '../content/verify-stream.js';
import type { Descriptor } from '../oci/descriptor.js';
import { isManifestMediaType } from '../oci/media-type.js';
import { RegistryError } from '../registry/errors.js';
import type { Repository } from '../registry/repository.js';
import { ImageNotFoundError } from '../registry/errors.js';
import type { RegistryOutcome } from './events.js';

/**
 * The node registry as one copy destination: each piece of content lands in every repository that
 * needs it (a layer two images share is uploaded once and mounted into the other repository), an
 * image's top manifest lands under its tag, last. copyGraph walks each image into this store, so
 * the walk, its bounded parallelism and its in-flight dedupe are the same as pack's.
 */

/** One place a digest must be: a repository, and for an image's top manifest its tag. */
export interface Placement {
  repo: Repository;
  /** The tag (for an image's top manifest); undefined: by digest only. */
  tag?: string;
  /** The index to push instead when the registry refuses the original for its absent children. */
  reduced?: { descriptor: Descriptor; bytes: Buffer };
}

export interface RootResult {
  outcome: RegistryOutcome;
  /** The digest the tag now names, when it is not the bundle's (a reduced index). */
  servedDigest?: string;
}

/** A registry that checks an index's children refuses one whose children it lacks. */
export function isChildrenMissing(e: unknown): boolean {
  return e instanceof RegistryError && e.registryErrors.some((x) => x.code === 'MANIFEST_BLOB_UNKNOWN' || x.code === 'BLOB_UNKNOWN' || x.code === 'MANIFEST_UNKNOWN');
}

function key(p: Placement): string {
  return `${p.repo.name}|${p.tag ?? ''}`;
}

export class NodeRegistryStore implements Storage {
  readonly description: string;
  private readonly placements = new Map<string, Placement[]>();
  /** digest -> the placements exists() found missing, for the push that follows */
  private readonly missing = new Map<string, Placement[]>();
  /** digest -> repository name -> what happened */
  readonly outcomes = new Map<string, Map<string, RegistryOutcome>>();
  /** "repo|tag|digest" of a manifest -> what became of it */
  readonly roots = new Map<string, RootResult>();
  /** bytes uploaded per digest (mounts and present blobs count nothing) */
  readonly uploaded = new Map<string, number>();

  constructor(
    private readonly bundle: BundleReader,
    description: string,
    private readonly opts: { dryRun?: boolean; onReduced?(placement: Placement, original: Descriptor): void } = {},
  ) {
    this.description = description;
  }

  /** Register that `desc` must be in `repo` (under `tag` when given). */
  place(desc: Descriptor, placement: Placement): void {
    let list = this.placements.get(desc.digest);
    if (!list) this.placements.set(desc.digest, (list = []));
    if (!list.some((p) => key(p) === key(placement))) list.push(placement);
  }

  outcome(digest: string, repo: string): RegistryOutcome | undefined {
    return this.outcomes.get(digest)?.get(repo);
  }

  /** What became of a manifest in one placement (an image's top: under its tag). */
  rootResult(placement: Placement, digest: string): RootResult | undefined {
    return this.roots.get(`${key(placement)}|${digest}`);
  }

  private record(desc: Descriptor, p: Placement, outcome: RegistryOutcome, servedDigest?: string): void {
    let m = this.outcomes.get(desc.digest);
    if (!m) this.outcomes.set(desc.digest, (m = new Map()));
    // A tag placement and a digest placement in one repository: "pushed" wins over "present".
    const prev = m.get(p.repo.name);
    if (!prev || prev === 'present') m.set(p.repo.name, outcome);
    if (isManifestMediaType(desc.mediaType)) {
      this.roots.set(`${key(p)}|${desc.digest}`, { outcome, ...(servedDigest ? { servedDigest } : {}) });
    }
  }

  /** Is desc where p wants it: a tag naming the bundle's digest (or its reduced index), else the digest. */
  private async has(desc: Descriptor, p: Placement): Promise<{ ok: boolean; served?: string }> {
    if (p.tag === undefined) return { ok: await p.repo.exists(desc) };
    try {
      const got = await p.repo.resolve(p.tag);
      if (got.digest === desc.digest) return { ok: true };
      if (p.reduced && got.digest === p.reduced.descriptor.digest) return { ok: true, served: got.digest };
      return { ok: false };
    } catch (e) {
      if (e instanceof ImageNotFoundError) return { ok: false };
      throw e;
    }
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const all = this.placements.get(desc.digest) ?? [];
    const checks = await Promise.all(all.map((p) => this.has(desc, p)));
    let missing: Placement[] = [];
    all.forEach((p, i) => {
      const c = checks[i]!;
      if (c.ok) this.record(desc, p, 'present', c.served);
      else missing.push(p);
    });
    if (missing.length && !isManifestMediaType(desc.mediaType)) {
      const holder = all.find((_, i) => checks[i]!.ok);
      if (holder) {
        const still: Placement[] = [];
        for (const p of missing) {
          if (this.opts.dryRun) this.record(desc, p, 'would-mount');
          else if (await p.repo.mount(desc, holder.repo)) this.record(desc, p, 'mounted');
          else still.push(p);
        }
        missing = still;
      }
    }
    if (!missing.length) {
      this.missing.delete(desc.digest);
      return true;
    }
    this.missing.set(desc.digest, missing);
    return false;
  }

  /** For a dry run: what exists() found missing is what a real run would push. */
  wouldPush(desc: Descriptor): void {
    const missing = this.missing.get(desc.digest) ?? [];
    const manifest = isManifestMediaType(desc.mediaType);
    missing.forEach((p, i) => {
      // A blob is uploaded into the first repository and mounted into the others.
      this.record(desc, p, i === 0 || manifest ? 'would-push' : 'would-mount');
    });
    if (!manifest && missing.length) this.uploaded.set(desc.digest, desc.size);
  }

  async fetch(desc: Descriptor, opts?: FetchOptions): Promise<Readable> {
    return this.bundle.fetch(desc, opts);
  }

  async push(desc: Descriptor, content: Readable, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const targets = this.missing.get(desc.digest) ?? this.placements.get(desc.digest) ?? [];
    if (!targets.length) {
      content.destroy();
      return;
    }
    if (isManifestMediaType(desc.mediaType)) {
      const bytes = await readAll(content, desc.size);
      for (const p of targets) await this.pushManifest(desc, bytes, p, opts.signal);
    } else {
      const [first, ...rest] = targets as [Placement, ...Placement[]];
      await first.repo.push(desc, content, opts);
      this.uploaded.set(desc.digest, (this.uploaded.get(desc.digest) ?? 0) + desc.size);
      this.record(desc, first, 'pushed');
      for (const p of rest) {
        if (await p.repo.mount(desc, first.repo, opts)) {
          this.record(desc, p, 'mounted');
        } else {
          await p.repo.push(desc, await this.bundle.fetch(desc, { signal: opts.signal }), opts);
          this.uploaded.set(desc.digest, (this.uploaded.get(desc.digest) ?? 0) + desc.size);
          this.record(desc, p, 'pushed');
        }
      }
    }
    this.missing.delete(desc.digest);
  }

  /**
   * A manifest by digest, or an image's top by its tag. A registry that refuses an index whose
   * other platforms it lacks (distribution validates every child) gets the reduced index instead,
   * so the tag still serves every platform the bundle has.
   */
  private async pushManifest(desc: Descriptor, bytes: Buffer, p: Placement, signal?: AbortSignal): Promise<void> {
    const reference = p.tag ?? desc.digest;
    try {
      await p.repo.pushManifest(bytes, desc.mediaType, reference, { signal });
      this.record(desc, p, 'pushed');
    } catch (e) {
      if (!p.reduced || !isChildrenMissing(e)) throw e;
      await p.repo.pushManifest(p.reduced.bytes, p.reduced.descriptor.mediaType, p.tag ?? p.reduced.descriptor.digest, { signal });
      this.record(desc, p, 'pushed', p.reduced.descriptor.digest);
      this.opts.onReduced?.(p, desc);
    }
  }
}
