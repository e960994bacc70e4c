import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, httpAnswers, logTail } from '../../lab/index.js';
import type { BenchContext, BenchSet } from '../context.js';
import { interleave } from '../interleave.js';
import { row, type Row } from '../rows.js';
import { BenchError, peakRssOf, type Sample } from '../run.js';
import { Side } from '../stats.js';
import { packOutputs } from './pack.js';

interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startAirgapServe(ctx: BenchContext, bundle: string): Promise<Server> {
  const port = await freePort();
  const fd = openSync(ctx.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [ctx.cli, 'serve', bundle, '--addr', `127.0.0.1:${port}`, '--json'], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (!(await httpAnswers(`${url}/v2/`))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new BenchError(`airgap serve did not come up on ${url}; last lines of ${ctx.logFile}:\n${logTail(ctx.logFile)}`);
    }
    await sleep(50);
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Peak RSS from now on: writing 5 to clear_refs resets VmHWM to the current RSS. */
async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/**
 * `clients` curl processes at once, each downloading every config and layer (starting at a
 * different one, so they do not move in lockstep) over one kept-alive connection.
 */
function download(base: string, paths: string[], sizes: number[], clients: number): () => Promise<Sample> {
  return async () => {
    const start = performance.now();
    const runs = Array.from({ length: clients }, (_, c) => {
      const order = paths.map((_, i) => (i + Math.floor((c * paths.length) / clients)) % paths.length);
      const args = ['-sS', '-w', '%{http_code} %{size_download}\\n'];
      for (const i of order) args.push('-o', '/dev/null', `${base}${paths[i]}`);
      return new Promise<string>((resolve, reject) => {
        const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new BenchError(`curl from ${base} failed (exit ${code}): ${err.trim()}`))));
      });
    });
    const outs = await Promise.all(runs);
    const seconds = (performance.now() - start) / 1000;
    const want = sizes.reduce((n, s) => n + s, 0);
    for (const out of outs) {
      const lines = out.trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number]);
      const bad = lines.find(([code]) => code !== 200);
      const got = lines.reduce((n, [, size]) => n + size, 0);
      if (bad || lines.length !== paths.length || got !== want) {
        throw new BenchError(`a client of ${base} got ${lines.length} answers, ${got} bytes${bad ? `, HTTP ${bad[0]}` : ''}; expected ${paths.length} × 200, ${want} bytes`);
      }
    }
    return { seconds, rssKiB: 0 };
  };
}

export async function serveSuite(ctx: BenchContext, set: BenchSet, reps: number): Promise<Row[]> {
  const clients = ctx.opts.clients;
  const blobs = set.unique.filter((b) => !b.manifest);
  const paths = blobs.map((b) => b.url.slice(set.reg.url.length));
  const sizes = blobs.map((b) => b.size);
  const bytes = clients * sizes.reduce((n, s) => n + s, 0);
  const airgap = new Side('airgap serve', bytes);
  const registry = new Side('distribution registry 2.8', bytes);
  const serve = await startAirgapServe(ctx, packOutputs(set).bundle);
  try {
    await Promise.all([resetPeak(serve.pid), resetPeak(set.reg.pid)]);
    await interleave(ctx, 'serve', reps, [
      { side: airgap, run: download(serve.url, paths, sizes, clients) },
      { side: registry, run: download(set.reg.url, paths, sizes, clients) },
    ]);
    const [a, r] = await Promise.all([peakRssOf(serve.pid), peakRssOf(set.reg.pid)]);
    for (const s of airgap.samples) s.rssKiB = a;
    for (const s of registry.samples) s.rssKiB = r;
  } finally {
    await serve.stop();
  }
  return [row(`serve: blob downloads, ${clients} clients`, 'throughput', airgap, registry,
    `${clients} concurrent curl clients, each downloading every config and layer (${blobs.length} blobs) from the same repositories; peak RSS is the server's (VmHWM)`)];
}
