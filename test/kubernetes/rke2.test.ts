import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kubernetesImages, parseDistribution, supportedVersions } from '../../src/kubernetes/index.js';

/**
 * Golden sets transcribed from RKE2's own sources: scripts/build-images (build/images-core.txt, the
 * rke2-images-core.linux-amd64.txt of the release) and scripts/version.sh at each release tag.
 */
const RKE2_V1_28_1_R1 = [
  'docker.io/rancher/rke2-runtime:v1.28.1-rke2r1',
  'docker.io/rancher/hardened-kubernetes:v1.28.1-rke2r1-build20230825',
  'docker.io/rancher/hardened-coredns:v1.10.1-build20230607',
  'docker.io/rancher/hardened-cluster-autoscaler:v1.8.6-build20230609',
  'docker.io/rancher/hardened-dns-node-cache:1.22.20-build20230607',
  'docker.io/rancher/hardened-etcd:v3.5.9-k3s1-build20230802',
  'docker.io/rancher/hardened-k8s-metrics-server:v0.6.3-build20230607',
  'docker.io/rancher/klipper-helm:v0.8.2-build20230815',
  'docker.io/rancher/klipper-lb:v0.4.4',
  'docker.io/rancher/mirrored-pause:3.6',
  'docker.io/rancher/mirrored-ingress-nginx-kube-webhook-certgen:v20230312-helm-chart-4.5.2-28-g66a760794',
  'docker.io/rancher/nginx-ingress-controller:nginx-1.7.1-hardened1',
  'docker.io/rancher/rke2-cloud-provider:v1.26.3-build20230608',
  'docker.io/rancher/mirrored-sig-storage-snapshot-controller:v6.2.1',
  'docker.io/rancher/mirrored-sig-storage-snapshot-validation-webhook:v6.2.2',
];

const RKE2_V1_30_14_R1 = [
  'docker.io/rancher/rke2-runtime:v1.30.14-rke2r1',
  'docker.io/rancher/hardened-kubernetes:v1.30.14-rke2r1-build20250618',
  'docker.io/rancher/hardened-coredns:v1.12.2-build20250611',
  'docker.io/rancher/hardened-cluster-autoscaler:v1.10.2-build20250611',
  'docker.io/rancher/hardened-dns-node-cache:1.26.0-build20250611',
  'docker.io/rancher/hardened-etcd:v3.5.21-k3s1-build20250612',
  'docker.io/rancher/hardened-k8s-metrics-server:v0.7.2-build20250612',
  'docker.io/rancher/hardened-addon-resizer:1.8.23-build20250612',
  'docker.io/rancher/klipper-helm:v0.9.7-build20250616',
  'docker.io/rancher/klipper-lb:v0.4.13',
  'docker.io/rancher/mirrored-pause:3.6',
  'docker.io/rancher/mirrored-ingress-nginx-kube-webhook-certgen:v1.5.3',
  'docker.io/rancher/nginx-ingress-controller:v1.12.2-hardened2',
  'docker.io/rancher/rke2-cloud-provider:v1.30.13-rc1.0.20250516172343-e77f78ee9466-build20250613',
  'docker.io/rancher/mirrored-sig-storage-snapshot-controller:v8.2.0',
];

const RKE2_V1_30_14_R4 = [
  'docker.io/rancher/rke2-runtime:v1.30.14-rke2r4',
  'docker.io/rancher/hardened-kubernetes:v1.30.14-rke2r4-build20250911',
  'docker.io/rancher/hardened-coredns:v1.12.3-build20250806',
  'docker.io/rancher/hardened-cluster-autoscaler:v1.10.2-build20250611',
  'docker.io/rancher/hardened-dns-node-cache:1.26.0-build20250611',
  'docker.io/rancher/hardened-etcd:v3.5.21-k3s1-build20250612',
  'docker.io/rancher/hardened-k8s-metrics-server:v0.8.0-build20250704',
  'docker.io/rancher/hardened-addon-resizer:1.8.23-build20250612',
  'docker.io/rancher/klipper-helm:v0.9.8-build20250709',
  'docker.io/rancher/klipper-lb:v0.4.13',
  'docker.io/rancher/mirrored-pause:3.6',
  'docker.io/rancher/mirrored-ingress-nginx-kube-webhook-certgen:v1.6.0',
  'docker.io/rancher/nginx-ingress-controller:v1.12.4-hardened7',
  'docker.io/rancher/rke2-cloud-provider:v1.30.13-rc1.0.20250516172343-e77f78ee9466-build20250613',
  'docker.io/rancher/mirrored-sig-storage-snapshot-controller:v8.2.0',
];

const RKE2_V1_33_0_R1 = [
  'docker.io/rancher/rke2-runtime:v1.33.0-rke2r1',
  'docker.io/rancher/hardened-kubernetes:v1.33.0-rke2r1-build20250425',
  'docker.io/rancher/hardened-coredns:v1.12.1-build20250401',
  'docker.io/rancher/hardened-cluster-autoscaler:v1.9.0-build20241203',
  'docker.io/rancher/hardened-dns-node-cache:1.25.0-build20250127',
  'docker.io/rancher/hardened-etcd:v3.5.21-k3s1-build20250411',
  'docker.io/rancher/hardened-k8s-metrics-server:v0.7.2-build20250110',
  'docker.io/rancher/hardened-addon-resizer:1.8.22-build20250110',
  'docker.io/rancher/klipper-helm:v0.9.5-build20250306',
  'docker.io/rancher/klipper-lb:v0.4.13',
  'docker.io/rancher/mirrored-pause:3.6',
  'docker.io/rancher/mirrored-ingress-nginx-kube-webhook-certgen:v1.5.2',
  'docker.io/rancher/nginx-ingress-controller:v1.12.1-hardened3',
  'docker.io/rancher/rke2-cloud-provider:v1.33.0-rc1.0.20250430074337-dc03cb4b3faa-build20250430',
  'docker.io/rancher/mirrored-sig-storage-snapshot-controller:v8.2.0',
];

const RKE2_V1_36_3_R1 = [
  'docker.io/rancher/rke2-runtime:v1.36.3-rke2r1',
  'docker.io/rancher/hardened-kubernetes:v1.36.3-rke2r1-build20260723',
  'docker.io/rancher/hardened-coredns:v1.14.6-build20260722',
  'docker.io/rancher/hardened-cluster-autoscaler:v1.10.3-build20260717',
  'docker.io/rancher/hardened-dns-node-cache:1.26.8-build20260722',
  'docker.io/rancher/hardened-etcd:v3.6.14-k3s1-build20260723',
  'docker.io/rancher/hardened-k8s-metrics-server:v0.9.0-build20260722',
  'docker.io/rancher/hardened-addon-resizer:1.8.23-build20260717',
  'docker.io/rancher/klipper-helm:v0.13.3-build20260727',
  'docker.io/rancher/klipper-lb:v0.4.17',
  'docker.io/rancher/mirrored-pause:3.10.2',
  'docker.io/rancher/rke2-cloud-provider:v1.36.2-0.20260610225606-10b320a3ba51-build20260709',
  'docker.io/rancher/hardened-snapshot-controller:v8.6.0-build20260722',
  'docker.io/rancher/hardened-traefik:v3.7.8-build20260717',
];

const refs = (v: string): string[] => kubernetesImages(v, { distribution: 'rke2' }).images.map((i) => i.ref);
const pauseOf = (v: string): string | undefined => kubernetesImages(v, { distribution: 'rke2' }).images.find((i) => i.role === 'pause')?.ref;

describe('rke2 image data (rke2-images-core per release)', () => {
  test('v1.28.1+rke2r1: the core list of the release, in its order', () => {
    assert.deepEqual(refs('v1.28.1+rke2r1'), RKE2_V1_28_1_R1);
  });

  test('v1.30.14+rke2r1 and +rke2r4 are two releases of one patch; v1.30.14 alone is the newest, rke2r4', () => {
    assert.deepEqual(refs('v1.30.14+rke2r1'), RKE2_V1_30_14_R1);
    assert.deepEqual(refs('v1.30.14+rke2r4'), RKE2_V1_30_14_R4);
    const set = kubernetesImages('v1.30.14', { distribution: 'rke2' });
    assert.equal(set.version, 'v1.30.14+rke2r4');
    assert.equal(set.exact, false);
    assert.deepEqual(set.images.map((i) => i.ref), RKE2_V1_30_14_R4);
  });

  test('v1.33.0+rke2r1 and v1.36.3+rke2r1: images that joined and left the core set', () => {
    assert.deepEqual(refs('v1.33.0+rke2r1'), RKE2_V1_33_0_R1);
    // ingress-nginx left the core set, traefik joined it, the snapshot controller is the hardened build
    assert.deepEqual(refs('v1.36.3+rke2r1'), RKE2_V1_36_3_R1);
  });

  test('the pause of each release has the role pause', () => {
    assert.equal(pauseOf('v1.28.1+rke2r1'), 'docker.io/rancher/mirrored-pause:3.6');
    assert.equal(pauseOf('v1.30.14+rke2r1'), 'docker.io/rancher/mirrored-pause:3.6');
    assert.equal(pauseOf('v1.36.3+rke2r1'), 'docker.io/rancher/mirrored-pause:3.10.2');
  });

  test('a build RKE2 never released stably is refused, naming the ones it did', () => {
    assert.throws(() => kubernetesImages('v1.30.14+rke2r3', { distribution: 'rke2' }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_UNSUPPORTED_KUBERNETES_VERSION');
      assert.match(e.message, /v1\.30\.14\+rke2r1, v1\.30\.14\+rke2r2, v1\.30\.14\+rke2r4/);
      return true;
    });
  });

  test('--list-versions rows cover v1.28 to v1.36', () => {
    const rows = supportedVersions('rke2');
    assert.equal(rows[0]?.first, 'v1.28.1+rke2r1');
    assert.equal(rows.find((r) => r.minor === 'v1.30')?.last, 'v1.30.14+rke2r4');
    assert.equal(rows[rows.length - 1]?.last, 'v1.36.3+rke2r1');
  });

  test('a system-default-registry replaces the registry host, keeping the path', () => {
    const set = kubernetesImages('v1.30.14+rke2r1', { distribution: 'rke2', imageRepository: 'registry.example:5000' });
    assert.equal(set.images.find((i) => i.role === 'pause')?.ref, 'registry.example:5000/rancher/mirrored-pause:3.6');
  });
});

describe('manifest data: optional images, {build}, publishedList', () => {
  const base = {
    distribution: 'demo',
    images: [
      { role: 'runtime', image: 'docker.io/demo/runtime', tag: 'v{kubernetes}-{build}' },
      { role: 'pause', image: 'docker.io/demo/pause', tag: '{pause}' },
      { role: 'traefik', image: 'docker.io/demo/traefik', tag: '{traefik}', optional: true },
    ],
    releases: [
      { from: 'v1.30.0', to: 'v1.30.0', build: 'demo1', pause: '3.6' },
      { from: 'v1.30.1', to: 'v1.30.1', build: 'demo1', pause: '3.6', traefik: '3.1' },
    ],
    publishedList: { name: 'demo-images.txt', authoritative: true },
  };

  test('parses: an optional image, the list it publishes', () => {
    const d = parseDistribution(base, 'demo.json');
    assert.equal(d.images[2]?.optional, true);
    assert.deepEqual(d.publishedList, { name: 'demo-images.txt', authoritative: true });
  });

  test('an optional image nobody defines is a typo', () => {
    const bad = { ...base, images: [...base.images, { role: 'x', image: 'docker.io/demo/x', tag: '{typo}', optional: true }] };
    assert.throws(() => parseDistribution(bad, 'demo.json'), /role x is in no release/);
  });

  test('{build} needs a release with a build', () => {
    const bad = { ...base, releases: [{ from: 'v1.30.0', to: 'v1.30.0', pause: '3.6' }] };
    assert.throws(() => parseDistribution(bad, 'demo.json'), /does not define \{build\}/);
  });

  test('an authoritative list needs a pause in every release', () => {
    const bad = { ...base, images: base.images.filter((i) => i.role !== 'pause') };
    assert.throws(() => parseDistribution(bad, 'demo.json'), /role "pause"/);
  });
});
