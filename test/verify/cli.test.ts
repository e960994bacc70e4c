import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeBundle, makeTempDir, type BuiltBundle } from '../helpers/make-bundle.js';
import { findAll, parseXml } from '../helpers/xml.js';
import { CLI as MAIN } from '../helpers/cli.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function airgap(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, NO_COLOR: '1', CI: '1' }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
let cleanup: () => Promise<void>;
let good: BuiltBundle;
let flipped: BuiltBundle;

before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-cli-'));
  good = await makeBundle({ dir, name: 'good.tar', platforms: ['linux/amd64'] });
  flipped = await makeBundle({ dir, name: 'flipped.tar', damage: [{ kind: 'flip-byte' }] });
});
after(async () => {
  await cleanup();
});

describe('airgap verify: exit codes', () => {
  it('0 when all is good', async () => {
    const r = await airgap('verify', good.path);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK: 3 images/m);
  });

  it('1 when verification fails, naming the digest and the images', async () => {
    const r = await airgap('verify', flipped.path);
    assert.equal(r.code, 1, r.stderr);
    const digest = `sha256:${flipped.entries.find((e) => e.name.startsWith('blobs/') && flipped.usersOf(`sha256:${e.name.split('/')[2]}`).length > 1)!.name.split('/')[2]}`;
    assert.ok(r.stdout.includes(digest));
    for (const u of flipped.usersOf(digest)) assert.ok(r.stdout.includes(u), u);
    assert.match(r.stdout, /^FAILED:/m);
  });

  it('2 for usage errors: nothing to verify, a bad platform, an unknown flag, an unknown version', async () => {
    for (const args of [['verify'], ['verify', good.path, '--platform', 'linux/amd64/v1/x'], ['verify', good.path, '--frobnicate'], ['verify', good.path, '--kubernetes', 'v1.99.0'], ['verify', '--list', 'x.txt']]) {
      const r = await airgap(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /error/);
    }
  });

  it('3 when the input cannot be read, saying what it is not', async () => {
    // gzip and zstd are read as they are (test/archive); a format airgap does not decompress is named.
    const xz = join(dir, 'bundle.tar.xz');
    await writeFile(xz, Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), good.bytes.subarray(0, 2000)]));
    const r = await airgap('verify', xz);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /bundle\.tar\.xz is xz-compressed data, not a tar archive/);
    assert.match(r.stderr, /hint: decompress it first/);
    const gz = join(dir, 'bundle.tar.gz');
    await writeFile(gz, gzipSync(good.bytes).subarray(0, 3000));
    const cut = await airgap('verify', gz);
    assert.equal(cut.code, 3);
    assert.match(cut.stderr, /the gzip data is damaged/);
    const missing = await airgap('verify', join(dir, 'nope.tar'));
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /no such file/);
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'registry.k8s.io/pause:3.9\n'.repeat(50));
    const t = await airgap('verify', text);
    assert.equal(t.code, 3);
    assert.match(t.stderr, /is a text file, not a tar archive/);
  });
});

describe('airgap verify: reports for CI', () => {
  it('--json prints the report; --junit writes parseable XML with the right failure count', async () => {
    const junit = join(dir, 'verify.xml');
    const r = await airgap('verify', flipped.path, '--json', '--junit', junit);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout) as { ok: boolean; schemaVersion: number; summary: { errors: number } };
    assert.equal(doc.ok, false);
    assert.equal(doc.schemaVersion, 1);
    const root = parseXml(await readFile(junit, 'utf8'));
    const failures = findAll(root, 'failure').length;
    assert.equal(failures, 4); // integrity and platforms, for each of the two images that share the layer
    assert.equal(root.attrs.failures, String(failures));
  });

  it('--junit on unreadable input still leaves a file CI can show', async () => {
    const junit = join(dir, 'unreadable.xml');
    const empty = join(dir, 'empty.tar');
    await writeFile(empty, '');
    const r = await airgap('verify', empty, '--junit', junit);
    assert.equal(r.code, 3);
    const root = parseXml(await readFile(junit, 'utf8'));
    assert.equal(findAll(root, 'error')[0]!.attrs.type, 'ERR_NOT_A_TAR');
  });

  it('verify --list F --kubernetes V without a bundle: a wrong pause fails with both tags', async () => {
    const list = join(dir, 'images.txt');
    await writeFile(list, [
      'registry.k8s.io/kube-apiserver:v1.30.14', 'registry.k8s.io/kube-controller-manager:v1.30.14', 'registry.k8s.io/kube-scheduler:v1.30.14',
      'registry.k8s.io/kube-proxy:v1.30.14', 'registry.k8s.io/coredns/coredns:v1.11.3', 'registry.k8s.io/pause:3.8', 'registry.k8s.io/etcd:3.5.15-0',
    ].join('\n'));
    const r = await airgap('verify', '--list', list, '--kubernetes', 'v1.30.14');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /needs registry\.k8s\.io\/pause:3\.9 \(pause\); the list has registry\.k8s\.io\/pause:3\.8/);
    await writeFile(list, (await readFile(list, 'utf8')).replace('pause:3.8', 'pause:3.9'));
    const ok = await airgap('verify', '--list', list, '--kubernetes', 'v1.30.14');
    assert.equal(ok.code, 0, ok.stdout);
  });
});

describe('airgap inspect', () => {
  it('shows the metadata, images, platforms and sharing; --json for programs', async () => {
    const r = await airgap('inspect', good.path);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /format +airgap bundle, format 1/);
    assert.match(r.stdout, /created +2026-11-22T00:00:00Z by airgap 0\.1\.0/);
    assert.match(r.stdout, /platforms +linux\/amd64/);
    assert.match(r.stdout, /registry\.k8s\.io\/pause:3\.9 .* linux\/amd64 \(linux\/arm64\)/);
    const j = await airgap('inspect', good.path, '--json');
    const doc = JSON.parse(j.stdout) as { images: { ref: string; digest: string }[]; blobs: { count: number; shared: { count: number } } };
    assert.deepEqual(doc.images.map((i) => [i.ref, i.digest]), good.images.map((i) => [i.ref, i.descriptor.digest]));
    assert.equal(doc.blobs.count, good.metadata!.blobs.count);
    assert.equal(doc.blobs.shared.count, 1);
    const bad = await airgap('inspect', join(dir, 'nope.tar'));
    assert.equal(bad.code, 3);
  });
});
