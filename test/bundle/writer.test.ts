import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { BundleFileWriter } from '../../src/bundle/writer.js';
import { OutputBusyError, OutputSyncError, WriterStateError } from '../../src/bundle/writer-errors.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { BundleStreamWriter } from '../../src/bundle/writer-stream.js';
import { DigestMismatchError } from '../../src/content/errors.js';
import { copyBlob } from '../../src/content/copy-graph.js';
import { readAll } from '../../src/content/verify-stream.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { addImage, layerSource, planOf, readTar, sha256, TestRegistry, tempDir } from '../pack/helpers.js';

function fixture(layerSize = 3000) {
  const reg = new TestRegistry();
  const images = [
    addImage(reg, 'registry.k8s.io/kube-proxy:v1.30.14', { layers: 2, layerSize, shared: 'base' }),
    addImage(reg, 'registry.k8s.io/kube-apiserver:v1.30.14', { layers: 2, layerSize, shared: 'base' }),
  ];
  const plan = planOf(reg, images);
  const sources = layerSource(reg, images);
  return { reg, images, plan, sources };
}

/** A stream of a blob that dies after n bytes. */
function brokenAfter(data: Buffer, n: number): Readable {
  return Readable.from((async function* () {
    yield data.subarray(0, n);
    throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
  })());
}

async function writeAll(w: BundleFileWriter | BundleStreamWriter, f: ReturnType<typeof fixture>, order: 'forward' | 'reverse' = 'forward'): Promise<void> {
  const layers = order === 'forward' ? [...f.plan.layers] : [...f.plan.layers].reverse();
  await Promise.all(layers.map(async (e) => {
    if (!(await w.exists(e.descriptor!))) await copyBlob(f.sources.get(e.descriptor!.digest)!, w, e.descriptor!);
  }));
}

describe('BundleFileWriter', () => {
  it('writes every entry at its planned place, in any order, and only then names the file', async (t) => {
    const dir = await tempDir(t);
    const f = fixture();
    const out = join(dir, 'k8s.tar');
    const w = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created });
    await writeAll(w, f, 'reverse');
    assert.deepEqual((await readdir(dir)).sort(), ['k8s.tar.partial', 'k8s.tar.partial.json', 'k8s.tar.partial.lock']);
    await w.commit();
    assert.deepEqual(await readdir(dir), ['k8s.tar'], 'the partial file, its journal and its lock are gone');

    const tar = await readFile(out);
    assert.equal(tar.byteLength, f.plan.size);
    const entries = await readTar(tar);
    assert.deepEqual(entries.map((e) => e.name), f.plan.entries.map((e) => e.name));
    assert.deepEqual(entries.slice(0, 3).map((e) => e.name), ['airgap-bundle.json', 'oci-layout', 'index.json']);
    const kinds = f.plan.entries.map((e) => e.kind);
    assert.ok(kinds.lastIndexOf('manifest') < kinds.indexOf('config') && kinds.lastIndexOf('config') < kinds.indexOf('layer'));
    for (const e of entries.filter((x) => x.name.startsWith('blobs/'))) assert.equal(sha256(e.data), e.name.slice('blobs/sha256/'.length));
    const shared = f.images[0]!.manifests[0]!.layers[0]!.digest;
    assert.equal(entries.filter((e) => e.name.endsWith(shared.slice(7))).length, 1, 'a shared layer is stored once');
    const index = JSON.parse(entries[2]!.data.toString()) as { manifests: { annotations: Record<string, string> }[] };
    assert.deepEqual(index.manifests.map((m) => m.annotations['io.containerd.image.name']), [
      'registry.k8s.io/kube-apiserver:v1.30.14',
      'registry.k8s.io/kube-proxy:v1.30.14',
    ]);
  });

  it('keeps what a broken download brought, and continues it with the rest only', async (t) => {
    const dir = await tempDir(t);
    const f = fixture(200_000);
    const w = await BundleFileWriter.open(join(dir, 'b.tar'), f.plan, { created: f.plan.metadata.created });
    t.after(() => w.close());
    const desc = f.plan.layers[0]!.descriptor!;
    const data = f.sources.get(desc.digest)!.get(desc.digest)!;
    await assert.rejects(w.push(desc, brokenAfter(data, 70_000)), /connection reset/);
    const state = await w.ingestState(desc);
    assert.equal(state?.offset, 70_000);
    assert.equal(await w.exists(desc), false);
    await w.push(desc, Readable.from([data.subarray(70_000)]), { offset: 70_000, prefix: state!.prefix });
    assert.equal(await w.exists(desc), true);
    assert.ok((await readAll(await w.fetch(desc), desc.size)).equals(data), 'reads back whole');
  });

  it('refuses wrong bytes and keeps nothing of them', async (t) => {
    const dir = await tempDir(t);
    const f = fixture();
    const w = await BundleFileWriter.open(join(dir, 'b.tar'), f.plan, { created: f.plan.metadata.created });
    t.after(() => w.close());
    const desc = f.plan.layers[0]!.descriptor!;
    const bad = Buffer.from(f.sources.get(desc.digest)!.get(desc.digest)!);
    bad[10] ^= 1;
    await assert.rejects(w.push(desc, Readable.from([bad])), DigestMismatchError);
    assert.equal(await w.ingestState(desc), undefined, 'the next attempt starts from 0');
    assert.equal(await w.exists(desc), false);
    await assert.rejects(w.commit(), WriterStateError);
    assert.deepEqual((await readdir(dir)).filter((n) => n === 'b.tar'), [], 'nothing under the final name');
  });

  it('resumes an interrupted run: complete blobs are kept, a partial one continues, the result is identical', async (t) => {
    const dir = await tempDir(t);
    const f = fixture(150_000);
    const clean = join(dir, 'clean.tar');
    const w0 = await BundleFileWriter.open(clean, f.plan, { created: f.plan.metadata.created });
    await writeAll(w0, f);
    await w0.commit();

    const out = join(dir, 'resumed.tar');
    const w1 = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created, checkpointMs: 60_000 });
    const [first, second, third] = f.plan.layers.map((e) => e.descriptor!) as [Descriptor, Descriptor, Descriptor];
    await copyBlob(f.sources.get(first.digest)!, w1, first);
    const data = f.sources.get(second.digest)!.get(second.digest)!;
    await assert.rejects(w1.push(second, brokenAfter(data, 40_000)));
    await w1.close(); // as after Ctrl-C: a last checkpoint, the partial file stays
    assert.equal((await stat(`${out}.partial`)).size, f.plan.size);
    const journal = JSON.parse(await readFile(`${out}.partial.json`, 'utf8')) as { done: string[]; partial: Record<string, number> };
    assert.deepEqual(journal.done, [first.digest]);
    assert.deepEqual(journal.partial, { [second.digest]: 40_000 });

    const notices: string[] = [];
    const w2 = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created, onNotice: (code) => notices.push(code) });
    assert.deepEqual(notices, ['RESUMING']);
    assert.equal(w2.resumed.blobs, 1);
    assert.equal(w2.resumed.bytes, first.size + 40_000);
    assert.equal(await w2.exists(first), true);
    assert.equal(await w2.exists(third), false);
    const repo = f.sources.get(second.digest)!;
    repo.fetches.length = 0;
    await writeAll(w2, f);
    assert.deepEqual(repo.fetches.filter((x) => x.digest === second.digest).map((x) => x.offset), [40_000], 'a Range fetch for the rest');
    assert.equal(repo.fetches.some((x) => x.digest === first.digest), false, 'a finished blob is not fetched again');
    await w2.commit();
    assert.ok((await readFile(out)).equals(await readFile(clean)));
  });

  it('discards a partial file laid out for another plan, with a notice', async (t) => {
    const dir = await tempDir(t);
    const f = fixture();
    const out = join(dir, 'b.tar');
    const w1 = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created });
    await copyBlob(f.sources.get(f.plan.layers[0]!.descriptor!.digest)!, w1, f.plan.layers[0]!.descriptor!);
    await w1.close();
    const other = planOf(f.reg, f.images.slice(0, 1));
    const notices: string[] = [];
    const w2 = await BundleFileWriter.open(out, other, { created: other.metadata.created, onNotice: (code) => notices.push(code) });
    t.after(() => w2.close());
    assert.deepEqual(notices, ['PARTIAL_DISCARDED']);
    assert.equal(w2.resumed.blobs, 0);
    assert.equal((await stat(`${out}.partial`)).size, other.size);
  });

  it('refuses a second writer on the same output while the first is running', async (t) => {
    const dir = await tempDir(t);
    const f = fixture();
    const out = join(dir, 'b.tar');
    const w1 = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created });
    await assert.rejects(BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created }), (e: unknown) => {
      // The lock names this process, which is alive: busy.
      return e instanceof OutputBusyError || (e instanceof Error && /being written/.test(e.message));
    });
    await w1.close();
    // A lock left by a dead process is taken over.
    await writeFile(`${out}.partial.lock`, '999999999\n');
    const w2 = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created });
    await w2.close();
  });
});

/** A blob in 64 KiB chunks (as a socket brings it), dying after `failAt` bytes if given. */
function chunked(data: Buffer, failAt = data.byteLength): Readable {
  return Readable.from((async function* () {
    for (let i = 0; i < failAt; i += 64 * 1024) yield data.subarray(i, Math.min(i + 64 * 1024, failAt));
    if (failAt < data.byteLength) throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
  })());
}

/**
 * The partial file's fdatasync, counted (and not done for real: these tests are about when it is
 * asked for; every other test syncs for real); the calls listed in `hold` wait for `release()`.
 */
function countingSync(opts: { hold?: number[]; fail?: (call: number) => boolean } = {}) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const state = { calls: 0, running: 0, maxRunning: 0, held: 0, release };
  const sync = async (fh: FileHandle): Promise<void> => {
    const call = ++state.calls;
    state.running++;
    state.maxRunning = Math.max(state.maxRunning, state.running);
    try {
      if (opts.hold?.includes(call)) {
        state.held++;
        await gate;
        state.held--;
      }
      if (opts.fail?.(call)) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fdatasync' });
      void fh;
    } finally {
      state.running--;
    }
  };
  return { sync, state };
}

const turns = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('BundleFileWriter: flushing to disk', () => {
  it('flushes what is written in the background while blobs stream in, one flush at a time, without holding up the writes', async (t) => {
    const dir = await tempDir(t);
    const f = fixture(1_000_000);
    const out = join(dir, 'b.tar');
    // Call 1 is the checkpoint at open; call 2, the first background flush, is held until released.
    const { sync, state } = countingSync({ hold: [2] });
    const w = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created, checkpointMs: 60_000, flushEveryBytes: 256 * 1024, sync });
    assert.equal(state.calls, 1);
    const [first, ...rest] = f.plan.layers.map((e) => e.descriptor!);
    await w.push(first!, chunked(f.sources.get(first!.digest)!.get(first!.digest)!));
    assert.equal(state.calls, 2, 'a flush started after the first 512 KiB batch of a 1 MB blob');
    assert.equal(state.held, 1, 'and the blob was written whole while it was still running');
    state.release();
    for (const d of rest) await w.push(d, chunked(f.sources.get(d.digest)!.get(d.digest)!));
    assert.ok(w.backgroundFlushes >= 4, `${w.backgroundFlushes} background flushes for ~4 MB`);
    assert.equal(state.calls, 1 + w.backgroundFlushes, 'flushes before the commit: the one at open, then only background ones');
    await w.commit();
    assert.equal(state.maxRunning, 1, 'never two at once');
    const entries = await readTar(await readFile(out));
    for (const e of entries.filter((x) => x.name.startsWith('blobs/'))) assert.equal(sha256(e.data), e.name.slice('blobs/sha256/'.length));
  });

  it('a checkpoint claims only bytes a completed flush covers', async (t) => {
    const dir = await tempDir(t);
    const f = fixture(1_000_000);
    const out = join(dir, 'b.tar');
    const { sync, state } = countingSync({ hold: [2] });
    const w = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created, checkpointMs: 60_000, flushEveryBytes: 256 * 1024, sync });
    t.after(() => w.close());
    const desc = f.plan.layers[0]!.descriptor!;
    const data = f.sources.get(desc.digest)!.get(desc.digest)!;
    await assert.rejects(w.push(desc, chunked(data, 700_000)), /connection reset/);
    assert.equal(state.held, 1, 'the background flush of the first 512 KiB batch is still running');
    const checkpoint = w.checkpoint();
    await turns();
    const journal = (): Promise<{ partial: Record<string, number> }> => readFile(`${out}.partial.json`, 'utf8').then((s) => JSON.parse(s) as { partial: Record<string, number> });
    assert.deepEqual((await journal()).partial, {}, 'no journal claims the 700 000 bytes before they are flushed');
    assert.equal(state.calls, 2, 'the checkpoint waits for the running flush instead of starting a second one');
    state.release();
    await checkpoint;
    assert.equal(state.calls, 3, 'and then flushes the bytes written after that one started');
    assert.deepEqual((await journal()).partial, { [desc.digest]: 700_000 });
  });

  it('a failed flush fails the pack with an io error (not retried), and no later checkpoint claims anything', async (t) => {
    const dir = await tempDir(t);
    const f = fixture(1_000_000);
    const out = join(dir, 'b.tar');
    const { sync, state } = countingSync({ fail: (call) => call >= 2 });
    const w = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created, checkpointMs: 60_000, flushEveryBytes: 64 * 1024, sync });
    const desc = f.plan.layers[0]!.descriptor!;
    const data = f.sources.get(desc.digest)!.get(desc.digest)!;
    const fetches: number[] = [];
    const src = { fetch: async (_d: Descriptor, o: { offset?: number } = {}) => (fetches.push(o.offset ?? 0), chunked(data.subarray(o.offset ?? 0))) };
    let err: unknown;
    await copyBlob(src, w, desc, { retries: 3, retryDelayMs: 1 }).catch((e: unknown) => (err = e));
    assert.ok(err instanceof OutputSyncError, String(err));
    assert.equal(err.code, 'ERR_OUTPUT_SYNC');
    assert.equal(err.kind, 'io');
    assert.equal(exitCodeFor(err.kind), 3);
    assert.match(err.message, /b\.tar\.partial.*EIO/);
    assert.deepEqual(fetches, [0], 'a disk failure is not retried like a network one');
    await assert.rejects(w.checkpoint(), OutputSyncError);
    const calls = state.calls;
    await w.close();
    assert.equal(state.calls, calls, 'no fdatasync after the failure: it could succeed over lost pages');
    const journal = JSON.parse(await readFile(`${out}.partial.json`, 'utf8')) as { done: string[]; partial: Record<string, number> };
    assert.deepEqual([journal.done, journal.partial], [[], {}], 'the journal from before the failure stays');
  });

  it('a failed final flush fails the commit: nothing under the final name', async (t) => {
    const dir = await tempDir(t);
    const f = fixture();
    const out = join(dir, 'b.tar');
    let failing = false;
    const { sync } = countingSync({ fail: () => failing });
    const w = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created, checkpointMs: 60_000, flushEveryBytes: 0, sync });
    await writeAll(w, f);
    failing = true;
    await assert.rejects(w.commit(), (e: unknown) => e instanceof OutputSyncError && e.kind === 'io');
    await w.close();
    assert.deepEqual((await readdir(dir)).filter((n) => n === 'b.tar'), []);
  });
});

describe('BundleStreamWriter', () => {
  it('streams the same bytes as the file writer, even when pushes come out of order', async (t) => {
    const dir = await tempDir(t);
    const f = fixture(100_000);
    const out = join(dir, 'file.tar');
    const fw = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created });
    await writeAll(fw, f);
    await fw.commit();

    const sink = new PassThrough();
    const collected = readAll(sink, f.plan.size + 1);
    const sw = new BundleStreamWriter(sink, f.plan);
    await writeAll(sw, f, 'reverse');
    await sw.finish();
    sink.end();
    assert.ok((await collected).equals(await readFile(out)));
  });

  it('continues a broken download where it stopped, since sent bytes cannot be taken back', async () => {
    const f = fixture(100_000);
    const sink = new PassThrough();
    const collected = readAll(sink, f.plan.size + 1);
    const sw = new BundleStreamWriter(sink, f.plan);
    const desc = f.plan.layers[0]!.descriptor!;
    const data = f.sources.get(desc.digest)!.get(desc.digest)!;
    await assert.rejects(sw.push(desc, brokenAfter(data, 30_000)));
    const state = await sw.ingestState(desc);
    assert.equal(state?.offset, 30_000);
    await assert.rejects(sw.push(desc, Readable.from([data])), /already sent/, 'starting over would duplicate bytes');
    await sw.push(desc, Readable.from([data.subarray(30_000)]), { offset: 30_000, prefix: state!.prefix });
    await writeAll(sw, f);
    await sw.finish();
    sink.end();
    const entries = await readTar(await collected);
    assert.equal(entries.length, f.plan.entries.length);
    for (const e of entries.filter((x) => x.name.startsWith('blobs/'))) assert.equal(sha256(e.data), e.name.slice('blobs/sha256/'.length));
  });
});
