/**
 * doctor on a Sealos node layout: kubelet's kubeadm-flags.env naming image-cri-shim's socket as its
 * image service endpoint, /etc/image-cri-shim.yaml (a temp file) naming a real lab registry with
 * basic auth, the lab's kubeadm v1.30.14 bundle. First the shim dead (no socket, then a stale
 * socket file), then a real containerd's CRI answering on the shim's path and the registry seeded
 * the documented way (docs/nodes/sealos.md: airgap load --layout flat --creds), then a whole node
 * (containerd behind the shim, images imported) that must be green. Runs as root inside `unshare -n` (scripts/test.sh).
 */
import assert from 'node:assert/strict';
import { mkdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { generateImages, startRegistry, type GeneratedImages, type LabRegistry } from '../../../scripts/lab/index.js';
import type { CheckResult, DoctorReport } from '../../../src/doctor/index.js';
import { startDistroContainerd, type DistroContainerd } from '../../helpers/distro-containerd.js';
import { bundleFromLayout } from '../../helpers/lab-bundle.js';
import { makeTempDir } from '../../helpers/make-bundle.js';
import { runCli } from '../../helpers/node-lab.js';
import { assertNamespaceLab } from '../../helpers/mount-namespace.js';

describe('doctor on a Sealos node (image-cri-shim)', () => {
  let work: { dir: string; cleanup(): Promise<void> };
  let reg: LabRegistry;
  let gen: GeneratedImages;
  let bundle: string;
  let shimSock: string;
  let shimConfig: string;
  let kubeletDir: string;
  let ctd: DistroContainerd | undefined;

  before(async () => {
    await assertNamespaceLab();
    work = await makeTempDir('airgap-sealos-');
    const dir = work.dir;
    gen = await generateImages({ scale: 0.01 });
    bundle = (await bundleFromLayout(gen.layoutDir, join(dir, 'k8s.tar'), { kubernetes: { version: 'v1.30.14', distribution: 'kubeadm' } })).path;
    reg = await startRegistry({ auth: 'basic' });
    shimSock = join(dir, 'image-cri-shim.sock');
    kubeletDir = join(dir, 'kubelet');
    await mkdir(kubeletDir);
    await writeFile(join(kubeletDir, 'kubeadm-flags.env'),
      `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix://${join(dir, 'containerd.sock')} --image-service-endpoint=unix://${shimSock} --pod-infra-container-image=registry.k8s.io/pause:3.9"\n`);
    shimConfig = join(dir, 'image-cri-shim.yaml');
    await writeFile(shimConfig, `shim: ${shimSock}\ncri: ${join(dir, 'containerd.sock')}\naddress: ${reg.url}\nforce: true\ndebug: false\ntimeout: 15m\nauth: ${reg.username}:${reg.password}\n`);
  });
  after(async () => {
    await ctd?.stop();
    await reg?.stop();
    await work?.cleanup();
  });

  async function doctor(extra: string[] = []): Promise<{ exitCode: number; stdout: string; byId: Map<string, CheckResult> }> {
    const r = await runCli(['doctor', '--bundle', bundle, '--distribution', 'kubeadm', '--kubelet-dir', kubeletDir, '--shim-config', shimConfig,
      '--address', join(work.dir, 'containerd.sock'), '--containerd-config', join(work.dir, 'config.toml'), '--hosts-dir', join(work.dir, 'certs.d'), '--json', ...extra]);
    assert.ok(r.stdout, `doctor printed a report (stderr: ${r.stderr})`);
    const report = JSON.parse(r.stdout) as DoctorReport;
    assert.ok(!r.stdout.includes(reg.password!) && !r.stderr.includes(reg.password!), 'the registry password is never printed');
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, byId: new Map(report.checks.map((c) => [c.id, c])) };
  }

  it('the shim\'s socket does not exist: sealos.shim-socket fails naming image-cri-shim and the fix; exit 1', async () => {
    const { exitCode, byId } = await doctor();
    assert.equal(exitCode, 1);
    const c = byId.get('sealos.shim-socket');
    assert.equal(c?.status, 'fail', JSON.stringify(c));
    assert.equal(c!.group, 'node');
    assert.match(c!.message, /image-cri-shim/);
    assert.match(c!.message, new RegExp(`unix://${shimSock}`));
    assert.match(c!.message, /kubeadm-flags\.env \(--image-service-endpoint\)/);
    assert.match(c!.message, /does not exist/);
    assert.match(c!.fix!, /systemctl restart image-cri-shim/);
    assert.match(c!.fix!, /journalctl -u image-cri-shim/);
    assert.match(c!.fix!, /kubelet pulls through it/);
  });

  it('a stale socket file (the shim was killed): still a fail, saying nothing accepts on it', async () => {
    const child = execa('node', ['-e', `require('net').createServer().listen(${JSON.stringify(shimSock)}); setInterval(() => {}, 1000)`], { reject: false, stdin: 'ignore' });
    for (let i = 0; i < 100 && !(await stat(shimSock).then((s) => s.isSocket(), () => false)); i++) await sleep(50);
    child.kill('SIGKILL');
    await child;
    assert.ok((await stat(shimSock)).isSocket(), 'the socket file outlives the killed process');
    const { exitCode, byId } = await doctor();
    assert.equal(exitCode, 1);
    const c = byId.get('sealos.shim-socket')!;
    assert.equal(c.status, 'fail');
    assert.match(c.message, /stale socket/);
    assert.match(c.fix!, /systemctl restart image-cri-shim/);
    await rm(shimSock, { force: true });
  });

  it('CRI answering on the shim\'s socket, images loaded with airgap load --creds: the shim asks for other names, fail; loaded with --layout flat (the fix), ok', async () => {
    ctd = await startDistroContainerd({ socket: shimSock, workDir: join(work.dir, 'ctd') });
    const load = await runCli(['load', bundle, '--registry', reg.url, '--creds', `${reg.host}=${reg.username}:${reg.password}`]);
    assert.equal(load.exitCode, 0, load.stderr + load.stdout);

    let r = await doctor();
    assert.equal(r.byId.get('sealos.shim-socket')?.status, 'ok', JSON.stringify(r.byId.get('sealos.shim-socket')));
    assert.match(r.byId.get('sealos.shim-socket')!.message, /image-cri-shim answers CRI/);
    const before = r.byId.get('sealos.shim-registry')!;
    assert.equal(before.status, 'fail', JSON.stringify(before));
    assert.match(before.message, new RegExp(`${reg.host}/kube-apiserver:v1\\.30\\.14 \\(HTTP 404\\)`), 'names the image under the name the shim asks for');
    assert.match(before.fix!, /under their source registry/);
    assert.match(before.fix!, /--layout flat/);
    assert.ok((before.details!.missing as { underSourceRegistry?: boolean }[]).every((m) => m.underSourceRegistry));

    // The fix as written: the bundle loaded again, under the names image-cri-shim asks for.
    const flat = await runCli(['load', bundle, '--registry', reg.url, '--layout', 'flat', '--creds', `${reg.host}=${reg.username}:${reg.password}`]);
    assert.equal(flat.exitCode, 0, flat.stderr + flat.stdout);
    assert.match(flat.stdout, new RegExp(`${reg.host}/kube-apiserver:v1\\.30\\.14`));
    r = await doctor();
    const shimRegistry = r.byId.get('sealos.shim-registry')!;
    assert.equal(shimRegistry.status, 'ok', JSON.stringify(shimRegistry));
    assert.match(shimRegistry.message, new RegExp(`serves all ${gen.images.length} bundle image`));
    assert.match(shimRegistry.message, new RegExp(`as ${reg.username}`));
    const sealos = [...r.byId.values()].filter((c) => c.id.startsWith('sealos.'));
    assert.deepEqual(sealos.filter((c) => c.status !== 'ok').map((c) => c.id), [], JSON.stringify(sealos));
  });

  it('a whole Sealos node — containerd at kubelet\'s runtime endpoint, the shim in front of it, the registry in the shim\'s layout, the images in containerd — is green', async () => {
    await ctd?.stop();
    ctd = undefined;
    const runtimeSock = join(work.dir, 'containerd.sock');
    ctd = await startDistroContainerd({ socket: runtimeSock, workDir: work.dir, hostsDir: join(work.dir, 'certs.d'), sandboxImage: 'registry.k8s.io/pause:3.9' });
    // image-cri-shim stands in front of containerd: here its socket leads straight to containerd's CRI.
    await rm(shimSock, { force: true });
    await symlink(runtimeSock, shimSock);
    const imported = await runCli(['load', bundle, '--containerd', runtimeSock, '--kubelet-dir', kubeletDir]);
    assert.equal(imported.exitCode, 0, imported.stderr + imported.stdout);
    const r = await doctor();
    const notOk = [...r.byId.values()].filter((c) => c.status !== 'ok');
    assert.deepEqual(notOk.filter((c) => c.status === 'fail').map((c) => c.id), [], JSON.stringify(notOk, null, 1));
    assert.equal(r.exitCode, 0);
    assert.equal(r.byId.get('mirrors.image-cri-shim')?.status, 'ok');
    assert.equal(r.byId.get('sealos.shim-registry')?.status, 'ok');
    assert.equal(r.byId.get('sandbox.image')?.status, 'ok');
  });

  it('kubeadm\'s imageRepository: a public registry fails with the fix; the Sealos registry is accepted', async () => {
    const kubeadm = join(work.dir, 'kubeadm.yaml');
    await writeFile(kubeadm, 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.14\nimageRepository: registry.k8s.io\n');
    let r = await doctor(['--kubeadm-config', kubeadm]);
    const pub = r.byId.get('sealos.image-repository')!;
    assert.equal(pub.status, 'fail', JSON.stringify(pub));
    assert.match(pub.message, /public registry/);
    assert.match(pub.fix!, new RegExp(`imageRepository: ${reg.host}`));
    assert.equal(r.byId.get('kubeadm.image-repository'), undefined, 'on a Sealos node the Sealos check judges imageRepository');

    await writeFile(kubeadm, `apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nimageRepository: ${reg.host}\n`);
    r = await doctor(['--kubeadm-config', kubeadm, '--kubernetes', 'v1.30.14']);
    const own = r.byId.get('sealos.image-repository')!;
    // The registry holds every kubeadm image under the shim's names except coredns, whose path
    // ("coredns/coredns") kubeadm flattens to "coredns" under a custom imageRepository.
    assert.equal(own.status, 'fail', JSON.stringify(own));
    assert.match(own.message, new RegExp(`imageRepository ${reg.host}`));
    assert.match(own.message, new RegExp(`${reg.host}/coredns:`), 'names coredns');
    assert.doesNotMatch(own.message, /kube-apiserver|pause/, 'only coredns is missing');
  });
});
