import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { copyBlob, copyGraph, retryKind } from '../../src/content/copy-graph.js';
import { DigestMismatchError, NotFoundError } from '../../src/content/errors.js';
import { MemoryStore } from '../../src/content/memory-store.js';
import type { IngestState, ResumablePushOptions, ResumableStorage } from '../../src/content/resumable.js';
import { readAll } from '../../src/content/verify-stream.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { Digester } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-type.js';
import { platformMatches } from '../../src/oci/platform.js';
import { addImage, bytes, TestRegistry } from '../pack/helpers.js';

/** A MemoryStore that records the order of pushes. */
class RecordingStore extends MemoryStore {
  readonly pushed: string[] = [];
  override async push(desc: Descriptor, content: Readable): Promise<void> {
    await super.push(desc, content);
    this.pushed.push(desc.digest);
  }
}

/** The simplest resumable destination: keeps the bytes of a failed push. */
class ResumableMemory extends MemoryStore implements ResumableStorage {
  readonly partial = new Map<string, Buffer>();
  async ingestState(desc: Descriptor): Promise<IngestState | undefined> {
    const p = this.partial.get(desc.digest);
    if (!p?.byteLength) return undefined;
    const prefix = new Digester();
    prefix.update(p);
    return { offset: p.byteLength, prefix };
  }
  override async push(desc: Descriptor, content: Readable, opts: ResumablePushOptions = {}): Promise<void> {
    const have = opts.offset ? this.partial.get(desc.digest)!.subarray(0, opts.offset) : Buffer.alloc(0);
    const chunks = [have];
    try {
      for await (const c of content) chunks.push(c as Buffer);
    } finally {
      this.partial.set(desc.digest, Buffer.concat(chunks));
    }
    const whole = this.partial.get(desc.digest)!;
    this.partial.delete(desc.digest);
    const d = this.put(desc.mediaType, whole);
    if (d.digest !== desc.digest) throw new DigestMismatchError(desc.digest, d.digest, 'test');
  }
}

function graph() {
  const reg = new TestRegistry();
  const a = addImage(reg, 'example.com/app:1', { platforms: ['linux/amd64', 'linux/arm64'], shared: 'base' });
  const repo = reg.repo('example.com/app');
  // A second root in the same repository sharing the base layer of each platform.
  const b = addImage(reg, 'example.com/app:2', { platforms: ['linux/amd64', 'linux/arm64'], shared: 'base' });
  return { repo, a, b };
}

describe('copyGraph', () => {
  it('the signal every transfer listens on takes any number of listeners (no MaxListenersExceededWarning at --concurrency 16)', async () => {
    const { repo, a } = graph();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    let listened = false;
    const dst = new (class extends RecordingStore {
      override async push(desc: Descriptor, content: Readable, opts?: { signal?: AbortSignal }): Promise<void> {
        // what 16 transfers in flight do: each listens on the one signal
        const fns = Array.from({ length: 16 }, () => (): void => {});
        for (const f of fns) opts?.signal?.addEventListener('abort', f);
        listened ||= opts?.signal !== undefined;
        await super.push(desc, content);
        for (const f of fns) opts?.signal?.removeEventListener('abort', f);
      }
    })('dst');
    try {
      await copyGraph(repo, dst, a.index!, { concurrency: 16, signal: new AbortController().signal });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.ok(listened, 'pushes get the signal');
    assert.deepEqual(warnings.map((w) => w.name), []);
  });

  it('copies children before parents, each blob once, also across roots sharing a limiter', async () => {
    const { repo, a, b } = graph();
    const dst = new RecordingStore('dst');
    const limit = pLimit(3);
    const inFlight = new Map<string, Promise<void>>();
    const stats = await Promise.all([
      copyGraph(repo, dst, a.index!, { limit, inFlight }),
      copyGraph(repo, dst, b.index!, { limit, inFlight }),
    ]);
    assert.equal(new Set(dst.pushed).size, dst.pushed.length, 'no blob pushed twice');
    const shared = a.manifests[0]!.layers[0]!.digest;
    assert.equal(b.manifests[0]!.layers[0]!.digest, shared);
    for (const img of [a, b]) {
      const at = (d: string): number => dst.pushed.indexOf(d);
      for (const m of img.manifests) {
        for (const child of [m.config, ...m.layers]) assert.ok(at(child.digest) >= 0 && at(child.digest) < at(m.manifest.digest));
        assert.ok(at(m.manifest.digest) < at(img.index!.digest));
      }
    }
    assert.equal(stats[0]!.copied + stats[1]!.copied, dst.pushed.length);
  });

  it('skips what the destination has, and follows only the children the filter allows', async () => {
    const { repo, a } = graph();
    const dst = new RecordingStore('dst');
    const amd64 = a.manifests.find((m) => m.platform === 'linux/amd64')!;
    const arm64 = a.manifests.find((m) => m.platform === 'linux/arm64')!;
    const skipped: string[] = [];
    await copyGraph(repo, dst, a.index!, {
      filter: (d, parent) => parent.mediaType !== MediaType.OciIndex || platformMatches({ os: 'linux', architecture: 'amd64' }, d.platform),
      onSkipped: (d) => skipped.push(d.digest),
    });
    assert.ok(dst.pushed.includes(amd64.manifest.digest));
    assert.ok(!dst.pushed.includes(arm64.manifest.digest) && !dst.pushed.includes(arm64.config.digest));
    dst.pushed.length = 0;
    await copyGraph(repo, dst, a.index!);
    assert.deepEqual(skipped, []);
    assert.ok(!dst.pushed.includes(a.index!.digest), 'the root is there already: nothing below it is looked at');
    assert.deepEqual(dst.pushed, []);
  });

  it('does not deadlock on a deep graph with one slot', async () => {
    const { repo, a } = graph();
    const outer = repo.putManifest(MediaType.OciIndex, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [a.index] });
    const dst = new RecordingStore('dst');
    await copyGraph(repo, dst, outer, { concurrency: 1 });
    assert.equal(dst.pushed[dst.pushed.length - 1], outer.digest);
    assert.ok(dst.pushed.includes(a.index!.digest));
  });

  it('stops at the first failure and reports it', async () => {
    const { repo, a } = graph();
    const gone = a.manifests[1]!.layers[1]!;
    repo.delete(gone.digest);
    const dst = new RecordingStore('dst');
    await assert.rejects(copyGraph(repo, dst, a.index!, { concurrency: 2 }), (e: unknown) => e instanceof NotFoundError && e.message.includes(gone.digest));
    assert.ok(!dst.pushed.includes(a.index!.digest), 'a parent is never pushed without its children');
  });
});

describe('copyBlob', () => {
  it('continues a broken download from where the destination stopped', async () => {
    const reg = new TestRegistry();
    const repo = reg.repo('example.com/big');
    const data = bytes('big', 300_000);
    const desc = repo.put(MediaType.OciLayerGzip, data);
    repo.breakAfter.set(desc.digest, 120_000);
    const dst = new ResumableMemory('dst');
    const retries: number[] = [];
    const r = await copyBlob(repo, dst, desc, { retryDelayMs: 1, onRetry: (_d, _e, _n, offset) => retries.push(offset) });
    // What the destination had taken when the link broke (bytes still in a stream buffer are lost).
    const resumedAt = repo.fetches[1]!.offset;
    assert.equal(repo.fetches.length, 2);
    assert.equal(repo.fetches[0]!.offset, 0);
    assert.ok(resumedAt > 60_000 && resumedAt <= 120_000, `resumed at ${resumedAt}`);
    assert.deepEqual(retries, [resumedAt]);
    assert.equal(r.fetched, 300_000 + (120_000 - resumedAt));
    assert.equal(r.attempts, 2);
    assert.ok((await readAll(await dst.fetch(desc), desc.size)).equals(data));
  });

  it('starts again from 0 for a destination that cannot resume', async () => {
    const reg = new TestRegistry();
    const repo = reg.repo('example.com/big');
    const desc = repo.put(MediaType.OciLayerGzip, bytes('big', 50_000));
    repo.breakAfter.set(desc.digest, 10_000);
    const dst = new MemoryStore('dst');
    await copyBlob(repo, dst, desc, { retryDelayMs: 1 });
    assert.deepEqual(repo.fetches.map((f) => f.offset), [0, 0]);
    assert.equal(await dst.exists(desc), true);
  });

  it('does not retry what cannot get better', async () => {
    const repo = new TestRegistry().repo('example.com/x');
    const desc = { mediaType: MediaType.OciLayerGzip, digest: `sha256:${'0'.repeat(64)}`, size: 3 } as Descriptor;
    await assert.rejects(copyBlob(repo, new MemoryStore(), desc, { retryDelayMs: 1 }), NotFoundError);
    assert.equal(repo.fetches.length, 1);
    assert.equal(retryKind(new NotFoundError('x', 'y', 'remote')), undefined);
    assert.equal(retryKind(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), 'resume');
    assert.equal(retryKind(new DigestMismatchError('a', 'b', 'c')), 'restart');
  });
});
