import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { logTail } from '../lab/index.js';

/** One timed run of one side: wall seconds and the peak RSS of its largest process. */
export interface Sample {
  seconds: number;
  /** KiB, from GNU time's %M (ru_maxrss of the process and the children it waited for) */
  rssKiB: number;
}

export interface RunOptions {
  /** stdout and stderr of the run go here (appended), shown when it fails */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

export class BenchError extends Error {
  override name = 'BenchError';
}

let counter = 0;

/**
 * Run a command under `/usr/bin/time -f %M` and time it from here. The wall time includes the
 * fork/exec of time(1) itself (about a millisecond), the same for every side.
 */
export async function timed(command: string, args: string[], opts: RunOptions): Promise<Sample> {
  const rssFile = `${opts.logFile}.rss-${process.pid}-${counter++}`;
  const fd = openSync(opts.logFile, 'a');
  const start = performance.now();
  let code: number | null;
  let signal: NodeJS.Signals | null;
  try {
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, command, ...args], {
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 15 * 60_000,
      killSignal: 'SIGKILL',
    });
    [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    });
  } finally {
    closeSync(fd);
  }
  const seconds = (performance.now() - start) / 1000;
  const rssText = await readFile(rssFile, 'utf8').catch(() => '');
  await rm(rssFile, { force: true });
  if (code !== 0) {
    throw new BenchError(`${command} ${args.join(' ')} failed (exit ${code ?? signal}); last lines of ${opts.logFile}:\n${logTail(opts.logFile, 15)}`);
  }
  // GNU time writes "Command exited with non-zero status" lines first when it fails; the number is last.
  const rssKiB = Number(rssText.trim().split('\n').at(-1));
  if (!Number.isFinite(rssKiB)) throw new BenchError(`no peak RSS from /usr/bin/time for ${command}: ${JSON.stringify(rssText)}`);
  return { seconds, rssKiB };
}

/** Several commands one after another, as one side: wall times add up, the peak is the largest. */
export async function timedSequence(steps: Array<[string, string[]]>, opts: RunOptions): Promise<Sample> {
  let seconds = 0;
  let rssKiB = 0;
  for (const [cmd, args] of steps) {
    const s = await timed(cmd, args, opts);
    seconds += s.seconds;
    rssKiB = Math.max(rssKiB, s.rssKiB);
  }
  return { seconds, rssKiB };
}

/** A running process's peak RSS (VmHWM) in KiB, for daemons that time(1) does not wrap. */
export async function peakRssOf(pid: number): Promise<number> {
  const status = await readFile(join('/proc', String(pid), 'status'), 'utf8');
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new BenchError(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]);
}
