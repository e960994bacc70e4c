import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI as MAIN } from '../helpers/cli.js';
import { KUBEADM_V1_30_14_REFS as V1_30_14 } from '../helpers/kubeadm-images.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI as a user would; stdin is empty unless given. */
function airgap(args: string[], stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, AIRGAP_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

// Each case spawns node (~0.1 s); a few at a time keeps the suite quick on two cores.
describe('airgap images', { concurrency: 3 }, () => {
  test('images --kubernetes v1.30.14 prints kubeadm\'s list, one ref a line, nothing else', async () => {
    const r = await airgap(['images', '--kubernetes', 'v1.30.14']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${V1_30_14.join('\n')}\n`);
    assert.equal(r.stderr, '');
  });

  test('images --kubernetes v1.24.3 uses k8s.gcr.io, as kubeadm v1.24.3 did', async () => {
    const r = await airgap(['images', '--kubernetes', '1.24.3']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'k8s.gcr.io/kube-apiserver:v1.24.3',
      'k8s.gcr.io/kube-controller-manager:v1.24.3',
      'k8s.gcr.io/kube-scheduler:v1.24.3',
      'k8s.gcr.io/kube-proxy:v1.24.3',
      'k8s.gcr.io/coredns/coredns:v1.8.6',
      'k8s.gcr.io/pause:3.7',
      'k8s.gcr.io/etcd:3.5.3-0',
    ]);
  });

  test('a minor resolves to the newest known patch; the note goes to stderr, stdout stays clean', async () => {
    const r = await airgap(['images', '--kubernetes', 'v1.30']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${V1_30_14.join('\n')}\n`);
    assert.match(r.stderr, /v1\.30 -> v1\.30\.14, the newest v1\.30 patch/);
  });

  test('an unknown version exits 2 with a one-line message naming the supported range', async () => {
    for (const v of ['v1.23.5', 'v1.37.0']) {
      const r = await airgap(['images', '--kubernetes', v]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      const [message, ...rest] = r.stderr.trimEnd().split('\n');
      assert.match(String(message), new RegExp(`^airgap: error: .*${v.replaceAll('.', '\\.')}.*v1\\.24\\.0 to v1\\.36\\.3$`));
      assert.ok(rest.every((l) => l.startsWith('  hint: ')), r.stderr);
      assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    }
    const patch = await airgap(['images', '--kubernetes', 'v1.30.99']);
    assert.equal(patch.code, 2);
    assert.match(patch.stderr, /v1\.30\.99 is newer than the newest v1\.30 patch airgap knows for kubeadm, v1\.30\.14/);
    const garbage = await airgap(['images', '--kubernetes', 'banana']);
    assert.equal(garbage.code, 2);
    assert.match(garbage.stderr, /invalid Kubernetes version "banana"/);
  });

  test('--output json: an array of {ref, role}; --image and --images-file merge in as extras, deduplicated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airgap-cli-'));
    try {
      const file = join(dir, 'extra.txt');
      await writeFile(file, '\uFEFF# my apps\r\nnginx:1.25 # web\r\n\r\nregistry.k8s.io/pause:3.9\r\ndocker.io/calico/node:v3.28.1\r\n');
      const r = await airgap(['images', '--kubernetes', 'v1.30.14', '--images-file', file, '--image', 'redis:7', '--image', 'nginx:1.25', '--output', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { ref: string; role: string; source?: string }[];
      assert.ok(Array.isArray(out));
      assert.deepEqual(out.map((i) => i.ref), [
        ...V1_30_14,
        'docker.io/library/nginx:1.25',
        'docker.io/calico/node:v3.28.1',
        'docker.io/library/redis:7',
      ]);
      assert.deepEqual(out.map((i) => i.role), [
        'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'coredns', 'pause', 'etcd', 'extra', 'extra', 'extra',
      ]);
      assert.equal(out[7]?.source, `${file}:2`);
      assert.equal(out[9]?.source, '--image');

      const text = await airgap(['images', '--kubernetes', 'v1.30.14', '--images-file', file]);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(text.stdout, `${[...V1_30_14, 'docker.io/library/nginx:1.25', 'docker.io/calico/node:v3.28.1'].join('\n')}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('--images-file - reads stdin; a list alone needs no --kubernetes', async () => {
    const r = await airgap(['images', '--images-file', '-'], 'registry.k8s.io/kube-apiserver:v1.30.14\nbusybox\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'registry.k8s.io/kube-apiserver:v1.30.14\ndocker.io/library/busybox:latest\n');
  });

  test('list file problems: a bad line exits 2 with file:line, a missing file exits 3', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airgap-cli-'));
    try {
      const file = join(dir, 'bad.txt');
      await writeFile(file, 'registry.k8s.io/pause:3.9\nthis is not an image\n');
      const bad = await airgap(['images', '--kubernetes', 'v1.30.14', '--images-file', file]);
      assert.equal(bad.code, 2);
      assert.equal(bad.stdout, '');
      assert.ok(bad.stderr.includes(`${file}:2: invalid image reference "this is not an image"`), bad.stderr);

      const missing = await airgap(['images', '--images-file', join(dir, 'nope.txt')]);
      assert.equal(missing.code, 3);
      assert.match(missing.stderr, /nope\.txt.*no such file/);

      const empty = join(dir, 'empty.txt');
      await writeFile(empty, '# nothing yet\n\n');
      const e = await airgap(['images', '--images-file', empty]);
      assert.equal(e.code, 2);
      assert.match(e.stderr, /holds no image references/);
      assert.match(e.stderr, /hint: /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('--image-repository follows kubeadm, --distribution k0s with --variant', async () => {
    const repo = await airgap(['images', '--kubernetes', 'v1.30.14', '--image-repository', 'mirror.local:5000/k8s']);
    assert.equal(repo.code, 0, repo.stderr);
    const lines = repo.stdout.trim().split('\n');
    assert.equal(lines[0], 'mirror.local:5000/k8s/kube-apiserver:v1.30.14');
    assert.equal(lines[4], 'mirror.local:5000/k8s/coredns:v1.11.3');

    const k0s = await airgap(['images', '--distribution', 'k0s', '--kubernetes', 'v1.30', '--variant', 'cni=calico', '--output', 'json']);
    assert.equal(k0s.code, 0, k0s.stderr);
    const roles = (JSON.parse(k0s.stdout) as { role: string }[]).map((i) => i.role);
    assert.ok(roles.includes('calico-node') && !roles.includes('kube-router'));
    assert.match(k0s.stderr, /v1\.30\.14\+k0s\.0/);
  });

  test('usage errors exit 2: nothing asked, a bad --output, an orphan --image-repository, a bad --image', async () => {
    const cases: string[][] = [
      ['images'],
      ['images', '--kubernetes', 'v1.30.14', '--output', 'yaml'],
      ['images', '--image', 'nginx', '--image-repository', 'mirror.local'],
      ['images', '--image', 'Not Valid'],
      ['images', '--kubernetes', 'v1.30.14', '--distribution', 'openshift'],
      ['images', '--kubernetes', 'v1.30.14', '--variant', 'cni'],
    ];
    for (const args of cases) {
      const r = await airgap(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
    }
  });

  test('--list-versions and --help teach what is known', async () => {
    const list = await airgap(['images', '--list-versions']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 13);
    assert.match(String(lines[0]), /^v1\.24\s+v1\.24\.0 - v1\.24\.17$/);
    assert.match(String(lines[12]), /^v1\.36\s+v1\.36\.0 - v1\.36\.3$/);

    const help = await airgap(['images', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:/);
    assert.match(help.stdout, /--images-file/);
    assert.match(help.stdout, /kubeadm\s+v1\.24\.0 to v1\.36\.3/);
  });
});
