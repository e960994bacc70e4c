/** load on a CRI-O node: no import there, so --containerd, --autoload and --docker are refused (exit 2) before anything is read. */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { CLI } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/make-bundle.js';

let work: { dir: string; cleanup(): Promise<void> };
let crioKubelet: string;

async function load(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('node', [CLI, 'load', join(work.dir, 'absent.tar'), ...args], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1', CI: '1' } });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

before(async () => {
  work = await makeTempDir('airgap-load-crio-');
  crioKubelet = join(work.dir, 'kubelet');
  await mkdir(crioKubelet);
  await writeFile(join(crioKubelet, 'kubeadm-flags.env'), 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/crio/crio.sock"\n');
});
after(async () => work.cleanup());

for (const flag of ['--containerd', '--autoload', '--docker']) {
  test(`--runtime crio refuses ${flag} (ERR_NODE_RUNTIME_MISMATCH, exit 2) and names the CRI-O way`, async () => {
    const r = await load('--registry', 'http://127.0.0.1:5000', '--runtime', 'crio', '--configure', flag);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--runtime crio: ${flag} would change nothing kubelet sees`));
    assert.match(r.stderr, /--runtime crio --configure/);
  });
}

test('kubelet on CRI-O (kubeadm-flags.env): --containerd refused, saying where the runtime was found', async () => {
  const r = await load('--registry', 'http://127.0.0.1:5000', '--containerd', '--kubelet-dir', crioKubelet, '--json');
  assert.equal(r.exitCode, 2, r.stderr);
  const err = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; code: string; message: string }).find((e) => e.event === 'error');
  assert.equal(err?.code, 'ERR_NODE_RUNTIME_MISMATCH');
  assert.match(err!.message, /kubelet on this node uses CRI-O \(unix:\/\/\/var\/run\/crio\/crio\.sock, from .*kubeadm-flags\.env/);
});

test('--runtime: an unknown value is a usage error; --containerd-config is for containerd, not CRI-O', async () => {
  const r = await load('--runtime', 'podman', '--configure', '--registry', 'http://127.0.0.1:5000');
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /unknown --runtime "podman"/);
  const c = await load('--runtime', 'crio', '--configure', '--registry', 'http://127.0.0.1:5000', '--containerd-config', '/etc/containerd/config.toml');
  assert.equal(c.exitCode, 2, c.stderr);
  assert.match(c.stderr, /kubelet on this node uses CRI-O/);
});
