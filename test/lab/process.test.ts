import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, LabError, startDaemon } from '../../scripts/lab/index.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await sleep(25);
  }
  return !alive(pid);
}

describe('lab processes', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'airgap-lab-proc-test-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('freePort returns a loopback port nobody listens on', async () => {
    const port = await freePort();
    assert.ok(port > 1024 && port < 65536);
    const srv = createServer();
    await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve));
    srv.close();
  });

  it('waits for readiness, logs to a file, and stops with SIGTERM', async () => {
    const log = join(work, 'term.log');
    let polls = 0;
    const d = await startDaemon({
      name: 'sleeper',
      command: 'sh',
      args: ['-c', 'echo started; exec sleep 30'],
      logFile: log,
      ready: async () => ++polls >= 3,
    });
    assert.equal(polls, 3);
    assert.ok(d.running());
    const info = await d.stop();
    assert.equal(info.signal, 'SIGTERM');
    assert.equal(d.running(), false);
    assert.match(await readFile(log, 'utf8'), /started/);
  });

  it('falls back to SIGKILL when SIGTERM is ignored', async () => {
    const d = await startDaemon({
      name: 'stubborn',
      command: 'sh',
      args: ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'],
      logFile: join(work, 'kill.log'),
      ready: async () => (await readFile(join(work, 'kill.log'), 'utf8')).includes('ready'),
      stopTimeoutMs: 300,
    });
    const t0 = Date.now();
    const info = await d.stop();
    assert.equal(info.signal, 'SIGKILL');
    assert.ok(Date.now() - t0 >= 300);
  });

  it('reports a daemon that exits during start, with its log tail', async () => {
    await assert.rejects(
      startDaemon({ name: 'broken', command: 'sh', args: ['-c', 'echo "bad config line 3" >&2; exit 3'], logFile: join(work, 'broken.log'), ready: async () => false }),
      (err: LabError) => {
        assert.equal(err.code, 'ERR_LAB_DAEMON_EXITED');
        assert.match(err.message, /broken \(pid \d+\) exited during start \(code 3/);
        assert.match(err.message, /bad config line 3/);
        return true;
      },
    );
  });

  it('gives up on a daemon that never becomes ready, and stops it', async () => {
    let pid = 0;
    await assert.rejects(
      startDaemon({
        name: 'mute',
        command: 'sleep',
        args: ['30'],
        logFile: join(work, 'mute.log'),
        ready: async () => false,
        readyTimeoutMs: 200,
      }).catch((err: unknown) => {
        pid = Number(/pid (\d+)/.exec(String(err))?.[1] ?? 0);
        throw err;
      }),
      { code: 'ERR_LAB_DAEMON_TIMEOUT' },
    );
    assert.ok(pid > 0);
    assert.equal(alive(pid), false);
  });

  it('names a missing program', async () => {
    await assert.rejects(
      startDaemon({ name: 'ghost', command: 'airgap-no-such-binary', args: [], logFile: join(work, 'ghost.log'), ready: async () => true }),
      (err: LabError) => {
        assert.equal(err.code, 'ERR_LAB_MISSING_TOOL');
        assert.match(err.message, /'airgap-no-such-binary' is not installed/);
        assert.match(err.message, /lab-install\.sh/);
        return true;
      },
    );
  });

  it('leaves no daemon behind when the test process is killed outright', async () => {
    // A child that starts a real registry, reports its PID, then waits to be SIGKILLed: no exit
    // hook runs then, so only the parent-death signal can take the registry down.
    const lab = fileURLToPath(new URL('../../scripts/lab/index.js', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(lab)}); const r = await m.startRegistry({ dir: ${JSON.stringify(join(work, 'orphan'))} }); console.log(r.pid); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = await Promise.race([
      (async () => {
        for await (const l of createInterface({ input: child.stdout! })) return [l];
        return [''];
      })(),
      sleep(15000, undefined, { ref: false }).then(() => ['']),
    ]);
    const regPid = Number(line);
    assert.ok(regPid > 0 && alive(regPid), `registry started (${line})`);
    child.kill('SIGKILL');
    assert.ok(await waitGone(regPid, 5000), 'registry died with its parent');
  });
});
