/**
 * inMountNamespace: a child in a private mount namespace with tmpfs over node directories. Proves
 * that what the child writes there never reaches the host, that mount points the harness had to
 * create are removed again (and pre-existing ones kept), that errors come back with the child's
 * message, code and stack, that a timeout kills the child's process group, that a child leaving a
 * process running is refused and the process killed, and that concurrent callers share mount points.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { assertNamespaceLab, inMountNamespace, NamespaceChildError } from '../helpers/mount-namespace.js';

const MODULE = fileURLToPath(new URL('./ns-scenarios.js', import.meta.url));
const gone = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

describe('inMountNamespace', () => {
  let work: string;
  before(async () => {
    await assertNamespaceLab();
    work = await mkdtemp(join(tmpdir(), 'airgap-mountns-test-'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('gives the child empty tmpfs dirs whose contents the host never sees', async () => {
    // A pre-existing mount point (kept afterwards) and missing ones (created, then removed).
    const existing = join(work, 'pre-existing');
    await mkdir(existing);
    const missing = ['/etc/rancher', '/var/lib/rancher', '/run/k3s'].filter((d) => !existsSync(d));
    const nested = '/var/lib/rancher/k3s/agent/etc/containerd/certs.d';
    const files = {
      '/etc/rancher/k3s/registries.yaml': 'mirrors: {}\n',
      [`${nested}/registry.k8s.io/hosts.toml`]: 'server = "https://registry.k8s.io"\n',
      '/run/k3s/containerd/marker': 'x',
      [join(existing, 'inside')]: 'y',
    };
    const r = await inMountNamespace<{ pid: number; mounts: string[]; trees: Record<string, string[]> }>({
      tmpfs: ['/etc/rancher', '/var/lib/rancher', '/run/k3s', existing],
      module: MODULE,
      fn: 'writeFiles',
      arg: { files, list: ['/etc/rancher', '/run/k3s'] },
    });
    assert.notEqual(r.pid, process.pid);
    for (const d of ['/etc/rancher', '/var/lib/rancher', '/run/k3s', existing]) assert.ok(r.mounts.includes(d), `${d} is a tmpfs in the child`);
    assert.deepEqual(r.trees['/etc/rancher'], ['/etc/rancher/k3s', '/etc/rancher/k3s/registries.yaml'], 'the child saw an empty tmpfs plus its own file');
    assert.deepEqual(r.trees['/run/k3s'], ['/run/k3s/containerd', '/run/k3s/containerd/marker']);

    // The host: none of it.
    for (const f of Object.keys(files)) assert.equal(existsSync(f), false, `${f} must not exist on the host`);
    assert.deepEqual(await readdir(existing), [], 'a pre-existing mount point stays, empty');
    for (const d of missing) assert.equal(existsSync(d), false, `${d} was created for the call and removed after`);
    const ownMounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!ownMounts.includes(' /etc/rancher ') && !ownMounts.includes(` ${existing} `), 'no mount leaked into the host namespace');
    await rmdir(existing);
  });

  it('returns the child error with its message, code and stack', async () => {
    await assert.rejects(
      inMountNamespace({ tmpfs: ['/etc/k0s'], module: MODULE, fn: 'fail', arg: { message: 'no pause image here', code: 'ERR_TEST_PAUSE' } }),
      (err: NamespaceChildError) => {
        assert.ok(err instanceof NamespaceChildError);
        assert.equal(err.message, 'no pause image here');
        assert.equal(err.code, 'ERR_TEST_PAUSE');
        assert.match(err.childStack ?? '', /ns-scenarios\.js/);
        assert.match(err.stack ?? '', /in the mount namespace child/);
        return true;
      },
    );
    await assert.rejects(inMountNamespace({ tmpfs: ['/etc/k0s'], module: MODULE, fn: 'noSuchFunction' }), /exports no function noSuchFunction/);
    await assert.rejects(inMountNamespace({ tmpfs: ['/etc'], module: MODULE, fn: 'writeFiles' }), /refusing to cover \/etc/);
    await assert.rejects(inMountNamespace({ tmpfs: ['etc/k0s'], module: MODULE, fn: 'writeFiles' }), /must be absolute/);
  });

  it('refuses a child that returns with a process still running, and kills it', async () => {
    const pidFile = join(work, 'left.pid');
    await assert.rejects(inMountNamespace({ tmpfs: ['/run/k0s'], module: MODULE, fn: 'leaveRunning', arg: { pidFile } }), (err: NamespaceChildError) => {
      assert.equal(err.code, 'ERR_NS_LEFT_RUNNING');
      assert.match(err.message, /left processes running .*sleep/);
      return true;
    });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 40 && !gone(pid); i++) await sleep(50);
    assert.ok(gone(pid), `sleep ${pid} was killed`);
  });

  it('kills the whole process group on timeout', async () => {
    const pidFile = join(work, 'hang.pid');
    const t0 = Date.now();
    await assert.rejects(inMountNamespace({ tmpfs: ['/run/k0s'], module: MODULE, fn: 'hang', arg: { pidFile }, timeoutMs: 1500 }), /did not finish within 1500 ms/);
    assert.ok(Date.now() - t0 < 10_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 40 && !gone(pid); i++) await sleep(50);
    assert.ok(gone(pid), `the child's sleep ${pid} was killed with its group`);
    assert.equal(existsSync('/run/k0s') && (await readdir('/run/k0s')).length > 0, false);
  });

  it('lets concurrent callers share mount points; each sees only its own tmpfs', async () => {
    const created = !existsSync('/etc/k0s');
    const calls = [1, 2, 3].map((n) =>
      inMountNamespace<{ trees: Record<string, string[]> }>({
        tmpfs: ['/etc/k0s'],
        module: MODULE,
        fn: 'writeFiles',
        arg: { files: { [`/etc/k0s/containerd.d/${n}.toml`]: '' }, list: ['/etc/k0s'] },
      }),
    );
    const results = await Promise.all(calls);
    results.forEach((r, i) => assert.deepEqual(r.trees['/etc/k0s'], ['/etc/k0s/containerd.d', `/etc/k0s/containerd.d/${i + 1}.toml`]));
    if (created) assert.equal(existsSync('/etc/k0s'), false, 'removed by the last user');
  });
});
