import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyBundle } from '../../src/verify/verify-bundle.js';
import { verifyList } from '../../src/verify/verify-list.js';
import type { Finding, VerifyReport } from '../../src/verify/report.js';
import { kubeadmImages, makeBundle, makeTempDir } from '../helpers/make-bundle.js';
import { KUBEADM_V1_30_14_REFS as V1_30_14 } from '../helpers/kubeadm-images.js';

let dir: string;
let cleanup: () => Promise<void>;
let n = 0;

before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-coverage-'));
});
after(async () => {
  await cleanup();
});

async function listFile(lines: readonly string[]): Promise<string> {
  const p = join(dir, `list-${n++}.txt`);
  await writeFile(p, `${lines.join('\n')}\n`);
  return p;
}

function errors(r: VerifyReport): Finding[] {
  return r.checks.flatMap((c) => c.findings.filter((f) => f.severity === 'error'));
}

describe('verify --list F --kubernetes V (no bundle)', () => {
  it('a wrong pause fails, naming both tags', async () => {
    const list = await listFile(['# kubeadm images', ...V1_30_14.map((r) => (r.endsWith('pause:3.9') ? 'registry.k8s.io/pause:3.8' : r)), 'docker.io/calico/node:v3.28.1']);
    const r = await verifyList({ list, kubernetes: 'v1.30.14' });
    assert.equal(r.ok, false);
    assert.equal(r.bundle, null);
    const e = errors(r);
    assert.equal(e.length, 1);
    assert.equal(e[0]!.code, 'tag-mismatch');
    assert.match(e[0]!.message, /registry\.k8s\.io\/pause:3\.9/);
    assert.match(e[0]!.message, /registry\.k8s\.io\/pause:3\.8/);
    assert.match(e[0]!.message, new RegExp(`${list.replace(/[.]/g, '\\.')}:7`));
    assert.equal(e[0]!.ref, 'registry.k8s.io/pause:3.9');
    assert.equal(r.kubernetes!.needed[0]!.role, 'pause', 'pause first');
    assert.deepEqual(r.kubernetes!.needed[0]!.found, ['registry.k8s.io/pause:3.8']);
    assert.deepEqual(r.list!.entries.filter((x) => x.status !== 'present').map((x) => [x.ref, x.status]), [
      ['registry.k8s.io/pause:3.8', 'mismatch'],
      ['docker.io/calico/node:v3.28.1', 'extra'],
    ]);
  });

  it('names every missing image and every mismatch', async () => {
    const list = await listFile(['registry.k8s.io/kube-apiserver:v1.30.13', 'registry.k8s.io/pause:3.9', 'registry.k8s.io/coredns/coredns:v1.11.3']);
    const r = await verifyList({ list, kubernetes: 'v1.30.14' });
    const e = errors(r);
    assert.deepEqual(e.map((f) => [f.code, f.ref]).sort(), [
      ['kubernetes-image-missing', 'registry.k8s.io/etcd:3.5.15-0'],
      ['kubernetes-image-missing', 'registry.k8s.io/kube-controller-manager:v1.30.14'],
      ['kubernetes-image-missing', 'registry.k8s.io/kube-proxy:v1.30.14'],
      ['kubernetes-image-missing', 'registry.k8s.io/kube-scheduler:v1.30.14'],
      ['tag-mismatch', 'registry.k8s.io/kube-apiserver:v1.30.14'],
    ]);
  });

  it('a complete list passes; images beyond the version\'s are a note', async () => {
    const list = await listFile([...V1_30_14, 'quay.io/cilium/cilium:v1.16.0']);
    const r = await verifyList({ list, kubernetes: 'v1.30.14' });
    assert.equal(r.ok, true, JSON.stringify(errors(r)));
    const info = r.checks.flatMap((c) => c.findings).filter((f) => f.severity === 'info');
    assert.deepEqual(info.map((f) => f.code), ['extra-images']);
    assert.match(info[0]!.message, /quay\.io\/cilium\/cilium:v1\.16\.0/);
  });

  it('a list in familiar spelling matches (pause:3.9 is not registry.k8s.io, so it is missing)', async () => {
    const list = await listFile(['pause:3.9', ...V1_30_14.filter((r) => !r.includes('pause'))]);
    const r = await verifyList({ list, kubernetes: 'v1.30.14' });
    assert.deepEqual(errors(r).map((f) => f.ref), ['registry.k8s.io/pause:3.9']);
  });

  it('refuses an unknown version and a bad list as usage errors', async () => {
    const list = await listFile(V1_30_14);
    await assert.rejects(verifyList({ list, kubernetes: 'v1.99.0' }), { kind: 'usage' });
    const bad = await listFile(['registry.k8s.io/Pause:3.9']);
    await assert.rejects(verifyList({ list: bad, kubernetes: 'v1.30.14' }), { kind: 'usage', code: 'ERR_INVALID_IMAGE_LIST' });
  });
});

describe('k0s: a distribution with variants', () => {
  // `k0s airgap list-images` for v1.30.14+k0s.0 with calico (the k0s reference list).
  const K0S_CALICO = [
    'quay.io/k0sproject/calico-cni:v3.27.5-0', 'quay.io/k0sproject/calico-kube-controllers:v3.27.5-0', 'quay.io/k0sproject/calico-node:v3.27.5-0',
    'quay.io/k0sproject/coredns:1.11.4', 'quay.io/k0sproject/apiserver-network-proxy-agent:v0.30.3', 'quay.io/k0sproject/kube-proxy:v1.30.14',
    'registry.k8s.io/metrics-server/metrics-server:v0.7.2', 'registry.k8s.io/pause:3.9', 'quay.io/k0sproject/pushgateway-ttl:1.4.0-k0s.0',
    'quay.io/k0sproject/envoy-distroless:v1.30.9',
  ];

  it('a calico-only list passes: the variant that fits is chosen and named', async () => {
    const list = await listFile(K0S_CALICO);
    const r = await verifyList({ list, kubernetes: 'v1.30.14+k0s.0' });
    assert.equal(r.ok, true, JSON.stringify(errors(r)));
    assert.deepEqual(r.kubernetes!.variants, { cni: 'calico' });
    assert.equal(r.kubernetes!.distribution, 'k0s');
    assert.match(r.checks.find((c) => c.name === 'kubernetes')!.summary, /cni=calico/);
  });

  it('the wrong pause still fails, naming both', async () => {
    const list = await listFile(K0S_CALICO.map((r) => r.replace('pause:3.9', 'pause:3.8')));
    const r = await verifyList({ list, kubernetes: 'v1.30.14', distribution: 'k0s' });
    assert.deepEqual(errors(r).map((f) => f.code), ['tag-mismatch']);
    assert.match(errors(r)[0]!.message, /needs registry\.k8s\.io\/pause:3\.9 \(pause\); the list has registry\.k8s\.io\/pause:3\.8/);
  });
});

describe('verify BUNDLE: Kubernetes and list coverage', () => {
  it('a bundle of the whole kubeadm set passes against the version its metadata records', async () => {
    const b = await makeBundle({ dir, images: kubeadmImages(), kubernetes: { version: 'v1.30.14', distribution: 'kubeadm' }, platforms: ['linux/amd64'] });
    const r = await verifyBundle(b.path);
    assert.equal(r.ok, true, JSON.stringify(errors(r)));
    const k = r.checks.find((c) => c.name === 'kubernetes')!;
    assert.equal(k.status, 'pass');
    assert.equal(r.kubernetes!.source, 'metadata');
    assert.equal(r.kubernetes!.needed.length, 7);
    assert.equal(r.kubernetes!.needed[0]!.ref, 'registry.k8s.io/pause:3.9');
    assert.deepEqual(k.subjects[0], 'registry.k8s.io/pause:3.9');
  });

  it('a bundle with pause:3.8 fails v1.30.14, naming both', async () => {
    const b = await makeBundle({ dir, images: kubeadmImages('v1.30.14', { pause: '3.8' }) });
    const r = await verifyBundle(b.path, { kubernetes: 'v1.30.14' });
    assert.equal(r.ok, false);
    const e = errors(r);
    assert.equal(e.length, 1);
    assert.equal(e[0]!.code, 'tag-mismatch');
    assert.match(e[0]!.message, /needs registry\.k8s\.io\/pause:3\.9 \(pause\); the bundle has registry\.k8s\.io\/pause:3\.8/);
    assert.equal(r.kubernetes!.source, 'flag');
    // the same bundle is right for v1.25, whose kubeadm wants pause:3.8 — but the rest is wrong there
    const other = await verifyBundle(b.path, { kubernetes: 'v1.25.16' });
    assert.equal(errors(other).some((f) => f.ref === 'registry.k8s.io/pause:3.8'), false);
  });

  it('--list against a bundle: missing, another tag, a pinned digest, and extras', async () => {
    const b = await makeBundle({ dir });
    const kp = b.images.find((i) => i.ref.includes('kube-proxy'))!;
    const list = await listFile([
      'registry.k8s.io/pause:3.9',
      'registry.k8s.io/kube-proxy:v1.30.13',
      'registry.k8s.io/etcd:3.5.15-0',
    ]);
    const r = await verifyBundle(b.path, { list });
    assert.equal(r.ok, false);
    const e = errors(r);
    assert.deepEqual(e.map((f) => [f.code, f.ref]), [
      ['list-image-missing', 'registry.k8s.io/etcd:3.5.15-0'],
      ['tag-mismatch', 'registry.k8s.io/kube-proxy:v1.30.13'],
    ]);
    assert.match(e[1]!.message, /the list names registry\.k8s\.io\/kube-proxy:v1\.30\.13 \(.*:2\); the bundle has registry\.k8s\.io\/kube-proxy:v1\.30\.14 instead/);
    const warn = r.checks.find((c) => c.name === 'list')!.findings.filter((f) => f.severity === 'warning');
    assert.deepEqual(warn.map((f) => f.images), [['registry.k8s.io/coredns/coredns:v1.11.3']]);
    assert.deepEqual(r.list!.entries.map((x) => x.status), ['present', 'mismatch', 'missing']);

    const pinned = await listFile([`registry.k8s.io/kube-proxy:v1.30.14@${kp.descriptor.digest}`, 'registry.k8s.io/kube-proxy:v1.30.13']);
    const rp = await verifyBundle(b.path, { list: pinned });
    assert.deepEqual(errors(rp).map((f) => [f.code, f.ref]), [['list-image-missing', 'registry.k8s.io/kube-proxy:v1.30.13']]);
    assert.match(errors(rp)[0]!.message, /not in the bundle \(it holds registry\.k8s\.io\/kube-proxy:v1\.30\.14\)/);

    const wrongDigest = await listFile([`registry.k8s.io/pause:3.9@${kp.descriptor.digest}`]);
    const rd = await verifyBundle(b.path, { list: wrongDigest });
    assert.deepEqual(errors(rd).map((f) => f.code), ['digest-mismatch']);
    assert.match(errors(rd)[0]!.message, /pins registry\.k8s\.io\/pause:3\.9@sha256:/);
  });
});
