#!/usr/bin/env node
/**
 * What HashPool saves the main thread: a pack's worth of bytes (343 MiB) arriving as 64 KiB–1 MiB
 * socket reads into 1 MiB slabs, a new slab whenever less than 64 KiB is left, as the h1 client
 * does (4 downloads interleaved, a turn of the event loop between reads), hashed inline with
 * createHash or handed to a HashPool thread (slabs that are SharedArrayBuffers, or copies).
 *
 *   npx tsc -p . && node scripts/hash-pool-bench.mjs [--reps 5] [--mib 343] [--work 0,1.8]
 *
 * --work: milliseconds of other main-thread work per MiB (a busy loop), as a download's main thread
 * has (parsing, the bundle writer); 0 shows hashing alone, where the thread is the bottleneck.
 *
 * Each (mode, repetition) runs in a child process of its own (peak RSS per mode), modes interleaved;
 * medians printed. Main-thread CPU comes from /proc/self/task/<pid>/schedstat (the main thread only;
 * process.cpuUsage() counts every thread). Not part of `npm run bench`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const MIB = 1024 * 1024;
const SLAB = MIB;
const MIN_READ = 64 * 1024;
const STREAMS = 4;

const mainCpuNs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** deterministic read sizes, 64 KiB–1 MiB */
function sizes(seed) {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return MIN_READ + (a % (SLAB - MIN_READ + 1));
  };
}

/** Stand-in for the main thread's other work per downloaded byte (parsing, the bundle writer). */
function spin(ns) {
  const end = process.hrtime.bigint() + BigInt(Math.round(ns));
  while (process.hrtime.bigint() < end);
}

/**
 * Modes: none (no hashing), inline (createHash), pool-sab (slabs are SharedArrayBuffers, hashed in
 * place), pool-copy (ordinary slabs, copied into the pool's staging segments), pool-sab-reused
 * (SAB slabs from a recycled set of 24: what by-reference costs when slabs are not allocated anew).
 */
async function child(mode, mib, workMsPerMiB) {
  const { HashPool, sharedBuffer } = await import('../dist/src/content/hash-pool.js');
  // What the socket delivers: deterministic bytes, copied into the slab per read as the kernel's
  // recv does (the same cost in every mode, and the chunk is as warm in cache as a real one).
  let x = 2463534242;
  const SRC = Buffer.allocUnsafeSlow(4 * MIB);
  const w = new Uint32Array(SRC.buffer, 0, SRC.length / 4);
  for (let i = 0; i < w.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    w[i] = x;
  }
  const shared = mode.startsWith('pool-sab');
  const recycled = mode === 'pool-sab-reused' ? Array.from({ length: 24 }, () => sharedBuffer(SLAB)) : undefined;
  let slabsMade = 0;
  // As the h1 client: a new 1 MiB slab once less than 64 KiB is left in the current one.
  const newSlab = () => (recycled ? recycled[slabsMade++ % recycled.length] : shared ? sharedBuffer(SLAB) : Buffer.allocUnsafeSlow(SLAB));
  const pool = mode.startsWith('pool') ? new HashPool() : undefined;
  pool?.start();
  await new Promise((r) => setTimeout(r, 100)); // the thread has booted before the clock starts
  let messages = 0;
  if (pool) {
    const t = pool.threads[0];
    const post = t.worker.postMessage.bind(t.worker);
    t.worker.postMessage = (m, tr) => {
      if (m.op === 'data') messages++;
      return post(m, tr);
    };
  }
  const per = Math.floor((mib * MIB) / STREAMS);
  const streams = Array.from({ length: STREAMS }, (_, i) => ({
    left: per,
    src: i * 997 * 1024,
    slab: newSlab(),
    used: 0,
    size: sizes(i + 1),
    h: mode === 'inline' ? createHash('sha256') : pool?.digester('sha256'),
  }));
  let updateNs = 0n;
  let peakRss = 0;
  const cpu0 = mainCpuNs();
  const all0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let live = streams.length;
  for (let round = 0; live > 0; round++) {
    for (const s of streams) {
      if (s.left === 0) continue;
      if (SLAB - s.used < MIN_READ) {
        s.slab = newSlab();
        s.used = 0;
      }
      const n = Math.min(s.size(), SLAB - s.used, s.left);
      if (s.src + n > SRC.length) s.src = 0;
      // fill, not copy: a JS copy into a SAB is ~20x slower than the kernel's memcpy (see hash-pool.ts)
      s.slab.fill(SRC.subarray(s.src, s.src + n), s.used, s.used + n);
      s.src += n;
      const chunk = s.slab.subarray(s.used, s.used + n);
      s.used += n;
      s.left -= n;
      if (workMsPerMiB > 0) spin((n / MIB) * workMsPerMiB * 1e6);
      if (s.h) {
        const u0 = process.hrtime.bigint();
        s.h.update(chunk);
        updateNs += process.hrtime.bigint() - u0;
        // What a download loop would do: stop reading while the thread is 4 MiB behind.
        if (pool && s.h.pending > 4 * MIB) await s.h.drained(2 * MIB);
      }
      if (s.left === 0) live--;
    }
    if (round % 16 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
    await turn(); // the next socket reads come on a later turn
  }
  const digests = [];
  for (const s of streams) digests.push(s.h === undefined ? '' : pool ? await s.h.digest() : `sha256:${s.h.digest('hex')}`);
  const wallNs = process.hrtime.bigint() - t0;
  const cpu1 = mainCpuNs();
  const all = process.cpuUsage(all0);
  await pool?.close();
  process.stdout.write(
    JSON.stringify({
      mode,
      wallMs: Number(wallNs) / 1e6,
      mainCpuMs: (cpu1 - cpu0) / 1e6,
      allCpuMs: (all.user + all.system) / 1000,
      updateMs: Number(updateNs) / 1e6,
      messages,
      maxRssMiB: Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / MIB,
      digests,
    }),
  );
}

/** Main-thread cost of one message: tiny updates that are never contiguous, so each one is posted. */
async function messageCost() {
  const { HashPool, sharedBuffer } = await import('../dist/src/content/hash-pool.js');
  const pool = new HashPool({ inlineBytes: 0 });
  pool.start();
  await new Promise((r) => setTimeout(r, 100));
  const slab = sharedBuffer(SLAB).fill(1);
  const N = 20000;
  const out = {};
  for (const [name, fn] of [
    ['sab-64B-per-message', (d, i) => d.update(slab.subarray((i * 128) % (SLAB - 64), ((i * 128) % (SLAB - 64)) + 64))],
    ['copy-16KiB-staged', (d, i, plain) => d.update(plain)],
  ]) {
    const plain = Buffer.alloc(16 * 1024, 3);
    const d = pool.digester('sha256');
    const cpu0 = mainCpuNs();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      fn(d, i, plain);
      if (i % 64 === 63) await d.drained(0); // acks flow as in a real loop
    }
    await d.digest();
    out[name] = { wallUsPerUpdate: Number(process.hrtime.bigint() - t0) / 1e3 / N, mainCpuUsPerUpdate: (mainCpuNs() - cpu0) / 1e3 / N };
  }
  for (const size of [64, 16 * 1024, 64 * 1024, MIB]) {
    const b = Buffer.alloc(size, 5);
    const reps = Math.max(200, Math.floor((256 * MIB) / size / 4));
    const h = createHash('sha256');
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) h.update(b);
    const hashUs = Number(process.hrtime.bigint() - t0) / 1e3 / reps;
    const dst = sharedBuffer(size);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) dst.set(b);
    const copyUs = Number(process.hrtime.bigint() - t0) / 1e3 / reps;
    out[`inline-vs-copy-${size}B`] = { hashUs, copyUs };
  }
  await pool.close();
  process.stdout.write(JSON.stringify(out));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const reps = Number(opt('reps', '5'));
  const mib = Number(opt('mib', '343'));
  // 1.8 ms/MiB: pack's main thread on this machine, 0.88 s for 343 MiB less its 0.26 s of hashing.
  const works = opt('work', '0,1.8').split(',').map(Number);
  const modes = ['none', 'inline', 'pool-sab', 'pool-copy', 'pool-sab-reused'];
  const self = fileURLToPath(import.meta.url);
  let ref;
  for (const work of works) {
    const runs = Object.fromEntries(modes.map((m) => [m, []]));
    for (let r = 0; r < reps; r++) {
      for (const m of modes) {
        const out = execFileSync(process.execPath, [self, '--child', m, '--mib', String(mib), '--work', String(work)], { encoding: 'utf8' });
        runs[m].push(JSON.parse(out));
      }
    }
    ref ??= runs.inline[0].digests.join();
    for (const m of modes.slice(1)) for (const x of runs[m]) if (x.digests.join() !== ref) throw new Error(`${m}: digests differ from inline createHash`);
    console.log(`\n${mib} MiB, ${STREAMS} interleaved digesters, 64 KiB–1 MiB reads into 1 MiB slabs, other main-thread work ${work} ms/MiB; medians of ${reps}`);
    console.log('mode              wall ms  main-CPU ms  all-CPU ms  in update() ms  messages  peak RSS MiB');
    for (const m of modes) {
      const xs = runs[m];
      const med = (k) => median(xs.map((x) => x[k]));
      console.log(
        `${m.padEnd(16)} ${med('wallMs').toFixed(0).padStart(8)} ${med('mainCpuMs').toFixed(0).padStart(12)} ${med('allCpuMs').toFixed(0).padStart(11)} ${med('updateMs').toFixed(1).padStart(15)} ${String(med('messages')).padStart(9)} ${med('maxRssMiB').toFixed(0).padStart(13)}`,
      );
    }
  }
  const mc = JSON.parse(execFileSync(process.execPath, [self, '--child-messages'], { encoding: 'utf8' }));
  console.log('\nper update (main thread):');
  for (const [k, v] of Object.entries(mc)) console.log(`  ${k}: ${Object.entries(v).map(([a, b]) => `${a} ${b.toFixed(2)}`).join(', ')}`);
}

if (args[0] === '--child') await child(args[1], Number(opt('mib', '343')), Number(opt('work', '0')));
else if (args[0] === '--child-messages') await messageCost();
else await main();
