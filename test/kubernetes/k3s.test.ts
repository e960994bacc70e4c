import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubernetesImages, supportedVersions } from '../../src/kubernetes/index.js';
import { airgap } from '../helpers/cli.js';

/**
 * Golden sets transcribed from K3s's scripts/airgap/image-list.txt (published with each release as
 * k3s-images.txt), as the file reads at the release: at the tag (v1.28.1+k3s1), or along the release
 * branch between the release's Kubernetes update and the next change of the file.
 */
const K3S_V1_28_1_K3S1 = [
  'docker.io/rancher/klipper-helm:v0.8.2-build20230815',
  'docker.io/rancher/klipper-lb:v0.4.4',
  'docker.io/rancher/local-path-provisioner:v0.0.24',
  'docker.io/rancher/mirrored-coredns-coredns:1.10.1',
  'docker.io/rancher/mirrored-library-busybox:1.34.1',
  'docker.io/rancher/mirrored-library-traefik:2.9.10',
  'docker.io/rancher/mirrored-metrics-server:v0.6.3',
  'docker.io/rancher/mirrored-pause:3.6',
];

/** v1.29.1+k3s2: Local Path Provisioner v0.0.24 (v0.0.26 landed on its release day, after the tag). */
const K3S_V1_29_1_K3S2 = [
  'docker.io/rancher/klipper-helm:v0.8.2-build20230815',
  'docker.io/rancher/klipper-lb:v0.4.5',
  'docker.io/rancher/local-path-provisioner:v0.0.24',
  'docker.io/rancher/mirrored-coredns-coredns:1.10.1',
  'docker.io/rancher/mirrored-library-busybox:1.36.1',
  'docker.io/rancher/mirrored-library-traefik:2.10.5',
  'docker.io/rancher/mirrored-metrics-server:v0.6.3',
  'docker.io/rancher/mirrored-pause:3.6',
];

const K3S_V1_30_1_K3S1 = [
  'docker.io/rancher/klipper-helm:v0.8.3-build20240228',
  'docker.io/rancher/klipper-lb:v0.4.7',
  'docker.io/rancher/local-path-provisioner:v0.0.26',
  'docker.io/rancher/mirrored-coredns-coredns:1.10.1',
  'docker.io/rancher/mirrored-library-busybox:1.36.1',
  'docker.io/rancher/mirrored-library-traefik:2.10.7',
  'docker.io/rancher/mirrored-metrics-server:v0.7.0',
  'docker.io/rancher/mirrored-pause:3.6',
];

const K3S_V1_32_11_K3S1 = [
  'docker.io/rancher/klipper-helm:v0.9.12-build20251215',
  'docker.io/rancher/klipper-lb:v0.4.13',
  'docker.io/rancher/local-path-provisioner:v0.0.32',
  'docker.io/rancher/mirrored-coredns-coredns:1.13.1',
  'docker.io/rancher/mirrored-library-busybox:1.37.0',
  'docker.io/rancher/mirrored-library-traefik:3.5.1',
  'docker.io/rancher/mirrored-metrics-server:v0.8.0',
  'docker.io/rancher/mirrored-pause:3.6',
];

const K3S_V1_32_11_K3S3 = [
  'docker.io/rancher/klipper-helm:v0.9.12-build20251215',
  'docker.io/rancher/klipper-lb:v0.4.13',
  'docker.io/rancher/local-path-provisioner:v0.0.34',
  'docker.io/rancher/mirrored-coredns-coredns:1.14.0',
  'docker.io/rancher/mirrored-library-busybox:1.37.0',
  'docker.io/rancher/mirrored-library-traefik:3.6.7',
  'docker.io/rancher/mirrored-metrics-server:v0.8.0',
  'docker.io/rancher/mirrored-pause:3.6',
];

const K3S_V1_34_1_K3S1 = [
  'docker.io/rancher/klipper-helm:v0.9.8-build20250709',
  'docker.io/rancher/klipper-lb:v0.4.13',
  'docker.io/rancher/local-path-provisioner:v0.0.32',
  'docker.io/rancher/mirrored-coredns-coredns:1.12.3',
  'docker.io/rancher/mirrored-library-busybox:1.36.1',
  'docker.io/rancher/mirrored-library-traefik:3.3.6',
  'docker.io/rancher/mirrored-metrics-server:v0.8.0',
  'docker.io/rancher/mirrored-pause:3.6',
];

/** v1.31.0+k3s1: release-1.31 from "Update kubernetes to v1.31.0-k3s3" to the next change of the file (after the release). */
const K3S_V1_31_0_K3S1 = [
  'docker.io/rancher/klipper-helm:v0.9.1-build20240731',
  'docker.io/rancher/klipper-lb:v0.4.9',
  'docker.io/rancher/local-path-provisioner:v0.0.28',
  'docker.io/rancher/mirrored-coredns-coredns:1.10.1',
  'docker.io/rancher/mirrored-library-busybox:1.36.1',
  'docker.io/rancher/mirrored-library-traefik:2.10.7',
  'docker.io/rancher/mirrored-metrics-server:v0.7.0',
  'docker.io/rancher/mirrored-pause:3.6',
];

/** v1.35.0+k3s3: the January 2026 rebuild (Traefik 3.6.7, CoreDNS 1.14.0, Local Path Provisioner v0.0.34). */
const K3S_V1_35_0_K3S3 = [
  'docker.io/rancher/klipper-helm:v0.9.12-build20251215',
  'docker.io/rancher/klipper-lb:v0.4.13',
  'docker.io/rancher/local-path-provisioner:v0.0.34',
  'docker.io/rancher/mirrored-coredns-coredns:1.14.0',
  'docker.io/rancher/mirrored-library-busybox:1.37.0',
  'docker.io/rancher/mirrored-library-traefik:3.6.7',
  'docker.io/rancher/mirrored-metrics-server:v0.8.0',
  'docker.io/rancher/mirrored-pause:3.6',
];

/** v1.36.1+k3s1: includes "Bump klipper-helm image tag", which landed after its Kubernetes update and which its release notes list. */
const K3S_V1_36_1_K3S1 = [
  'docker.io/rancher/klipper-helm:v0.10.0-build20260513',
  'docker.io/rancher/klipper-lb:v0.4.17',
  'docker.io/rancher/local-path-provisioner:v0.0.36',
  'docker.io/rancher/mirrored-coredns-coredns:1.14.3',
  'docker.io/rancher/mirrored-library-busybox:1.37.0',
  'docker.io/rancher/mirrored-library-traefik:3.6.13',
  'docker.io/rancher/mirrored-metrics-server:v0.8.1',
  'docker.io/rancher/mirrored-pause:3.6',
];

const refs = (v: string): string[] => kubernetesImages(v, { distribution: 'k3s' }).images.map((i) => i.ref);
const pauseOf = (v: string): string | undefined => kubernetesImages(v, { distribution: 'k3s' }).images.find((i) => i.role === 'pause')?.ref;

describe('k3s image data (k3s-images.txt per release)', () => {
  test('the list of each release, in its order', () => {
    assert.deepEqual(refs('v1.28.1+k3s1'), K3S_V1_28_1_K3S1);
    assert.deepEqual(refs('v1.29.1+k3s2'), K3S_V1_29_1_K3S2);
    assert.deepEqual(refs('v1.30.1+k3s1'), K3S_V1_30_1_K3S1);
    assert.deepEqual(refs('v1.34.1+k3s1'), K3S_V1_34_1_K3S1);
    assert.deepEqual(refs('v1.31.0+k3s1'), K3S_V1_31_0_K3S1);
    assert.deepEqual(refs('v1.35.0+k3s3'), K3S_V1_35_0_K3S3);
    assert.deepEqual(refs('v1.36.1+k3s1'), K3S_V1_36_1_K3S1);
  });

  test('v1.32.11+k3s1 and +k3s3 are two releases of one patch; v1.32.11 alone is the newest, k3s3', () => {
    assert.deepEqual(refs('v1.32.11+k3s1'), K3S_V1_32_11_K3S1);
    assert.deepEqual(refs('v1.32.11+k3s3'), K3S_V1_32_11_K3S3);
    const set = kubernetesImages('v1.32.11', { distribution: 'k3s' });
    assert.equal(set.version, 'v1.32.11+k3s3');
    assert.equal(set.exact, false);
    assert.deepEqual(set.images.map((i) => i.ref), K3S_V1_32_11_K3S3);
  });

  test('the pause of each release has the role pause: K3s\'s default --pause-image', () => {
    for (const v of ['v1.28.1+k3s1', 'v1.29.1+k3s2', 'v1.30.1+k3s1', 'v1.31.10+k3s1', 'v1.32.11+k3s3', 'v1.34.8+k3s1', 'v1.36.1+k3s1']) {
      assert.equal(pauseOf(v), 'docker.io/rancher/mirrored-pause:3.6', v);
    }
  });

  test('a build that is not known is refused, naming the ones that are', () => {
    assert.throws(() => kubernetesImages('v1.29.1+k3s1', { distribution: 'k3s' }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_UNSUPPORTED_KUBERNETES_VERSION');
      assert.match(e.message, /v1\.29\.1\+k3s2/);
      return true;
    });
  });

  test('--list-versions rows start at v1.28.1+k3s1', () => {
    const rows = supportedVersions('k3s');
    assert.equal(rows[0]?.first, 'v1.28.1+k3s1');
    assert.equal(rows.find((r) => r.minor === 'v1.32')?.last, 'v1.32.11+k3s3');
  });

  test('a system-default-registry replaces the registry host, keeping the path', () => {
    const set = kubernetesImages('v1.32.11+k3s3', { distribution: 'k3s', imageRepository: 'registry.example:5000' });
    assert.equal(set.images.find((i) => i.role === 'pause')?.ref, 'registry.example:5000/rancher/mirrored-pause:3.6');
  });
});


/** k3s-images.txt of v1.32.11+k3s3 as a file. */
const LIST_V1_32_11_K3S3 = `${K3S_V1_32_11_K3S3.join('\n')}\n`;
const WRONG_PAUSE = LIST_V1_32_11_K3S3.replace('mirrored-pause:3.6', 'mirrored-pause:3.10.2');

describe('k3s-images.txt as a release\'s set', { concurrency: 2 }, () => {
  let dir: string;
  const file = (name: string): string => join(dir, name);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-k3s-list-'));
    await writeFile(file('k3s-images.txt'), LIST_V1_32_11_K3S3);
    await writeFile(file('wrong-pause.txt'), WRONG_PAUSE);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('verify --list: the release\'s own list passes', async () => {
    const r = await airgap('verify', '--list', file('k3s-images.txt'), '--distribution', 'k3s', '--kubernetes', 'v1.32.11+k3s3');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /docker\.io\/rancher\/mirrored-pause:3\.6 among them/);
  });

  test('verify --list: a wrong pause fails with exit 1 and names both pauses and the fix', async () => {
    const r = await airgap('verify', '--list', file('wrong-pause.txt'), '--distribution', 'k3s', '--kubernetes', 'v1.32.11+k3s3');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /the list's pause is docker\.io\/rancher\/mirrored-pause:3\.10\.2 \(line 8\), but v1\.32\.11\+k3s3 \(k3s\) runs docker\.io\/rancher\/mirrored-pause:3\.6/);
    assert.match(r.stdout, /--pause-image/);
  });
});
