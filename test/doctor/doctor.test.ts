/**
 * airgap doctor on a lab node: a real containerd 1.6 (CRI on) started on a node-like config, a
 * real registry, the lab's kubeadm v1.30.14 image set. First the node as installed (every trap
 * open), then after `airgap load --registry --containerd --configure-containerd` (all ok), then each
 * trap set on purpose and undone. Runs inside `unshare -n` (scripts/test.sh).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import type { CheckResult, DoctorReport } from '../../src/doctor/index.js';
import { freePort, type GeneratedImages, type LabRegistry } from '../../scripts/lab/index.js';
import { CLI } from '../helpers/cli.js';
import { runCli, startNodeLab, type NodeLab } from '../helpers/node-lab.js';
import type { NodeConfig, NodeContainerd } from '../node/containerd/node-containerd.js';

let lab: NodeLab;
let work: string;
let gen: GeneratedImages;
let bundle: string;
let reg: LabRegistry;
let node: NodeConfig;
let ctd: NodeContainerd;
let hostsDir: string;
let kubeletDir: string;

before(async () => {
  lab = await startNodeLab('airgap-doctor-');
  ({ work, gen, bundle, reg, node, ctd, hostsDir } = lab);
  kubeletDir = join(work, 'kubelet');
  await mkdir(kubeletDir);
});
after(async () => {
  await lab?.stop();
});

async function doctor(extra: string[] = [], env: Record<string, string> = {}): Promise<{ exitCode: number; report: DoctorReport; byId: Map<string, CheckResult>; stderr: string }> {
  const r = await runCli(['doctor', '--bundle', bundle, '--containerd-config', node.configFile, '--address', node.socket, '--kubelet-dir', kubeletDir, '--json', ...extra], env);
  assert.ok(r.stdout, `doctor printed a report (stderr: ${r.stderr})`);
  const report = JSON.parse(r.stdout) as DoctorReport;
  return { exitCode: r.exitCode ?? -1, report, byId: new Map(report.checks.map((c) => [c.id, c])), stderr: r.stderr };
}

function status(byId: Map<string, CheckResult>, id: string): string {
  return byId.get(id)?.status ?? '<absent>';
}

function ctr(args: string[]) {
  return execa('ctr', ['--address', node.socket, '--namespace', 'k8s.io', ...args], { stdin: 'ignore' });
}

const loadArgs = () => ['load', bundle, '--registry', reg.url, '--containerd', node.socket, '--configure-containerd', '--containerd-config', node.configFile, '--hosts-dir', hostsDir];

function notOk(report: DoctorReport): string {
  return report.checks.filter((c) => c.status !== 'ok').map((c) => `${c.id}: ${c.status}: ${c.message}`).join('\n');
}

test('a node as installed: no config_path, containerd\'s own pause, no hosts.toml, no images — each a fail with the airgap fix, exit 1', async () => {
  const { exitCode, byId, report } = await doctor(['--hosts-dir', hostsDir]);
  assert.equal(exitCode, 1);
  assert.equal(status(byId, 'runtime.kind'), 'ok', 'the containerd socket given is the runtime');
  assert.equal(status(byId, 'containerd.reachable'), 'ok');
  assert.match(byId.get('containerd.reachable')!.message, /1\.6\./);
  assert.equal(status(byId, 'containerd.config-path'), 'fail');
  assert.match(byId.get('containerd.config-path')!.fix!, /--configure-containerd/);
  const sandbox = byId.get('sandbox.image')!;
  assert.equal(sandbox.status, 'fail');
  assert.match(sandbox.message, /pause:3\.6.*pause:3\.9/, 'containerd 1.6\'s default vs the bundle\'s');
  assert.equal(status(byId, 'mirrors.registry.k8s.io'), 'fail');
  assert.equal(status(byId, 'images.containerd'), 'fail');
  assert.equal(report.checks.filter((c) => c.status !== 'ok').every((c) => c.fix !== undefined), true, 'every warn and fail has a fix');
  assert.ok(!report.checks.some((c) => /docker/i.test(c.fix ?? '')), 'no Docker steps on a containerd node');
});

test('after airgap load --registry --containerd --configure-containerd (and a restart): every check ok, exit 0; text output grouped', async () => {
  const l = await runCli(loadArgs());
  assert.equal(l.exitCode, 0, l.stderr);
  ctd = await lab.restartContainerd('containerd-2.log');
  const { exitCode, report, byId } = await doctor(['--kubernetes', 'v1.30.14']);
  assert.equal(exitCode, 0, notOk(report));
  assert.deepEqual(report.summary, { ok: report.checks.length, warn: 0, fail: 0 }, notOk(report));
  for (const id of ['containerd.config-path', 'sandbox.image', 'sandbox.kubernetes', 'mirrors.registry.k8s.io', 'images.containerd', 'images.pause-pinned']) {
    assert.equal(status(byId, id), 'ok', id);
  }
  assert.match(byId.get('mirrors.registry.k8s.io')!.message, new RegExp(`${reg.url}.*serves all ${gen.images.length}`));

  const text = await execa('node', [CLI, 'doctor', '--bundle', bundle, '--containerd-config', node.configFile, '--address', node.socket, '--kubelet-dir', kubeletDir], { reject: false, stdin: 'ignore', env: { CI: '1' } });
  assert.equal(text.exitCode, 0);
  assert.match(text.stdout, /^containerd$/m);
  assert.match(text.stdout, /^Registry mirrors \(hosts\.toml\)$/m);
  assert.doesNotMatch(text.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');
  assert.match(text.stdout, /\d+ ok, 0 warn, 0 fail/);
});

test('trap: no hosts.toml for a bundle registry → fail naming the registry and the fix', async () => {
  const dir = join(hostsDir, 'registry.k8s.io');
  await rename(dir, `${dir}.off`);
  try {
    const { exitCode, byId } = await doctor();
    assert.equal(exitCode, 1);
    const c = byId.get('mirrors.registry.k8s.io')!;
    assert.equal(c.status, 'fail');
    assert.match(c.message, /no hosts\.toml for registry\.k8s\.io/);
    assert.match(c.fix!, /--configure-containerd/);
  } finally {
    await rename(`${dir}.off`, dir);
  }
});

test('trap: a _default directory → warn that it hides other registries', async () => {
  const dir = join(hostsDir, '_default');
  await mkdir(dir);
  await writeFile(join(dir, 'hosts.toml'), 'server = "https://mirror.example.invalid"\n');
  try {
    const { exitCode, byId } = await doctor();
    assert.equal(exitCode, 0, 'a warning alone does not fail');
    assert.equal(status(byId, 'mirrors._default'), 'warn');
    assert.match(byId.get('mirrors._default')!.fix!, /_default/);
    assert.equal(status(byId, 'mirrors.registry.k8s.io'), 'ok', 'its own directory still wins for the bundle registry');
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('trap: the mirror is down → fail saying pulls fall back to the internet', async () => {
  const file = join(hostsDir, 'registry.k8s.io', 'hosts.toml');
  const saved = await readFile(file, 'utf8');
  const port = await freePort();
  await writeFile(file, saved.replaceAll(reg.url, `http://127.0.0.1:${port}`));
  try {
    const { exitCode, byId } = await doctor();
    assert.equal(exitCode, 1);
    const c = byId.get('mirrors.registry.k8s.io')!;
    assert.equal(c.status, 'fail');
    assert.match(c.message, /does not answer.*ECONNREFUSED/);
    assert.match(c.message, /internet/);
  } finally {
    await writeFile(file, saved);
  }
});

test('trap: legacy registry.mirrors next to config_path → fail with the file and line, and the move to hosts.toml', async () => {
  const saved = await readFile(node.configFile, 'utf8');
  await writeFile(node.configFile, `${saved}\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n  endpoint = ["http://127.0.0.1:1"]\n`);
  try {
    const { exitCode, byId } = await doctor();
    assert.equal(exitCode, 1);
    const c = byId.get('containerd.legacy-mirrors')!;
    assert.equal(c.status, 'fail');
    assert.match(c.message, new RegExp(`docker\\.io \\(${node.configFile.replace(/[.]/g, '\\.')}:\\d+\\)`));
    assert.match(c.fix!, /hosts\.toml/);
  } finally {
    await writeFile(node.configFile, saved);
  }
});

test('traps: an image missing from k8s.io → fail; pause not pinned → warn; airgap load puts both right', async () => {
  const etcd = gen.images.find((i) => i.ref.includes('/etcd:'))!;
  await ctr(['images', 'rm', '--sync', etcd.ref]);
  await ctr(['images', 'label', 'registry.k8s.io/pause:3.9', 'io.cri-containerd.pinned=']);
  const { exitCode, byId } = await doctor();
  assert.equal(exitCode, 1);
  assert.equal(status(byId, 'images.containerd'), 'fail');
  assert.match(byId.get('images.containerd')!.message, new RegExp(etcd.ref.replace(/[.]/g, '\\.')));
  assert.equal(status(byId, 'images.pause-pinned'), 'warn');
  assert.match(byId.get('images.pause-pinned')!.fix!, /io\.cri-containerd\.pinned=pinned/);

  const l = await execa('node', [CLI, 'load', bundle, '--containerd', node.socket], { reject: false, stdin: 'ignore', env: { CI: '1' } });
  assert.equal(l.exitCode, 0, l.stderr);
  const again = await doctor();
  assert.equal(status(again.byId, 'images.containerd'), 'ok');
  assert.equal(status(again.byId, 'images.pause-pinned'), 'ok');
});

test('trap: kubeadm imageRepository pointing away from what the bundle serves → fail; the default → ok', async () => {
  const away = join(work, 'kubeadm-away.yaml');
  await writeFile(away, 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.14\nimageRepository: registry.internal.example/k8s\n');
  const bad = await doctor(['--kubeadm-config', away]);
  assert.equal(bad.exitCode, 1);
  const c = bad.byId.get('kubeadm.image-repository')!;
  assert.equal(c.status, 'fail');
  assert.match(c.message, /registry\.internal\.example\/k8s\/kube-apiserver:v1\.30\.14/);
  assert.match(c.fix!, /remove imageRepository/);

  const fine = join(work, 'kubeadm-default.yaml');
  await writeFile(fine, 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.14\n');
  const good = await doctor(['--kubeadm-config', fine]);
  assert.equal(status(good.byId, 'kubeadm.image-repository'), 'ok');
  assert.equal(good.exitCode, 0);
});

test('runtime: kubelet on cri-dockerd → Docker steps only, no containerd checks or ctr/hosts.toml fixes', async () => {
  const dir = join(work, 'kubelet-docker');
  await mkdir(dir);
  const sock = join(work, 'cri-dockerd.sock');
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(sock, r));
  await writeFile(join(dir, 'kubeadm-flags.env'), `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix://${sock} --pod-infra-container-image=registry.k8s.io/pause:3.8"\n`);
  // a docker CLI that knows every image but etcd
  const bin = join(work, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'docker'), '#!/bin/sh\ncase "$*" in *etcd*) echo "Error: No such image" >&2; exit 1;; esac\necho sha256:0\n', { mode: 0o755 });
  try {
    const r = await execa('node', [CLI, 'doctor', '--bundle', bundle, '--kubelet-dir', dir, '--json'], { reject: false, stdin: 'ignore', env: { PATH: `${bin}:${process.env.PATH}`, CI: '1' } });
    const report = JSON.parse(r.stdout) as DoctorReport;
    const byId = new Map(report.checks.map((c) => [c.id, c]));
    assert.equal(report.runtime.kind, 'docker');
    assert.equal(status(byId, 'runtime.kind'), 'warn');
    assert.match(byId.get('runtime.kind')!.fix!, /docker-daemon:|--pod-infra-container-image/);
    assert.equal(status(byId, 'runtime.pod-infra-image'), 'fail', 'pause:3.8 for cri-dockerd while the bundle has 3.9');
    assert.equal(status(byId, 'images.docker'), 'fail');
    assert.match(byId.get('images.docker')!.message, /etcd/);
    assert.equal(r.exitCode, 1);
    for (const c of report.checks) {
      assert.ok(!c.id.startsWith('containerd.') && !c.id.startsWith('mirrors.'), `${c.id} does not apply to a Docker node`);
      assert.doesNotMatch(c.fix ?? '', /ctr |--configure-containerd|hosts\.toml/, `${c.id}: no containerd step for a Docker node`);
    }
  } finally {
    server.close();
  }
});

test('trap: containerd runs with sandbox image pause:3.8 while the bundle has 3.9 → fail, fix names 3.9', async () => {
  const saved = await readFile(node.configFile, 'utf8');
  assert.match(saved, /sandbox_image = "registry\.k8s\.io\/pause:3\.9"/, 'load set it in the node\'s config (containerd 1.x: in place)');
  await writeFile(node.configFile, saved.replace('registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.8'));
  // Before a restart the running containerd still uses 3.9: doctor says so.
  const pending = await doctor();
  assert.equal(status(pending.byId, 'containerd.restart'), 'warn');
  ctd = await lab.restartContainerd('containerd-3.log');
  const { exitCode, byId } = await doctor();
  assert.equal(exitCode, 1);
  const c = byId.get('sandbox.image')!;
  assert.equal(c.status, 'fail');
  assert.match(c.message, /pause:3\.8.*the bundle has registry\.k8s\.io\/pause:3\.9.*internet/);
  assert.match(c.fix!, /pause:3\.9/);
});
