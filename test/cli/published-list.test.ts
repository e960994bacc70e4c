import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { airgap } from '../helpers/cli.js';


/** rke2-images-core.linux-amd64.txt of v1.30.14+rke2r1, as scripts/build-images writes it. */
const CORE_V1_30_14_R1 = `docker.io/rancher/rke2-runtime:v1.30.14-rke2r1
docker.io/rancher/hardened-kubernetes:v1.30.14-rke2r1-build20250618
docker.io/rancher/hardened-coredns:v1.12.2-build20250611
docker.io/rancher/hardened-cluster-autoscaler:v1.10.2-build20250611
docker.io/rancher/hardened-dns-node-cache:1.26.0-build20250611
docker.io/rancher/hardened-etcd:v3.5.21-k3s1-build20250612
docker.io/rancher/hardened-k8s-metrics-server:v0.7.2-build20250612
docker.io/rancher/hardened-addon-resizer:1.8.23-build20250612
docker.io/rancher/klipper-helm:v0.9.7-build20250616
docker.io/rancher/klipper-lb:v0.4.13
docker.io/rancher/mirrored-pause:3.6
docker.io/rancher/mirrored-ingress-nginx-kube-webhook-certgen:v1.5.3
docker.io/rancher/nginx-ingress-controller:v1.12.2-hardened2
docker.io/rancher/rke2-cloud-provider:v1.30.13-rc1.0.20250516172343-e77f78ee9466-build20250613
docker.io/rancher/mirrored-sig-storage-snapshot-controller:v8.2.0
`;
/** rke2-images.linux-amd64.txt: the core set plus canal. */
const WITH_CANAL = `${CORE_V1_30_14_R1}docker.io/rancher/hardened-calico:v3.30.1-build20250611
docker.io/rancher/hardened-flannel:v0.27.0-build20250611
`;
const WRONG_PAUSE = CORE_V1_30_14_R1.replace('mirrored-pause:3.6', 'mirrored-pause:3.10');

let dir: string;
const file = (name: string): string => join(dir, name);

describe('published lists (k3s-images.txt, rke2-images*.txt) as a release\'s set', { concurrency: 3 }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-published-list-'));
    await writeFile(file('core.txt'), CORE_V1_30_14_R1);
    await writeFile(file('canal.txt'), WITH_CANAL);
    await writeFile(file('wrong-pause.txt'), WRONG_PAUSE);
    await writeFile(file('no-pause.txt'), CORE_V1_30_14_R1.replace('docker.io/rancher/mirrored-pause:3.6\n', ''));
    await writeFile(file('older.txt'), CORE_V1_30_14_R1.replace('klipper-helm:v0.9.7-build20250616', 'klipper-helm:v0.9.5-build20250306'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('verify --list: the release\'s own list passes', async () => {
    const r = await airgap('verify', '--distribution', 'rke2', '--kubernetes', 'v1.30.14+rke2r1', '--list', file('core.txt'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /docker\.io\/rancher\/mirrored-pause:3\.6 among them/);
  });

  test('verify --list: the version names its distribution (+rke2r1), and canal images are extra, not errors', async () => {
    const r = await airgap('verify', '--kubernetes', 'v1.30.14+rke2r1', '--list', file('canal.txt'), '--verbose');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /2 images beyond the core set/);
  });

  test('verify --list: a wrong pause fails with exit 1 and names both pauses and the fix', async () => {
    const r = await airgap('verify', '--distribution', 'rke2', '--kubernetes', 'v1.30.14+rke2r1', '--list', file('wrong-pause.txt'));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /the list's pause is docker\.io\/rancher\/mirrored-pause:3\.10 \(line 11\), but v1\.30\.14\+rke2r1 \(rke2\) runs docker\.io\/rancher\/mirrored-pause:3\.6/);
    assert.match(r.stdout, /--pause-image/);
  });

  test('verify --list --json: the pause finding has a stable code', async () => {
    const r = await airgap('verify', '--kubernetes', 'v1.30.14+rke2r1', '--list', file('no-pause.txt'), '--json');
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; findings: { code: string; severity: string }[] }[] };
    assert.equal(report.ok, false);
    const kube = report.checks.find((c) => c.name === 'kubernetes');
    assert.deepEqual(kube?.findings.filter((f) => f.severity === 'error').map((f) => f.code), ['pause-missing']);
  });

  test('verify --list: other differences are warnings, the pause decides', async () => {
    const r = await airgap('verify', '--kubernetes', 'v1.30.14+rke2r1', '--list', file('older.txt'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /the list has docker\.io\/rancher\/klipper-helm:v0\.9\.5-build20250306 .*airgap knows v1\.30\.14\+rke2r1 \(rke2\) with docker\.io\/rancher\/klipper-helm:v0\.9\.7-build20250616/);
  });

  test('images --list: prints the list as the set; a wrong pause exits 1 with ERR_LIST_PAUSE_MISMATCH', async () => {
    const ok = await airgap('images', '--distribution', 'rke2', '--kubernetes', 'v1.30.14+rke2r1', '--list', file('canal.txt'));
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, WITH_CANAL);
    const bad = await airgap('images', '--distribution', 'rke2', '--kubernetes', 'v1.30.14+rke2r1', '--list', file('wrong-pause.txt'), '--output', 'json');
    assert.equal(bad.code, 1, bad.stderr);
    // --output json: the error is the JSON event on stdout, with its stable code and both pauses
    const event = JSON.parse(bad.stdout) as { code: string; releasePause: string; listPauses: { ref: string; line: number }[]; message: string };
    assert.equal(event.code, 'ERR_LIST_PAUSE_MISMATCH');
    assert.equal(event.releasePause, 'docker.io/rancher/mirrored-pause:3.6');
    assert.deepEqual(event.listPauses, [{ ref: 'docker.io/rancher/mirrored-pause:3.10', line: 11 }]);
    const text = await airgap('images', '--distribution', 'rke2', '--kubernetes', 'v1.30.14+rke2r1', '--list', file('wrong-pause.txt'));
    assert.equal(text.code, 1);
    assert.equal(text.stdout, '');
    assert.match(text.stderr, /its pause is docker\.io\/rancher\/mirrored-pause:3\.10 \(line 11\), but v1\.30\.14\+rke2r1 runs docker\.io\/rancher\/mirrored-pause:3\.6/);
  });

  test('pack --list: a wrong pause is refused (exit 1) before anything is fetched', async () => {
    const r = await airgap('pack', '--distribution', 'rke2', '--kubernetes', 'v1.30.14+rke2r1', '--list', file('wrong-pause.txt'), '-o', file('never.tar'), '--registry-mirror', 'docker.io=http://127.0.0.1:9/docker.io');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /mirrored-pause:3\.10 .*mirrored-pause:3\.6; nothing was transferred/);
  });

  test('images --help and --list-versions name rke2', async () => {
    const help = await airgap('images', '--help');
    assert.match(help.stdout, /kubeadm, k0s, k3s or rke2/);
    assert.match(help.stdout, /rke2 +v1\.28\.1\+rke2r1 to /);
    const versions = await airgap('images', '--distribution', 'rke2', '--list-versions');
    assert.equal(versions.code, 0, versions.stderr);
    assert.match(versions.stdout, /^v1\.30 +v1\.30\.0\+rke2r1 - v1\.30\.14\+rke2r4$/m);
  });

  test('kubeadm lists keep their check: --list with another pause tag is still a mismatch', async () => {
    await writeFile(file('kubeadm.txt'), 'registry.k8s.io/pause:3.8\n');
    const r = await airgap('verify', '--list', file('kubeadm.txt'), '--kubernetes', 'v1.30.14');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /needs registry\.k8s\.io\/pause:3\.9 \(pause\); the list has registry\.k8s\.io\/pause:3\.8/);
  });
});
