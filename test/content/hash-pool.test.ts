import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomFillSync, type Hash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { HashPool, HashThreadError, sharedBuffer, type HashPoolOptions, type OffThreadDigester } from '../../src/content/hash-pool.js';
import type { DigestAlgorithm } from '../../src/oci/digest.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** the compiled module, for child processes */
const moduleUrl = new URL('../../src/content/hash-pool.js', import.meta.url).href;
/** the package root (dist/test/content -> ../../..) */
const root = join(here, '..', '..', '..');

/** mulberry32: a small seeded generator, so a failing split pattern can be replayed */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SOURCE = randomFillSync(Buffer.allocUnsafe(4 * 1024 * 1024));
const SLAB = 1024 * 1024;

function hex(algorithm: DigestAlgorithm, ...parts: Uint8Array[]): string {
  const h = createHash(algorithm);
  for (const p of parts) h.update(p);
  return `${algorithm}:${h.digest('hex')}`;
}

/** The pool's internals, to check what it holds. */
interface ThreadView {
  worker: Worker;
  stagingInUse: number;
}
function threadsOf(pool: HashPool): ThreadView[] {
  return (pool as unknown as { threads: ThreadView[] }).threads;
}

/** Once everything is hashed, no staging segment is still taken (none leaked by aborts). */
async function assertStagingFree(pool: HashPool): Promise<void> {
  const used = (): number => threadsOf(pool).reduce((n, t) => n + t.stagingInUse, 0);
  for (let i = 0; i < 100 && used() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(used(), 0, 'staging segments still taken');
}

/** A connection's slab, filled front to back; a new one when the next read does not fit. */
interface Conn {
  slab: Buffer;
  used: number;
}

/** One blob being "downloaded" over a connection (some share one), and its reference hash. */
interface Stream {
  d: OffThreadDigester;
  ref: Hash;
  left: number;
  conn: Conn;
  aborted: boolean;
}

/**
 * Random split patterns: several digesters fed interleaved with chunks of random sizes (0 bytes,
 * a few bytes, up to 1.5 MiB), each chunk either the next bytes of the stream's SAB slab (contiguous,
 * as a socket fills one), a slice of a SAB elsewhere, or an ordinary Buffer that is overwritten right
 * after update() (a copy must have been taken). Now and then a producer waits for drained(), yields,
 * or aborts a stream. Every digest must equal createHash over the same bytes.
 */
async function scenario(pool: HashPool, rand: () => number, totalBudget: number): Promise<number> {
  const pickSize = (): number => {
    const r = rand();
    if (r < 0.08) return 0;
    if (r < 0.3) return 1 + Math.floor(rand() * 100);
    if (r < 0.75) return 1 + Math.floor(rand() * 64 * 1024);
    return 1 + Math.floor(rand() * 1.5 * SLAB);
  };
  const n = 1 + Math.floor(rand() * 6);
  const conns: Conn[] = Array.from({ length: 1 + Math.floor(rand() * n) }, () => ({ slab: sharedBuffer(SLAB), used: 0 }));
  const streams: Stream[] = [];
  for (let i = 0; i < n; i++) {
    const algorithm: DigestAlgorithm = rand() < 0.2 ? 'sha512' : 'sha256';
    const r = rand();
    const left = r < 0.3 ? Math.floor(rand() * 70 * 1024) : Math.floor(rand() * (totalBudget / n));
    streams.push({ d: pool.digester(algorithm), ref: createHash(algorithm), left, conn: conns[i % conns.length]!, aborted: false });
  }
  let hashed = 0;
  let active = streams.filter((s) => s.left > 0);
  while (active.length) {
    const s = active[Math.floor(rand() * active.length)]!;
    const size = Math.min(pickSize(), s.left);
    const kind = rand();
    let chunk: Uint8Array;
    const at = Math.floor(rand() * (SOURCE.length - size));
    if (kind < 0.55 && size <= SLAB) {
      // The slab pattern: the next bytes of the connection's slab; a new slab when it is used up.
      const c = s.conn;
      if (SLAB - c.used < size) {
        c.slab = sharedBuffer(SLAB);
        c.used = rand() < 0.3 ? Math.floor(rand() * (SLAB - size)) : 0;
      }
      if (rand() < 0.05) c.used += Math.min(SLAB - c.used - size, 7); // a gap: not contiguous
      chunk = c.slab.subarray(c.used, c.used + size);
      c.slab.fill(SOURCE.subarray(at, at + size), c.used, c.used + size);
      c.used += size;
    } else if (kind < 0.7) {
      const c = sharedBuffer(size + 16).subarray(8, 8 + size);
      c.set(SOURCE.subarray(at, at + size));
      chunk = c;
    } else {
      chunk = kind < 0.85 ? Buffer.from(SOURCE.subarray(at, at + size)) : new Uint8Array(SOURCE.subarray(at, at + size));
    }
    s.ref.update(chunk);
    s.d.update(chunk);
    if (!(chunk.buffer instanceof SharedArrayBuffer)) chunk.fill(0xa5); // the caller reuses its buffer
    s.left -= size;
    hashed += size;
    const r = rand();
    if (r < 0.03) {
      const max = Math.floor(rand() * 2 * SLAB);
      await s.d.drained(max);
      assert.ok(s.d.pending <= max, `pending ${s.d.pending} > ${max} after drained(${max})`);
    } else if (r < 0.06) await new Promise<void>((resolve) => setImmediate(resolve));
    else if (r < 0.065) {
      s.d.abort();
      s.aborted = true;
      s.left = 0;
    }
    if (s.left === 0) active = active.filter((x) => x !== s);
  }
  const results = await Promise.all(streams.map((s) => (s.aborted ? undefined : s.d.digest())));
  streams.forEach((s, i) => {
    if (s.aborted) return;
    assert.equal(results[i], `${s.d.algorithm}:${s.ref.digest('hex')}`, `stream ${i} of ${n}`);
  });
  return hashed;
}

describe('HashPool', () => {
  const pools: HashPool[] = [];
  const pool = (opts?: HashPoolOptions): HashPool => {
    const p = new HashPool(opts);
    pools.push(p);
    return p;
  };
  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  const configs: [string, HashPoolOptions, number][] = [
    ['one thread, defaults', {}, 1],
    ['two threads, nothing inline, no staging memory kept for reuse', { threads: 2, inlineBytes: 0, stagingBytes: 0 }, 2],
    ['one thread, up to 1 MiB inline', { inlineBytes: 1024 * 1024 }, 3],
  ];
  for (const [name, opts, seed] of configs) {
    it(`matches createHash for random split patterns: ${name}`, async () => {
      const p = pool(opts);
      const rand = seeded(seed);
      let bytes = 0;
      for (let i = 0; i < 12; i++) bytes += await scenario(p, rand, 8 * SLAB);
      assert.ok(bytes > 20 * SLAB, `only ${bytes} bytes exercised`);
      await assertStagingFree(p);
    });
  }

  it('keeps many interleaved digesters apart on one thread', async () => {
    const p = pool({ inlineBytes: 0 });
    const n = 64;
    const ds = Array.from({ length: n }, () => p.digester('sha256'));
    const parts: Buffer[][] = ds.map(() => []);
    for (let round = 0; round < 20; round++) {
      ds.forEach((d, i) => {
        const c = round % 2 ? sharedBuffer(4096 + i) : Buffer.alloc(4096 + i);
        c.fill(i * 31 + round);
        parts[i]!.push(Buffer.from(c));
        d.update(c);
      });
    }
    const got = await Promise.all(ds.map((d) => d.digest()));
    got.forEach((g, i) => assert.equal(g, hex('sha256', ...parts[i]!)));
    assert.equal(new Set(got).size, n);
  });

  it('hashes empty content', async () => {
    const p = pool({ inlineBytes: 0 });
    const d = p.digester('sha256');
    d.update(new Uint8Array(0));
    assert.equal(await d.digest(), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const e = p.digester('sha512');
    e.update(sharedBuffer(0));
    assert.equal(await e.digest(), hex('sha512'));
  });

  it('counts size and pending, and drained() waits for the thread', async () => {
    const p = pool({ inlineBytes: 0 });
    const slab = sharedBuffer(8 * SLAB);
    randomFillSync(slab);
    const d = p.digester('sha256');
    for (let i = 0; i < slab.length; i += 64 * 1024) d.update(slab.subarray(i, i + 64 * 1024));
    assert.equal(d.size, slab.length);
    assert.equal(d.pending, slab.length, 'nothing is hashed before the thread had a turn');
    await d.drained(2 * SLAB);
    assert.ok(d.pending <= 2 * SLAB);
    await d.drained(0);
    assert.equal(d.pending, 0);
    assert.equal(await d.digest(), hex('sha256', slab));
  });

  it('hashes a SharedArrayBuffer chunk in place, a plain chunk as it was at update()', async () => {
    const p = pool({ inlineBytes: 0 });
    // SAB: contiguous updates wait (coalesced, by reference) until digest(); what is hashed is
    // what the memory holds then — which is why callers must not rewrite a range they passed.
    const slab = sharedBuffer(300).fill(1);
    const d = p.digester('sha256');
    d.update(slab.subarray(0, 100));
    d.update(slab.subarray(100, 300));
    slab.fill(2);
    assert.equal(await d.digest(), hex('sha256', Buffer.alloc(300, 2)));
    // Plain memory is copied during update(): the caller may reuse it at once.
    const plain = Buffer.alloc(300, 1);
    const e = p.digester('sha256');
    e.update(plain.subarray(0, 100));
    e.update(plain.subarray(100));
    plain.fill(2);
    assert.equal(await e.digest(), hex('sha256', Buffer.alloc(300, 1)));
  });

  it('hashes small content on the caller thread without starting a thread', async () => {
    const p = pool();
    const d = p.digester('sha256');
    d.update(Buffer.from('{"config":true}'));
    assert.equal(await d.digest(), hex('sha256', Buffer.from('{"config":true}')));
    assert.equal(threadsOf(p).length, 0);
  });

  it('rejects update() after digest(), and a second digest()', async () => {
    const p = pool();
    const d = p.digester('sha256');
    d.update(Buffer.from('x'));
    await d.digest();
    assert.throws(() => d.update(Buffer.from('y')), /digester that is done/);
    await assert.rejects(d.digest(), /digester that is done/);
  });

  it('abort() rejects a waiting digest() and leaves the other digesters on the thread intact', async () => {
    const p = pool({ inlineBytes: 0 });
    const a = p.digester('sha256');
    const b = p.digester('sha256');
    const big = sharedBuffer(16 * SLAB);
    randomFillSync(big);
    a.update(big);
    const plain = randomFillSync(Buffer.alloc(16 * 1024));
    b.update(plain);
    a.update(plain); // a copy in a's staging segment, never posted: abort must give the segment back
    a.abort();
    assert.equal(a.pending, 0);
    const c = p.digester('sha256');
    c.update(big);
    const pc = c.digest();
    c.abort();
    await assert.rejects(pc, { name: 'AbortError' });
    for (let i = 0; i < 8; i++) b.update(plain);
    assert.equal(await b.digest(), hex('sha256', ...Array<Buffer>(9).fill(plain)));
    await assertStagingFree(p);
  });

  it('rejects waiting digests with HashThreadError when the thread dies, and starts a new one', async () => {
    const p = pool({ inlineBytes: 0 });
    p.start();
    const d = p.digester('sha256');
    const slab = sharedBuffer(SLAB);
    d.update(slab);
    const waiting = d.digest();
    const drain = p.digester('sha256');
    drain.update(Buffer.alloc(1000));
    await threadsOf(p)[0]!.worker.terminate();
    const failed = (e: unknown): boolean => e instanceof HashThreadError && e.code === 'ERR_HASH_THREAD' && /stopped unexpectedly/.test(e.message);
    await assert.rejects(waiting, failed);
    assert.throws(() => drain.update(Buffer.alloc(1)), failed);
    await assert.rejects(drain.drained(0), failed);
    const next = p.digester('sha256');
    next.update(slab);
    assert.equal(await next.digest(), hex('sha256', slab));
  });

  it('close() terminates the threads and rejects what still waits', async () => {
    const p = new HashPool({ inlineBytes: 0 });
    p.start();
    const d = p.digester('sha256');
    d.update(sharedBuffer(64 * SLAB));
    const waiting = assert.rejects(d.digest(), (e: unknown) => e instanceof HashThreadError && /closed/.test(e.message));
    await p.close();
    await waiting;
    assert.equal(threadsOf(p).length, 0);
    assert.throws(() => p.digester('sha256'), /closed/);
    await p.close();
  });

  it('does not keep an idle process alive, but does while a digest is awaited', async () => {
    // Started, used, never closed: the process still exits when its work is done.
    const idle = `import { HashPool, sharedBuffer } from ${JSON.stringify(moduleUrl)};
      const p = new HashPool({ inlineBytes: 0 }); p.start();
      const d = p.digester('sha256'); d.update(sharedBuffer(1 << 20).fill(7)); console.log(await d.digest());
      p.digester('sha256').update(Buffer.alloc(1 << 20)); // left unfinished`;
    const started = Date.now();
    const r = await run(process.execPath, ['--input-type=module', '-e', idle], { timeout: 10_000 });
    assert.equal(r.stdout.trim(), hex('sha256', Buffer.alloc(1 << 20, 7)));
    assert.ok(Date.now() - started < 5000);
    // Nothing but the awaited digest holds the loop: the result must still arrive (exit 13 otherwise).
    const waiting = `import { HashPool, sharedBuffer } from ${JSON.stringify(moduleUrl)};
      const p = new HashPool({ inlineBytes: 0 });
      const d = p.digester('sha256'); d.update(sharedBuffer(32 << 20).fill(7)); await d.drained(0); console.log(await d.digest());`;
    const w = await run(process.execPath, ['--input-type=module', '-e', waiting], { timeout: 10_000 });
    assert.equal(w.stdout.trim(), hex('sha256', Buffer.alloc(32 << 20, 7)));
  });

  it('works from an esbuild bundle, as the CLI ships (the thread runs from source text)', async () => {
    const esbuild = await import('esbuild');
    const dir = mkdtempSync(join(tmpdir(), 'airgap-hash-pool-'));
    try {
      const entry = join(dir, 'entry.ts');
      const outfile = join(dir, 'out.cjs');
      writeFileSync(
        entry,
        `import { HashPool, sharedBuffer } from ${JSON.stringify(join(root, 'src/content/hash-pool.ts'))};
        (async () => { const p = new HashPool({ inlineBytes: 0 }); const d = p.digester('sha256');
          d.update(sharedBuffer(3 << 20).fill(9)); d.update(Buffer.from('tail')); console.log(await d.digest()); await p.close(); })();`,
      );
      await esbuild.build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'silent' });
      const r = await run(process.execPath, [outfile], { timeout: 10_000 });
      assert.equal(r.stdout.trim(), hex('sha256', Buffer.alloc(3 << 20, 9), Buffer.from('tail')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
