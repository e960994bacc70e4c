import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError } from './errors.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DaemonOptions {
  /** A short name for messages ("docker-registry", "containerd"). */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr both go here (appended). */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Polled until it resolves true; the daemon counts as started then. */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /**
   * Settles when the process has exited, however that happened. The running child does not hold
   * the event loop open, so await this only alongside something that does (stop() does).
   */
  readonly exited: Promise<ExitInfo>;
  running(): boolean;
  /** SIGTERM, then SIGKILL after stopTimeoutMs; resolves once the process is gone. Idempotent. */
  stop(): Promise<ExitInfo>;
}

/** Every daemon still running, so the exit hook can kill what a test forgot to stop. */
const live = new Map<number, ChildProcess>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  // 'exit' handlers must be synchronous: a plain SIGKILL per PID is all we can do there.
  process.on('exit', () => {
    for (const pid of live.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

let setprivAvailable: boolean | undefined;

/**
 * With `setpriv --pdeathsig KILL` the kernel kills the daemon when our process dies, even by
 * SIGKILL (where no exit hook runs). setpriv execs the daemon, so the PID we get is the daemon's.
 */
function wrapWithPdeathsig(command: string, args: string[]): [string, string[]] {
  setprivAvailable ??= existsSync('/usr/bin/setpriv') || existsSync('/bin/setpriv');
  return setprivAvailable ? ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
}

/** The last lines of a log file, for error messages when a daemon does not come up. */
export function logTail(file: string, lines = 20): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return '(no log)';
  }
}

/** The absolute path of a program on PATH, or undefined. */
export function which(command: string): string | undefined {
  if (command.includes('/')) return existsSync(command) ? command : undefined;
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(dir || '.', command);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  installExitHook();
  if (!which(opts.command)) {
    throw new LabError('ERR_LAB_MISSING_TOOL', `${opts.name}: '${opts.command}' is not installed (not found on PATH)`, {
      hint: 'install the test lab packages: bash scripts/lab-install.sh',
    });
  }
  const fd = openSync(opts.logFile, 'a');
  const [cmd, args] = wrapWithPdeathsig(opts.command, opts.args);
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  // While running, the child is unref'd (a test that forgets stop() must not hang the runner: the
  // exit hook and pdeathsig clean up). While we wait on it (start, stop) it holds the loop open.

  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      if (child.pid !== undefined) live.delete(child.pid);
      resolve(exitInfo);
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const pid = await Promise.race([
    new Promise<number>((resolve) => child.once('spawn', () => resolve(child.pid!))),
    spawnError.then((err) => {
      throw new LabError('ERR_LAB_SPAWN', `could not start ${opts.name} (${opts.command}): ${err.message}`, {
        hint: 'install the test lab packages: bash scripts/lab-install.sh',
        cause: err,
      });
    }),
  ]);
  live.set(pid, child);

  const stopTimeoutMs = opts.stopTimeoutMs ?? 5000;
  let stopping: Promise<ExitInfo> | undefined;
  const daemon: Daemon = {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    exited,
    running: () => exitInfo === undefined,
    stop() {
      stopping ??= (async () => {
        if (exitInfo) return exitInfo;
        child.ref();
        debug(`${opts.name} (pid ${pid}): SIGTERM`);
        signal(pid, 'SIGTERM');
        // Cancelled once the process exits: a pending timer would hold the event loop open.
        const cancel = new AbortController();
        const timer = sleep(stopTimeoutMs, 'timeout' as const, { signal: cancel.signal }).catch(() => 'exited' as const);
        const first = await Promise.race([exited, timer]);
        cancel.abort();
        if (first === 'timeout') {
          debug(`${opts.name} (pid ${pid}): still running after ${stopTimeoutMs} ms, SIGKILL`);
          signal(pid, 'SIGKILL');
        }
        const info = await exited;
        debug(`${opts.name} (pid ${pid}): exited code=${info.code} signal=${info.signal}`);
        return info;
      })();
      return stopping;
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 15000);
  for (;;) {
    if (exitInfo) {
      throw new LabError(
        'ERR_LAB_DAEMON_EXITED',
        `${opts.name} (pid ${pid}) exited during start (code ${exitInfo.code}, signal ${exitInfo.signal}); last log lines of ${opts.logFile}:\n${logTail(opts.logFile)}`,
      );
    }
    let ok = false;
    try {
      ok = await opts.ready();
    } catch {
      ok = false;
    }
    if (ok) {
      debug(`${opts.name} (pid ${pid}) ready; log ${opts.logFile}`);
      child.unref();
      return daemon;
    }
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new LabError(
        'ERR_LAB_DAEMON_TIMEOUT',
        `${opts.name} (pid ${pid}) did not become ready within ${opts.readyTimeoutMs ?? 15000} ms; last log lines of ${opts.logFile}:\n${logTail(opts.logFile)}`,
      );
    }
    await sleep(50);
  }
}

/** AIRGAP_LAB_DEBUG=1 traces daemon starts and stops on stderr. */
function debug(msg: string): void {
  if (process.env.AIRGAP_LAB_DEBUG) process.stderr.write(`[lab ${new Date().toISOString()}] ${msg}\n`);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // it exited in between
  }
}

/** True once anything answers HTTP at the URL (any status: 401 from an auth-enabled registry counts). */
export function httpAnswers(url: string, ca?: string | Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'GET', timeout: 1000, ...(u.protocol === 'https:' ? { ca } : {}) },
      (res) => {
        res.resume();
        resolve(true);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** True once a unix socket file exists at the path. */
export function socketExists(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}
