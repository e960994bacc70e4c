import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAirgapError } from '../../src/errors.js';
import { kubernetesImages, supportedVersions } from '../../src/kubernetes/index.js';

/*
 * Golden data, transcribed from the reference table (kubeadm-image-versions.md, itself from running
 * every kubeadm release) and kept apart from manifests/kubeadm.json on purpose: the test must be
 * able to disagree with the data. Columns: first, last, pause, etcd, coredns. The registry is
 * k8s.gcr.io up to v1.24.8 and registry.k8s.io after, per the same reference.
 */
const GOLDEN = `
v1.24.0	v1.24.7	3.7	3.5.3-0	v1.8.6
v1.24.8	v1.24.8	3.7	3.5.5-0	v1.8.6
v1.24.9	v1.24.17	3.7	3.5.6-0	v1.8.6
v1.25.0	v1.25.3	3.8	3.5.4-0	v1.9.3
v1.25.4	v1.25.4	3.8	3.5.5-0	v1.9.3
v1.25.5	v1.25.14	3.8	3.5.6-0	v1.9.3
v1.25.15	v1.25.16	3.8	3.5.9-0	v1.9.3
v1.26.0	v1.26.9	3.9	3.5.6-0	v1.9.3
v1.26.10	v1.26.12	3.9	3.5.9-0	v1.9.3
v1.26.13	v1.26.15	3.9	3.5.10-0	v1.9.3
v1.27.0	v1.27.6	3.9	3.5.7-0	v1.10.1
v1.27.7	v1.27.9	3.9	3.5.9-0	v1.10.1
v1.27.10	v1.27.11	3.9	3.5.10-0	v1.10.1
v1.27.12	v1.27.16	3.9	3.5.12-0	v1.10.1
v1.28.0	v1.28.5	3.9	3.5.9-0	v1.10.1
v1.28.6	v1.28.7	3.9	3.5.10-0	v1.10.1
v1.28.8	v1.28.13	3.9	3.5.12-0	v1.10.1
v1.28.14	v1.28.15	3.9	3.5.15-0	v1.10.1
v1.29.0	v1.29.2	3.9	3.5.10-0	v1.11.1
v1.29.3	v1.29.8	3.9	3.5.12-0	v1.11.1
v1.29.9	v1.29.10	3.9	3.5.15-0	v1.11.1
v1.29.11	v1.29.15	3.9	3.5.16-0	v1.11.1
v1.30.0	v1.30.4	3.9	3.5.12-0	v1.11.1
v1.30.5	v1.30.14	3.9	3.5.15-0	v1.11.3
v1.31.0	v1.31.0	3.10	3.5.15-0	v1.11.1
v1.31.1	v1.31.13	3.10	3.5.15-0	v1.11.3
v1.31.14	v1.31.14	3.10	3.5.24-0	v1.11.3
v1.32.0	v1.32.9	3.10	3.5.16-0	v1.11.3
v1.32.10	v1.32.13	3.10	3.5.24-0	v1.11.3
v1.33.0	v1.33.5	3.10	3.5.21-0	v1.12.0
v1.33.6	v1.33.13	3.10	3.5.24-0	v1.12.0
v1.34.0	v1.34.1	3.10.1	3.6.4-0	v1.12.1
v1.34.2	v1.34.10	3.10.1	3.6.5-0	v1.12.1
v1.35.0	v1.35.7	3.10.1	3.6.6-0	v1.13.1
v1.36.0	v1.36.3	3.10.2	3.6.8-0	v1.14.2
`;

interface Row {
  minor: string;
  first: number;
  last: number;
  pause: string;
  etcd: string;
  coredns: string;
}

const rows: Row[] = GOLDEN.trim().split('\n').map((line) => {
  const [first, last, pause, etcd, coredns] = line.split('\t') as [string, string, string, string, string];
  const f = /^v(1\.\d+)\.(\d+)$/.exec(first);
  const l = /^v(1\.\d+)\.(\d+)$/.exec(last);
  assert.ok(f && l && f[1] === l[1], `bad golden row ${line}`);
  return { minor: f[1] as string, first: Number(f[2]), last: Number(l[2]), pause, etcd, coredns };
});

/** kubeadm's composition rules, written out independently of the code under test. */
function expectedKubeadmList(minor: string, patch: number, row: Row): string[] {
  const version = `v${minor}.${patch}`;
  const reg = minor === '1.24' && patch <= 8 ? 'k8s.gcr.io' : 'registry.k8s.io';
  return [
    `${reg}/kube-apiserver:${version}`,
    `${reg}/kube-controller-manager:${version}`,
    `${reg}/kube-scheduler:${version}`,
    `${reg}/kube-proxy:${version}`,
    `${reg}/coredns/coredns:${row.coredns}`,
    `${reg}/pause:${row.pause}`,
    `${reg}/etcd:${row.etcd}`,
  ];
}

const ROLES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'coredns', 'pause', 'etcd'];

function expectUsage(fn: () => unknown, code: string, ...fragments: (string | RegExp)[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isAirgapError(e), `expected an AirgapError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.kind, 'usage');
    assert.ok(e.hint, 'a usage error carries a hint');
    for (const f of fragments) {
      if (typeof f === 'string') assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
      else assert.match(e.message, f);
    }
    return true;
  });
}

test('every patch release v1.24.0 … v1.36.3 gives exactly what kubeadm prints', () => {
  let checked = 0;
  for (const row of rows) {
    for (let patch = row.first; patch <= row.last; patch++) {
      const version = `v${row.minor}.${patch}`;
      const set = kubernetesImages(version);
      assert.deepEqual(set.images.map((i) => i.ref), expectedKubeadmList(row.minor, patch, row), version);
      assert.deepEqual(set.images.map((i) => i.role), ROLES, version);
      assert.equal(set.version, version);
      assert.equal(set.exact, true);
      assert.equal(set.distribution, 'kubeadm');
      checked++;
    }
  }
  // 18+17+16+17+16+16+15+15+14+14+11+8+4 patch releases in the reference.
  assert.equal(checked, 181);
});

test('the golden table is contiguous and ends where the brief says each minor ends', () => {
  const lastByMinor = new Map<string, number>();
  for (const row of rows) {
    const prev = lastByMinor.get(row.minor);
    assert.equal(row.first, prev === undefined ? 0 : prev + 1, `gap before v${row.minor}.${row.first}`);
    lastByMinor.set(row.minor, row.last);
  }
  assert.deepEqual(
    [...lastByMinor].map(([m, p]) => `v${m}.${p}`),
    ['v1.24.17', 'v1.25.16', 'v1.26.15', 'v1.27.16', 'v1.28.15', 'v1.29.15', 'v1.30.14', 'v1.31.14', 'v1.32.13', 'v1.33.13', 'v1.34.10', 'v1.35.7', 'v1.36.3'],
  );
});

test('supportedVersions lists one row per minor, first and last patch', () => {
  const expected = [...new Set(rows.map((r) => r.minor))].map((minor) => {
    const of = rows.filter((r) => r.minor === minor);
    return { minor: `v${minor}`, first: `v${minor}.${(of[0] as Row).first}`, last: `v${minor}.${(of[of.length - 1] as Row).last}` };
  });
  assert.deepEqual(supportedVersions(), expected);
  assert.deepEqual(supportedVersions('kubeadm'), expected);
});

test('literal output: v1.30.14', () => {
  assert.deepEqual(kubernetesImages('v1.30.14').images, [
    { ref: 'registry.k8s.io/kube-apiserver:v1.30.14', role: 'kube-apiserver' },
    { ref: 'registry.k8s.io/kube-controller-manager:v1.30.14', role: 'kube-controller-manager' },
    { ref: 'registry.k8s.io/kube-scheduler:v1.30.14', role: 'kube-scheduler' },
    { ref: 'registry.k8s.io/kube-proxy:v1.30.14', role: 'kube-proxy' },
    { ref: 'registry.k8s.io/coredns/coredns:v1.11.3', role: 'coredns' },
    { ref: 'registry.k8s.io/pause:3.9', role: 'pause' },
    { ref: 'registry.k8s.io/etcd:3.5.15-0', role: 'etcd' },
  ]);
});

test('literal output: v1.24.5 still defaults to k8s.gcr.io', () => {
  assert.deepEqual(kubernetesImages('v1.24.5').images.map((i) => i.ref), [
    'k8s.gcr.io/kube-apiserver:v1.24.5',
    'k8s.gcr.io/kube-controller-manager:v1.24.5',
    'k8s.gcr.io/kube-scheduler:v1.24.5',
    'k8s.gcr.io/kube-proxy:v1.24.5',
    'k8s.gcr.io/coredns/coredns:v1.8.6',
    'k8s.gcr.io/pause:3.7',
    'k8s.gcr.io/etcd:3.5.3-0',
  ]);
});

test('literal output: v1.24.9 is the first on registry.k8s.io', () => {
  assert.deepEqual(kubernetesImages('v1.24.9').images.map((i) => i.ref), [
    'registry.k8s.io/kube-apiserver:v1.24.9',
    'registry.k8s.io/kube-controller-manager:v1.24.9',
    'registry.k8s.io/kube-scheduler:v1.24.9',
    'registry.k8s.io/kube-proxy:v1.24.9',
    'registry.k8s.io/coredns/coredns:v1.8.6',
    'registry.k8s.io/pause:3.7',
    'registry.k8s.io/etcd:3.5.6-0',
  ]);
  assert.equal(kubernetesImages('v1.24.8').images[0]?.ref, 'k8s.gcr.io/kube-apiserver:v1.24.8');
});

test('literal output: v1.36.3', () => {
  assert.deepEqual(kubernetesImages('v1.36.3').images.map((i) => i.ref), [
    'registry.k8s.io/kube-apiserver:v1.36.3',
    'registry.k8s.io/kube-controller-manager:v1.36.3',
    'registry.k8s.io/kube-scheduler:v1.36.3',
    'registry.k8s.io/kube-proxy:v1.36.3',
    'registry.k8s.io/coredns/coredns:v1.14.2',
    'registry.k8s.io/pause:3.10.2',
    'registry.k8s.io/etcd:3.6.8-0',
  ]);
});

test('a minor alone means its newest known patch, and says it is not exact', () => {
  const set = kubernetesImages('v1.30');
  assert.equal(set.requested, 'v1.30');
  assert.equal(set.version, 'v1.30.14');
  assert.equal(set.exact, false);
  assert.deepEqual(set.images, kubernetesImages('v1.30.14').images);
  assert.equal(kubernetesImages('1.24').version, 'v1.24.17');
  assert.equal(kubernetesImages('v1.36').version, 'v1.36.3');
});

test('the "v" is optional and white space around the version is ignored', () => {
  const set = kubernetesImages('1.30.14');
  assert.equal(set.version, 'v1.30.14');
  assert.equal(set.requested, '1.30.14');
  assert.equal(set.exact, true);
  assert.deepEqual(set.images, kubernetesImages('v1.30.14').images);
  assert.equal(kubernetesImages(' v1.29.3 ').version, 'v1.29.3');
});

test('too old: v1.23.5 is refused and the supported range is named', () => {
  expectUsage(() => kubernetesImages('v1.23.5'), 'ERR_UNSUPPORTED_KUBERNETES_VERSION', 'v1.23.5', 'v1.24.0 to v1.36.3');
  expectUsage(() => kubernetesImages('v1.23'), 'ERR_UNSUPPORTED_KUBERNETES_VERSION', 'v1.24.0 to v1.36.3');
});

test('too new: v1.37.0 is refused and the supported range is named', () => {
  expectUsage(() => kubernetesImages('v1.37.0'), 'ERR_UNSUPPORTED_KUBERNETES_VERSION', 'v1.37.0', 'v1.24.0 to v1.36.3');
  expectUsage(() => kubernetesImages('v2.0.0'), 'ERR_UNSUPPORTED_KUBERNETES_VERSION', 'v1.24.0 to v1.36.3');
});

test('a patch newer than we know names the newest known patch of that minor', () => {
  expectUsage(() => kubernetesImages('v1.30.99'), 'ERR_UNSUPPORTED_KUBERNETES_VERSION', 'v1.30.99', 'v1.30.14');
  expectUsage(() => kubernetesImages('v1.36.4'), 'ERR_UNSUPPORTED_KUBERNETES_VERSION', 'v1.36.3');
  try {
    kubernetesImages('v1.34.11');
    assert.fail('v1.34.11 is beyond the confirmed data');
  } catch (e) {
    assert.ok(isAirgapError(e));
    assert.equal(e.details.newestKnownPatch, 'v1.34.10');
    assert.equal(e.details.supported, 'v1.24.0 to v1.36.3');
  }
});

test('garbage, labels and partial versions are invalid, not unsupported', () => {
  for (const bad of ['garbage', '', '   ', 'v1', '1', 'v1.30.x', 'v1.30.14.1', 'v01.30.1', '1.30.014', 'latest', 'stable-1.30', 'v1.30-rc.1', 'v1.30.14\n--image evil']) {
    expectUsage(() => kubernetesImages(bad), 'ERR_INVALID_KUBERNETES_VERSION', /invalid Kubernetes version/);
  }
});

test('pre-releases and CI builds are refused with the release to use instead', () => {
  expectUsage(() => kubernetesImages('v1.31.0-rc.1'), 'ERR_UNSUPPORTED_KUBERNETES_VERSION', 'pre-release', 'v1.24.0 to v1.36.3');
  expectUsage(() => kubernetesImages('v1.30.14+abc123'), 'ERR_UNSUPPORTED_KUBERNETES_VERSION', 'v1.30.14+abc123', 'the release is v1.30.14');
});

test('unknown distribution names the known ones', () => {
  expectUsage(() => kubernetesImages('v1.30.14', { distribution: 'openshift' }), 'ERR_UNKNOWN_DISTRIBUTION', 'openshift');
  try {
    kubernetesImages('v1.30.14', { distribution: 'nope' });
  } catch (e) {
    assert.ok(isAirgapError(e));
    assert.match(String(e.hint), /kubeadm/);
    assert.match(String(e.hint), /k0s/);
  }
});

test('custom imageRepository: every image moves, coredns loses its /coredns segment (kubeadm rule)', () => {
  assert.deepEqual(kubernetesImages('v1.30.14', { imageRepository: 'registry.example.com:5000/k8s' }).images.map((i) => i.ref), [
    'registry.example.com:5000/k8s/kube-apiserver:v1.30.14',
    'registry.example.com:5000/k8s/kube-controller-manager:v1.30.14',
    'registry.example.com:5000/k8s/kube-scheduler:v1.30.14',
    'registry.example.com:5000/k8s/kube-proxy:v1.30.14',
    'registry.example.com:5000/k8s/coredns:v1.11.3',
    'registry.example.com:5000/k8s/pause:3.9',
    'registry.example.com:5000/k8s/etcd:3.5.15-0',
  ]);
  // A trailing slash is not a path segment.
  assert.equal(kubernetesImages('v1.30.14', { imageRepository: 'mirror.local/' }).images[4]?.ref, 'mirror.local/coredns:v1.11.3');
});

test('an imageRepository equal to the release default is not custom (coredns keeps /coredns)', () => {
  assert.equal(kubernetesImages('v1.30.14', { imageRepository: 'registry.k8s.io' }).images[4]?.ref, 'registry.k8s.io/coredns/coredns:v1.11.3');
  assert.equal(kubernetesImages('v1.24.5', { imageRepository: 'k8s.gcr.io' }).images[4]?.ref, 'k8s.gcr.io/coredns/coredns:v1.8.6');
  // For v1.24.5 the default was k8s.gcr.io, so registry.k8s.io *is* custom there, as in kubeadm v1.24.5.
  const moved = kubernetesImages('v1.24.5', { imageRepository: 'registry.k8s.io' }).images.map((i) => i.ref);
  assert.equal(moved[0], 'registry.k8s.io/kube-apiserver:v1.24.5');
  assert.equal(moved[4], 'registry.k8s.io/coredns:v1.8.6');
});

test('an imageRepository without a registry host is a Docker Hub namespace, written out in full', () => {
  const refs = kubernetesImages('v1.30.14', { imageRepository: 'myorg' }).images.map((i) => i.ref);
  assert.equal(refs[0], 'docker.io/myorg/kube-apiserver:v1.30.14');
  assert.equal(refs[4], 'docker.io/myorg/coredns:v1.11.3');
});

test('invalid imageRepository values are refused', () => {
  for (const bad of ['', 'Registry.example.com/UPPER', 'reg.example.com/k8s:v1', 'reg.example.com/k8s@sha256:abc', 'a b']) {
    expectUsage(() => kubernetesImages('v1.30.14', { imageRepository: bad }), 'ERR_INVALID_IMAGE_REPOSITORY');
  }
});

test('kubeadm has no variants', () => {
  expectUsage(() => kubernetesImages('v1.30.14', { variants: { cni: 'calico' } }), 'ERR_INVALID_VARIANT', 'cni');
});
