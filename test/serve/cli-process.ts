import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI } from '../helpers/cli.js';

export { CLI };

export interface ServeProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** every JSON event line so far */
  events: Record<string, unknown>[];
  stderr(): string;
  /** settles with the exit code when the process ends */
  exited: Promise<number | null>;
  /** the process's peak resident set (VmHWM) in bytes */
  peakRss(): number;
  kill(signal?: NodeJS.Signals): void;
}

/** `airgap serve BUNDLE --addr 127.0.0.1:0 --json …` as a child process, resolved once it is ready. */
export function startServeProcess(bundle: string, extra: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', bundle, '--addr', '127.0.0.1:0', '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let err = '';
  let buf = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not become ready in 20 s: ${err}`));
    }, 20_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before it was ready: ${err}`));
    });
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const e = JSON.parse(line) as Record<string, unknown>;
        events.push(e);
        if (e.event === 'ready') {
          clearTimeout(timer);
          resolve({
            child,
            pid: child.pid!,
            url: String(e.url),
            events,
            stderr: () => err,
            exited,
            peakRss: () => {
              const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
              return m ? Number(m[1]) * 1024 : 0;
            },
            kill: (signal = 'SIGTERM') => {
              child.kill(signal);
            },
          });
        }
      }
    });
  });
}
