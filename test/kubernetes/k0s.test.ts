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
v1.36.3+k0s.2	quay.io/k0sproject/pause:3.10.2-0	quay.io/k0sproject/kube-proxy:v1.36.3-1	quay.io/k0sproject/coredns:1.14.6-k0s.0	quay.io/k0sproject/apiserver-network-proxy-agent:v0.36.0-k0s.0	quay.io/k0sproject/metrics-server:v0.9.0-k0s.0
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

/*
 * Older releases, transcribed from the image constants in pkg/constant at each k0s tag (not from
 * manifests/k0s.json). Columns: tag, pause, kube-proxy, coredns, konnectivity agent, metrics-server, envoy.
 */
const OLDER = `
v1.28.2+k0s.0	registry.k8s.io/pause:3.8	quay.io/k0sproject/kube-proxy:v1.28.2	quay.io/k0sproject/coredns:1.11.1	quay.io/k0sproject/apiserver-network-proxy-agent:v0.1.4	registry.k8s.io/metrics-server/metrics-server:v0.6.4	quay.io/k0sproject/envoy-distroless:v1.24.1
v1.28.4+k0s.0	registry.k8s.io/pause:3.8	quay.io/k0sproject/kube-proxy:v1.28.4	quay.io/k0sproject/coredns:1.11.1	quay.io/k0sproject/apiserver-network-proxy-agent:v0.1.4	registry.k8s.io/metrics-server/metrics-server:v0.6.4	quay.io/k0sproject/envoy-distroless:v1.24.12
v1.28.12+k0s.0	registry.k8s.io/pause:3.8	quay.io/k0sproject/kube-proxy:v1.28.12	quay.io/k0sproject/coredns:1.11.3	quay.io/k0sproject/apiserver-network-proxy-agent:v0.1.4	quay.io/k0sproject/metrics-server:v0.7.1-0	quay.io/k0sproject/envoy-distroless:v1.24.12
v1.29.1+k0s.1	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.29.1	quay.io/k0sproject/coredns:1.11.1	quay.io/k0sproject/apiserver-network-proxy-agent:v0.1.4	registry.k8s.io/metrics-server/metrics-server:v0.6.4	quay.io/k0sproject/envoy-distroless:v1.29.0
v1.29.7+k0s.0	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.29.7	quay.io/k0sproject/coredns:1.11.3	quay.io/k0sproject/apiserver-network-proxy-agent:v0.1.4	quay.io/k0sproject/metrics-server:v0.7.1-0	quay.io/k0sproject/envoy-distroless:v1.29.7
v1.30.0+k0s.0	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.30.0	quay.io/k0sproject/coredns:1.11.3	quay.io/k0sproject/apiserver-network-proxy-agent:v0.30.3	registry.k8s.io/metrics-server/metrics-server:v0.7.1	quay.io/k0sproject/envoy-distroless:v1.30.1
v1.30.4+k0s.0	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.30.4	quay.io/k0sproject/coredns:1.11.3	quay.io/k0sproject/apiserver-network-proxy-agent:v0.30.3	quay.io/k0sproject/metrics-server:v0.7.1-0	quay.io/k0sproject/envoy-distroless:v1.30.4
v1.31.1+k0s.1	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.31.1	quay.io/k0sproject/coredns:1.11.3	quay.io/k0sproject/apiserver-network-proxy-agent:v0.30.3	registry.k8s.io/metrics-server/metrics-server:v0.7.2	quay.io/k0sproject/envoy-distroless:v1.31.1
v1.32.1+k0s.0	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.32.1	quay.io/k0sproject/coredns:1.12.0	quay.io/k0sproject/apiserver-network-proxy-agent:v0.31.0	registry.k8s.io/metrics-server/metrics-server:v0.7.2	quay.io/k0sproject/envoy-distroless:v1.31.3
v1.32.5+k0s.1	registry.k8s.io/pause:3.9	quay.io/k0sproject/kube-proxy:v1.32.5	quay.io/k0sproject/coredns:1.12.0	quay.io/k0sproject/apiserver-network-proxy-agent:v0.31.0	registry.k8s.io/metrics-server/metrics-server:v0.7.2	quay.io/k0sproject/envoy-distroless:v1.31.5
v1.33.1+k0s.0	quay.io/k0sproject/pause:3.10.1	quay.io/k0sproject/kube-proxy:v1.33.1	quay.io/k0sproject/coredns:1.12.1	quay.io/k0sproject/apiserver-network-proxy-agent:v0.32.0	quay.io/k0sproject/metrics-server:v0.7.2-0	quay.io/k0sproject/envoy-distroless:v1.32.3
v1.33.13+k0s.0	quay.io/k0sproject/pause:3.10.1	quay.io/k0sproject/kube-proxy:v1.33.13	quay.io/k0sproject/coredns:1.12.4	quay.io/k0sproject/apiserver-network-proxy-agent:v0.32.0	quay.io/k0sproject/metrics-server:v0.7.2-1	quay.io/k0sproject/envoy-distroless:v1.32.8
v1.34.1+k0s.1	quay.io/k0sproject/pause:3.10.1	quay.io/k0sproject/kube-proxy:v1.34.1	quay.io/k0sproject/coredns:1.13.1	quay.io/k0sproject/apiserver-network-proxy-agent:v0.33.0	quay.io/k0sproject/metrics-server:v0.7.2-0	quay.io/k0sproject/envoy-distroless:v1.34.3
v1.35.1+k0s.0	quay.io/k0sproject/pause:3.10.1	quay.io/k0sproject/kube-proxy:v1.35.1	quay.io/k0sproject/coredns:1.14.1	quay.io/k0sproject/apiserver-network-proxy-agent:v0.34.0-1	quay.io/k0sproject/metrics-server:v0.8.1-0	quay.io/k0sproject/envoy-distroless:v1.37.0
`;

test('k0s: older releases, each asked by its full tag, give the images of that tag', () => {
  const older = OLDER.trim().split('\n').map((l) => l.split('\t') as [string, string, string, string, string, string, string]);
  assert.ok(older.length >= 8);
  for (const [tag, pause, proxy, coredns, konnectivity, metrics, envoy] of older) {
    const set = kubernetesImages(tag, { distribution: 'k0s' });
    assert.equal(set.version, tag);
    assert.equal(set.exact, true, tag);
    const roles = byRole(tag);
    assert.equal(roles.get('pause'), pause, tag);
    assert.equal(roles.get('kube-proxy'), proxy, tag);
    assert.equal(roles.get('coredns'), coredns, tag);
    assert.equal(roles.get('konnectivity-agent'), konnectivity, tag);
    assert.equal(roles.get('metrics-server'), metrics, tag);
    assert.equal(roles.get('envoy'), envoy, tag);
  }
});

test('k0s: a Kubernetes patch with two k0s builds resolves to the newest build unless the build is given', () => {
  // v1.31.1+k0s.0 ships calico v3.28.1-0, v1.31.1+k0s.1 calico v3.28.2-0 (pkg/constant at the tags).
  const newest = kubernetesImages('v1.31.1', { distribution: 'k0s' });
  assert.equal(newest.version, 'v1.31.1+k0s.1');
  assert.equal(newest.exact, false);
  assert.equal(byRole('v1.31.1').get('calico-node'), 'quay.io/k0sproject/calico-node:v3.28.2-0');
  const first = kubernetesImages('v1.31.1+k0s.0', { distribution: 'k0s' });
  assert.equal(first.version, 'v1.31.1+k0s.0');
  assert.equal(first.exact, true);
  assert.equal(byRole('v1.31.1+k0s.0').get('calico-node'), 'quay.io/k0sproject/calico-node:v3.28.1-0');
  // v1.35.1: calico v3.31.3-0 in k0s.0, v3.31.4-1 in k0s.1.
  const b = kubernetesImages('v1.35.1', { distribution: 'k0s' });
  assert.equal(b.version, 'v1.35.1+k0s.1');
  assert.equal(b.exact, false);
  assert.equal(byRole('v1.35.1').get('calico-cni'), 'quay.io/k0sproject/calico-cni:v3.31.4-1');
  assert.equal(byRole('v1.35.1+k0s.0').get('calico-cni'), 'quay.io/k0sproject/calico-cni:v3.31.3-0');
  // Both builds of v1.33.13 are known.
  assert.equal(kubernetesImages('v1.33.13+k0s.0', { distribution: 'k0s' }).exact, true);
  assert.equal(kubernetesImages('v1.33.13', { distribution: 'k0s' }).version, 'v1.33.13+k0s.1');
});

test('k0s v1.28.2+k0s.0: the `list-images --all` images in order, without pushgateway-ttl, which k0s listed only from Feb 2025', () => {
  assert.deepEqual(kubernetesImages('v1.28.2+k0s.0', { distribution: 'k0s' }).images.map((i) => i.ref), [
    'quay.io/k0sproject/calico-cni:v3.26.1-1',
    'quay.io/k0sproject/calico-kube-controllers:v3.26.1-1',
    'quay.io/k0sproject/calico-node:v3.26.1-1',
    'quay.io/k0sproject/coredns:1.11.1',
    'quay.io/k0sproject/apiserver-network-proxy-agent:v0.1.4',
    'quay.io/k0sproject/kube-proxy:v1.28.2',
    'quay.io/k0sproject/kube-router:v1.6.0-iptables1.8.9-0',
    'quay.io/k0sproject/cni-node:1.1.1-k0s.1',
    'registry.k8s.io/metrics-server/metrics-server:v0.6.4',
    'registry.k8s.io/pause:3.8',
    // no pushgateway-ttl: k0s v1.28.2's list-images does not print it (see manifests/k0s.json notes)
    'quay.io/k0sproject/envoy-distroless:v1.24.1',
  ]);
});

/*
 * The full `k0s airgap list-images --all` output (linux/amd64) of single releases, transcribed from
 * pkg/constant, pkg/apis/k0s/v1beta1 and pkg/airgap/images.go at each tag (not from manifests/k0s.json).
 */
test('k0s v1.29.11+k0s.0 (before Feb 2025): no pushgateway-ttl, the last release of v1.29 before the skipped v1.29.12', () => {
  assert.deepEqual(kubernetesImages('v1.29.11+k0s.0', { distribution: 'k0s' }).images.map((i) => i.ref), [
    'quay.io/k0sproject/calico-cni:v3.26.4-0',
    'quay.io/k0sproject/calico-kube-controllers:v3.26.4-0',
    'quay.io/k0sproject/calico-node:v3.26.4-0',
    'quay.io/k0sproject/coredns:1.11.4',
    'quay.io/k0sproject/apiserver-network-proxy-agent:v0.1.4',
    'quay.io/k0sproject/kube-proxy:v1.29.11',
    'quay.io/k0sproject/kube-router:v1.6.1-iptables1.8.9-0',
    'quay.io/k0sproject/cni-node:1.3.0-k0s.0',
    'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
    'registry.k8s.io/pause:3.9',
    'quay.io/k0sproject/envoy-distroless:v1.29.10',
  ]);
  // v1.29.14 is the first v1.29 release whose list-images prints it.
  assert.equal(byRole('v1.29.14+k0s.0').get('pushgateway'), 'quay.io/k0sproject/pushgateway-ttl:1.4.0-k0s.0');
  assert.ok(!byRole('v1.29.13+k0s.0').has('pushgateway'));
});

test('k0s v1.29.6+k0s.0 and v1.30.2+k0s.0: a rebuilt kube-proxy tagged -1', () => {
  assert.deepEqual(kubernetesImages('v1.29.6+k0s.0', { distribution: 'k0s' }).images.map((i) => i.ref), [
    'quay.io/k0sproject/calico-cni:v3.26.1-1',
    'quay.io/k0sproject/calico-kube-controllers:v3.26.1-1',
    'quay.io/k0sproject/calico-node:v3.26.1-1',
    'quay.io/k0sproject/coredns:1.11.3',
    'quay.io/k0sproject/apiserver-network-proxy-agent:v0.1.4',
    'quay.io/k0sproject/kube-proxy:v1.29.6-1',
    'quay.io/k0sproject/kube-router:v1.6.1-iptables1.8.9-0',
    'quay.io/k0sproject/cni-node:1.3.0-k0s.0',
    'registry.k8s.io/metrics-server/metrics-server:v0.6.4',
    'registry.k8s.io/pause:3.9',
    'quay.io/k0sproject/envoy-distroless:v1.29.5',
  ]);
  assert.equal(byRole('v1.30.2').get('kube-proxy'), 'quay.io/k0sproject/kube-proxy:v1.30.2-1');
  // its neighbours use the plain Kubernetes version
  assert.equal(byRole('v1.29.5').get('kube-proxy'), 'quay.io/k0sproject/kube-proxy:v1.29.5');
  assert.equal(byRole('v1.29.7').get('kube-proxy'), 'quay.io/k0sproject/kube-proxy:v1.29.7');
  assert.equal(
    kubernetesImages('v1.29.6', { distribution: 'k0s', imageRepository: 'mirror.local:5000' }).images.find((i) => i.role === 'kube-proxy')?.ref,
    'mirror.local:5000/k0sproject/kube-proxy:v1.29.6-1',
  );
});

test('k0s: a Kubernetes patch k0s never released is refused, naming the k0s releases on either side', () => {
  const cases: [string, string, string][] = [
    ['v1.29.12', 'v1.29.11+k0s.0', 'v1.29.13+k0s.0'],
    ['v1.29.12+k0s.0', 'v1.29.11+k0s.0', 'v1.29.13+k0s.0'],
    ['1.30.8', 'v1.30.7+k0s.0', 'v1.30.9+k0s.0'],
    ['v1.31.4', 'v1.31.3+k0s.0', 'v1.31.5+k0s.0'],
    ['v1.32.9', 'v1.32.8+k0s.0', 'v1.32.10+k0s.0'],
    ['v1.33.5', 'v1.33.4+k0s.0', 'v1.33.6+k0s.0'],
  ];
  for (const [version, before, after] of cases) {
    assert.throws(() => kubernetesImages(version, { distribution: 'k0s' }), (e: unknown) => {
      assert.ok(isAirgapError(e));
      assert.equal(e.code, 'ERR_UNSUPPORTED_KUBERNETES_VERSION');
      assert.match(e.message, /never released by k0s/, version);
      assert.ok(e.message.includes(`${before} and ${after}`), `${version}: ${e.message}`);
      assert.ok(String(e.hint).includes(after), `${version}: ${e.hint}`);
      assert.deepEqual((e.details as { nearestReleases?: string[] }).nearestReleases, [before, after]);
      return true;
    });
  }
  // The minor and the releases around the hole still resolve.
  assert.equal(kubernetesImages('v1.29', { distribution: 'k0s' }).version, 'v1.29.15+k0s.0');
  assert.equal(kubernetesImages('v1.29.13', { distribution: 'k0s' }).version, 'v1.29.13+k0s.0');
  assert.equal(kubernetesImages('v1.29.11', { distribution: 'k0s' }).version, 'v1.29.11+k0s.0');
});

test('k0s v1.36.3+k0s.2: the order k0s v1.36 prints, with traefik', () => {
  assert.deepEqual(kubernetesImages('v1.36.3+k0s.2', { distribution: 'k0s' }).images.map((i) => i.ref), [
    'quay.io/k0sproject/pause:3.10.2-0',
    'quay.io/k0sproject/apiserver-network-proxy-agent:v0.36.0-k0s.0',
    'quay.io/k0sproject/kube-proxy:v1.36.3-1',
    'quay.io/k0sproject/coredns:1.14.6-k0s.0',
    'quay.io/k0sproject/metrics-server:v0.9.0-k0s.0',
    'quay.io/k0sproject/pushgateway-ttl:1.4.0-k0s.2',
    'quay.io/k0sproject/cni-node:v1.9.1-k0s.1',
    'quay.io/k0sproject/kube-router:v2.10.0-iptables1.8.13-k0s.1',
    'quay.io/k0sproject/calico-cni:v3.32.1-2',
    'quay.io/k0sproject/calico-kube-controllers:v3.32.1-2',
    'quay.io/k0sproject/calico-node:v3.32.1-2',
    'quay.io/k0sproject/envoy-distroless:v1.39.0',
    'quay.io/k0sproject/traefik:v3.7.7-k0s.0',
  ]);
  assert.deepEqual(kubernetesImages('v1.36.1', { distribution: 'k0s', variants: { cni: 'kuberouter' } }).images.map((i) => i.ref), [
    'quay.io/k0sproject/pause:3.10.2-0',
    'quay.io/k0sproject/apiserver-network-proxy-agent:v0.36.0-k0s.0',
    'quay.io/k0sproject/kube-proxy:v1.36.1',
    'quay.io/k0sproject/coredns:1.14.3-k0s.0',
    'quay.io/k0sproject/metrics-server:v0.8.1-0',
    'quay.io/k0sproject/pushgateway-ttl:1.4.0-k0s.1',
    'quay.io/k0sproject/cni-node:1.8.0-k0s.0',
    'quay.io/k0sproject/kube-router:v2.10.0-iptables1.8.13-k0s.0',
    'quay.io/k0sproject/envoy-distroless:v1.37.2',
    'quay.io/k0sproject/traefik:v3.7.5-k0s.0',
  ]);
  // traefik is new in v1.36
  assert.ok(!byRole('v1.35.7').has('traefik'));
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
  assert.deepEqual(supportedVersions('k0s').map((r) => r.first), [
    'v1.28.2+k0s.0', 'v1.29.1+k0s.0', 'v1.30.0+k0s.0', 'v1.31.1+k0s.0', 'v1.32.1+k0s.0', 'v1.33.1+k0s.0', 'v1.34.1+k0s.0', 'v1.35.1+k0s.0', 'v1.36.1+k0s.0',
  ]);
});

test('k0s: unknown k0s builds and patches name what is known', () => {
  const cases: [string, string][] = [
    ['v1.33.13+k0s.2', 'v1.33.13+k0s.0, v1.33.13+k0s.1'],
    ['v1.30.15', 'v1.30.14+k0s.0'],
    ['v1.28.1', 'v1.28.2+k0s.0 to v1.28.15+k0s.0'],
    ['v1.27.16', 'v1.28.2+k0s.0 to v1.36.3+k0s.2'],
    ['v1.36.0', 'v1.36.1+k0s.0 to v1.36.3+k0s.2'],
    ['v1.37.0', 'v1.28.2+k0s.0 to v1.36.3+k0s.2'],
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
