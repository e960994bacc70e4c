import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAirgapError } from '../../src/errors.js';
import { kubernetesImages, supportedVersions } from '../../src/kubernetes/index.js';

/*
 * Golden data from k0s-images.md (the k0s source constants at each tag), kept apart from
 * manifests/k0s.json. Columns: tag, pause, kube-proxy, coredns, konnectivity agent, metrics-server.
 */
const GOLDEN = `
v1.28.15+k0s.0	registry.k8s.io/pause:3.8	quay.io/k0sproject/kube-proxy:v1.28.15	quay.io/k0sproject/coredns:1.11.3	quay.io/k0sproject/apiserver-network-proxy-agent:v0.1.4	registry.k8s.io/metrics-server/metrics-server:v0.7.2
v1.29.15+k0s.0	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.29.15	quay.io/k0sproject/coredns:1.11.4	quay.io/k0sproject/apiserver-network-proxy-agent:v0.1.4	registry.k8s.io/metrics-server/metrics-server:v0.7.2
v1.30.14+k0s.0	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.30.14	quay.io/k0sproject/coredns:1.11.4	quay.io/k0sproject/apiserver-network-proxy-agent:v0.30.3	registry.k8s.io/metrics-server/metrics-server:v0.7.2
v1.31.14+k0s.0	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.31.14	quay.io/k0sproject/coredns:1.11.4	quay.io/k0sproject/apiserver-network-proxy-agent:v0.30.3	registry.k8s.io/metrics-server/metrics-server:v0.7.2
v1.32.13+k0s.0	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.32.13	quay.io/k0sproject/coredns:1.12.4	quay.io/k0sproject/apiserver-network-proxy-agent:v0.31.0	registry.k8s.io/metrics-server/metrics-server:v0.7.2
v1.33.13+k0s.1	quay.io/k0sproject/pause:3.10.1	quay.io/k0sproject/kube-proxy:v1.33.13	quay.io/k0sproject/coredns:1.12.4	quay.io/k0sproject/apiserver-network-proxy-agent:v0.32.0	quay.io/k0sproject/metrics-server:v0.7.2-1
v1.34.10+k0s.0	quay.io/k0sproject/pause:3.10.1	quay.io/k0sproject/kube-proxy:v1.34.10	quay.io/k0sproject/coredns:1.13.2	quay.io/k0sproject/apiserver-network-proxy-agent:v0.33.0	quay.io/k0sproject/metrics-server:v0.7.2-1
v1.35.7+k0s.0	quay.io/k0sproject/pause:3.10.1	quay.io/k0sproject/kube-proxy:v1.35.7	quay.io/k0sproject/coredns:1.14.2-0	quay.io/k0sproject/apiserver-network-proxy-agent:v0.34.0-k0s.2	quay.io/k0sproject/metrics-server:v0.8.1-0
`;

const rows = GOLDEN.trim().split('\n').map((l) => l.split('\t') as [string, string, string, string, string, string]);

function byRole(version: string, opts: { variants?: Record<string, string> } = {}): Map<string, string> {
  return new Map(kubernetesImages(version, { distribution: 'k0s', ...opts }).images.map((i) => [i.role, i.ref]));
}

test('k0s: pause, kube-proxy, coredns, konnectivity and metrics-server of every known release', () => {
  for (const [tag, pause, proxy, coredns, konnectivity, metrics] of rows) {
    const set = kubernetesImages(tag, { distribution: 'k0s' });
    assert.equal(set.version, tag);
    assert.equal(set.exact, true);
    const roles = byRole(tag);
    assert.equal(roles.get('pause'), pause, tag);
    assert.equal(roles.get('kube-proxy'), proxy, tag);
    assert.equal(roles.get('coredns'), coredns, tag);
    assert.equal(roles.get('konnectivity-agent'), konnectivity, tag);
    assert.equal(roles.get('metrics-server'), metrics, tag);
    // k0s runs the control plane as binaries.
    for (const absent of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd']) assert.ok(!roles.has(absent), `${tag} ${absent}`);
  }
});

test('k0s v1.30.14+k0s.0: the full `k0s airgap list-images --all` output, in order', () => {
  assert.deepEqual(kubernetesImages('v1.30.14+k0s.0', { distribution: 'k0s' }).images.map((i) => i.ref), [
    'quay.io/k0sproject/calico-cni:v3.27.5-0',
    'quay.io/k0sproject/calico-kube-controllers:v3.27.5-0',
    'quay.io/k0sproject/calico-node:v3.27.5-0',
    'quay.io/k0sproject/coredns:1.11.4',
    'quay.io/k0sproject/apiserver-network-proxy-agent:v0.30.3',
    'quay.io/k0sproject/kube-proxy:v1.30.14',
    'quay.io/k0sproject/kube-router:v2.1.0-iptables1.8.9-0',
    'quay.io/k0sproject/cni-node:1.3.0-k0s.0',
    'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
    'registry.k8s.io/pause:3.9',
    'quay.io/k0sproject/pushgateway-ttl:1.4.0-k0s.0',
    'quay.io/k0sproject/envoy-distroless:v1.30.9',
  ]);
});

test('k0s CNI variants are data: cni=calico drops kube-router, cni=kuberouter drops calico', () => {
  const calico = byRole('v1.30.14', { variants: { cni: 'calico' } });
  assert.ok(calico.has('calico-node') && calico.has('calico-cni') && calico.has('calico-kube-controllers'));
  assert.ok(!calico.has('kube-router') && !calico.has('cni-node'));
  const kr = byRole('v1.30.14', { variants: { cni: 'kuberouter' } });
  assert.equal(kr.get('kube-router'), 'quay.io/k0sproject/kube-router:v2.1.0-iptables1.8.9-0');
  assert.ok(!kr.has('calico-node'));
  assert.equal(kr.size, 9);
  assert.throws(() => kubernetesImages('v1.30.14', { distribution: 'k0s', variants: { cni: 'flannel' } }), (e: unknown) => {
    assert.ok(isAirgapError(e));
    assert.equal(e.code, 'ERR_INVALID_VARIANT');
    assert.match(String(e.hint), /kuberouter or calico/);
    return true;
  });
});

test('k0s versions: a Kubernetes version or a minor picks the known k0s release, and says it is not exact', () => {
  const a = kubernetesImages('v1.30.14', { distribution: 'k0s' });
  assert.equal(a.version, 'v1.30.14+k0s.0');
  assert.equal(a.exact, false);
  const b = kubernetesImages('v1.33', { distribution: 'k0s' });
  assert.equal(b.version, 'v1.33.13+k0s.1');
  assert.equal(b.exact, false);
  assert.deepEqual(supportedVersions('k0s').map((r) => r.last), rows.map((r) => r[0]));
});

test('k0s: unknown k0s builds and patches name what is known', () => {
  const cases: [string, string][] = [
    ['v1.33.13+k0s.0', 'v1.33.13+k0s.1'],
    ['v1.30.13', 'v1.30.14+k0s.0'],
    ['v1.27.16', 'v1.28.15+k0s.0 to v1.35.7+k0s.0'],
    ['v1.36.0', 'v1.28.15+k0s.0 to v1.35.7+k0s.0'],
  ];
  for (const [version, named] of cases) {
    assert.throws(() => kubernetesImages(version, { distribution: 'k0s' }), (e: unknown) => {
      assert.ok(isAirgapError(e));
      assert.equal(e.code, 'ERR_UNSUPPORTED_KUBERNETES_VERSION');
      assert.ok(e.message.includes(named), `${version}: ${e.message}`);
      return true;
    });
  }
});

test('k0s image repository replaces each registry host and keeps the path (spec.images.repository)', () => {
  const roles = byRole('v1.30.14');
  const moved = new Map(
    kubernetesImages('v1.30.14', { distribution: 'k0s', imageRepository: 'mirror.local:5000' }).images.map((i) => [i.role, i.ref]),
  );
  assert.equal(moved.get('kube-proxy'), 'mirror.local:5000/k0sproject/kube-proxy:v1.30.14');
  assert.equal(moved.get('pause'), 'mirror.local:5000/pause:3.9');
  assert.equal(moved.get('metrics-server'), 'mirror.local:5000/metrics-server/metrics-server:v0.7.2');
  assert.equal(moved.size, roles.size);
});

test('a k0s version asked of kubeadm points at --distribution k0s', () => {
  assert.throws(() => kubernetesImages('v1.30.14+k0s.0'), (e: unknown) => {
    assert.ok(isAirgapError(e));
    assert.equal(e.code, 'ERR_UNSUPPORTED_KUBERNETES_VERSION');
    assert.match(String(e.hint), /--distribution k0s/);
    return true;
  });
});
