/**
 * airgap load into a real node registry (Debian's docker-registry 2.8), with skopeo as the
 * independent oracle and the registry's own access log as the witness of what was written.
 * Run inside `unshare -n` (scripts/test.sh).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { BundleReader } from '../../src/bundle/reader.js';
import type { LoadEvent } from '../../src/load/events.js';
import { load } from '../../src/load/load.js';
import { generateImages, skopeoRegistryFlags, startRegistry, type GeneratedImages, type LabRegistry } from '../../scripts/lab/index.js';
import { bundleFromLayout } from '../helpers/lab-bundle.js';
import { CLI } from '../helpers/cli.js';
import { runCli, startBundleLab, type BundleLab } from '../helpers/node-lab.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let lab: BundleLab;
let work: string;
let gen: GeneratedImages;
let bundle: string;
let amd64Bundle: string;
let reg: LabRegistry;

before(async () => {
  lab = await startBundleLab('airgap-load-registry-');
  ({ work, gen, bundle, reg } = lab);
  amd64Bundle = (await bundleFromLayout(gen.layoutDir, join(work, 'k8s-amd64.tar'), { platforms: ['linux/amd64'] })).path;
});
after(async () => {
  await lab?.stop();
});

const cli = (args: string[]) => runCli(['load', ...args]);

/** The manifest bytes the registry serves for a reference, read by skopeo. */
async function skopeoRaw(r: LabRegistry, ref: string): Promise<Buffer> {
  const flags = await skopeoRegistryFlags(r, undefined, work);
  const res = await execa('skopeo', ['inspect', '--raw', ...flags, `docker://${ref}`], { encoding: 'buffer', stdin: 'ignore' });
  return Buffer.from(res.stdout);
}

async function skopeoFails(r: LabRegistry, ref: string): Promise<string> {
  const flags = await skopeoRegistryFlags(r, undefined, work);
  const res = await execa('skopeo', ['inspect', '--raw', ...flags, `docker://${ref}`], { reject: false, stdin: 'ignore' });
  assert.notEqual(res.exitCode, 0, `${ref} should not be in the registry`);
  return String(res.stderr);
}

/** Requests that change a registry (PUT, POST, PATCH, DELETE) logged after byte offset `from`. */
async function writesSince(r: LabRegistry, from: number): Promise<string[]> {
  const text = (await readFile(r.logFile)).subarray(from).toString('utf8');
  return text.split('\n').filter((l) => /"(PUT|POST|PATCH|DELETE) \/v2\//.test(l));
}

async function logSize(r: LabRegistry): Promise<number> {
  return (await stat(r.logFile)).size;
}

function jsonEvents(stdout: string): LoadEvent[] {
  return stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LoadEvent);
}

test('every image lands under its source name with the bundle\'s digests; skopeo copies each out unchanged; a second load writes nothing', async () => {
  const events: LoadEvent[] = [];
  const result = await load({ bundle, registry: { url: reg.url }, onEvent: (e) => events.push(e) });
  assert.equal(result.summary.changed, true);
  assert.deepEqual(result.registry!.images.map((i) => i.status), gen.images.map(() => 'pushed'));
  // shared base layers are uploaded once and mounted into the other repositories
  assert.ok(result.registry!.blobs.mounted > 0, 'kube-* images share a base layer: it is mounted, not uploaded again');

  const limit = pLimit(3);
  await Promise.all(gen.images.map((img) => limit(async () => {
    const ref = `${reg.host}/${img.ref}`;
    assert.equal(sha256(await skopeoRaw(reg, ref)), img.digest, `skopeo inspect ${ref}`);
    // the whole image (every platform) out again, digests preserved
    const out = join(work, `copy-${img.repository.replace(/\//g, '_')}`);
    await execa('skopeo', ['copy', '-q', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${ref}`, `dir:${out}`], { stdin: 'ignore' });
    assert.equal(sha256(await readFile(join(out, 'manifest.json'))), img.digest);
    for (const p of img.platforms) assert.equal(sha256(await readFile(join(out, `${p.digest.slice(7)}.manifest.json`))), p.digest);
  })));

  const mark = await logSize(reg);
  const again = await cli([bundle, '--registry', reg.url, '--json']);
  assert.equal(again.exitCode, 0, again.stderr);
  const ev = jsonEvents(again.stdout);
  const summary = ev.find((e) => e.event === 'summary');
  assert.ok(summary && summary.event === 'summary');
  assert.equal(summary.summary.changed, false);
  assert.deepEqual(ev.filter((e) => e.event === 'registry-image').map((e) => e.event === 'registry-image' && e.status), gen.images.map(() => 'present'));
  assert.deepEqual(await writesSince(reg, mark), [], 'a second load must not write to the registry');

  const human = await cli([bundle, '--registry', reg.url]);
  assert.equal(human.exitCode, 0);
  assert.match(human.stdout, /Nothing changed/);
  assert.deepEqual(await writesSince(reg, mark), []);
});

test('--dry-run asks the registry what it has and writes nothing', async () => {
  const mark = await logSize(reg);
  const r = await cli([bundle, '--registry', `${reg.url}/dry`, '--dry-run', '--json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const ev = jsonEvents(r.stdout);
  assert.deepEqual(ev.filter((e) => e.event === 'registry-image').map((e) => e.event === 'registry-image' && e.status), gen.images.map(() => 'would-push'));
  assert.deepEqual(await writesSince(reg, mark), []);
  await skopeoFails(reg, `${reg.host}/dry/registry.k8s.io/pause:3.9`);
});

test('a platform-filtered bundle: distribution refuses the original index, so the tag serves an index of the bundle\'s platforms', async () => {
  const events: LoadEvent[] = [];
  const result = await load({ bundle: amd64Bundle, registry: { url: `${reg.url}/amd` }, onEvent: (e) => events.push(e) });
  const warned = events.filter((e) => e.event === 'warning' && e.code === 'INDEX_REDUCED').map((e) => e.event === 'warning' && e.image);
  assert.deepEqual(warned.sort(), gen.images.map((i) => i.ref).sort(), 'every image is a multi-platform index here');
  for (const img of gen.images) {
    const r = result.registry!.images.find((i) => i.image === img.ref)!;
    const raw = await skopeoRaw(reg, `${reg.host}/amd/${img.ref}`);
    assert.equal(sha256(raw), r.servedDigest);
    assert.notEqual(r.servedDigest, img.digest);
    const idx = JSON.parse(raw.toString()) as { mediaType: string; manifests: { digest: string; platform: { architecture: string } }[] };
    assert.equal(idx.mediaType, img.mediaType);
    const amd = img.platforms.find((p) => p.platform === 'linux/amd64')!;
    assert.deepEqual(idx.manifests.map((m) => m.digest), [amd.digest]);
    assert.equal(sha256(await skopeoRaw(reg, `${reg.host}/amd/${img.registry}/${img.repository}@${amd.digest}`)), amd.digest);
  }
  // The reduced index is recognised: the second run changes nothing.
  const mark = await logSize(reg);
  const again = await load({ bundle: amd64Bundle, registry: { url: `${reg.url}/amd` } });
  assert.equal(again.summary.changed, false);
  assert.deepEqual(await writesSince(reg, mark), []);
});

test('a layer that does not match its digest fails the load (exit 1, naming the digest); the image it belongs to never becomes visible', async () => {
  const etcd = gen.images.find((i) => i.ref.includes('/etcd:'))!;
  const others = gen.images.filter((i) => i !== etcd);
  const used = new Set(others.flatMap((i) => i.platforms.flatMap((p) => p.layers.map((l) => l.digest))));
  const amd = etcd.platforms.find((p) => p.platform === 'linux/amd64')!;
  const layer = amd.layers.find((l) => !used.has(l.digest))!;
  assert.ok(layer, 'etcd has a layer of its own');
  const bad = join(work, 'corrupt.tar');
  await copyFile(bundle, bad);
  const reader = await BundleReader.open(bad);
  const range = reader.blobRange(layer.digest)!;
  await reader.close();
  const fh = await open(bad, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, range.offset + Math.floor(range.size / 2));
  b[0] = b[0]! ^ 0xff;
  await fh.write(b, 0, 1, range.offset + Math.floor(range.size / 2));
  await fh.close();

  const r = await cli([bad, '--registry', `${reg.url}/bad`]);
  assert.equal(r.exitCode, 1, r.stderr);
  assert.match(r.stderr, new RegExp(layer.digest));
  assert.match(r.stderr, /registry\.k8s\.io\/etcd:3\.5\.15-0/);
  await skopeoFails(reg, `${reg.host}/bad/${etcd.ref}`);
  await skopeoFails(reg, `${reg.host}/bad/${etcd.registry}/${etcd.repository}@${amd.digest}`);
  // images without the bad layer are loaded
  const pause = gen.images.find((i) => i.ref.includes('/pause:'))!;
  assert.equal(sha256(await skopeoRaw(reg, `${reg.host}/bad/${pause.ref}`)), pause.digest);
});

test('an interrupted load (SIGKILL midway) completes when run again', async () => {
  const big = await generateImages({ scale: 0.1 });
  const path = (await bundleFromLayout(big.layoutDir, join(work, 'big.tar'))).path;
  const child = execa('node', [CLI, 'load', path, '--registry', `${reg.url}/int`, '--json', '--concurrency', '1'], { reject: false, stdin: 'ignore' });
  let killed = false;
  let lines = '';
  child.stdout!.on('data', (d: Buffer) => {
    lines += d.toString();
    if (!killed && lines.includes('"event":"registry-image"')) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  const first = await child;
  assert.equal(first.signal, 'SIGKILL', 'the first load was killed before it finished');

  const r = await load({ bundle: path, registry: { url: `${reg.url}/int` } });
  assert.ok(r.registry!.images.some((i) => i.status === 'pushed'), 'the second run had work left to do');
  for (const img of big.images) assert.equal(sha256(await skopeoRaw(reg, `${reg.host}/int/${img.ref}`)), img.digest);
  const again = await load({ bundle: path, registry: { url: `${reg.url}/int` } });
  assert.equal(again.summary.changed, false);
});

test('auth and TLS as the client takes them: --creds and --ca-file work, refused credentials exit 5 without echoing the password', async () => {
  // Token auth (bcrypt runs once per token, not once per request as with basic auth) and one image keep this quick.
  const small = await generateImages({ refs: [{ ref: 'registry.k8s.io/pause:3.9' }], scale: 0.01 });
  const pauseBundle = (await bundleFromLayout(small.layoutDir, join(work, 'pause.tar'))).path;
  const secure = await startRegistry({ auth: 'token', tls: true });
  try {
    const ok = await cli([pauseBundle, '--registry', secure.url, '--ca-file', secure.caFile!, '--creds', `${secure.host}=${secure.username}:${secure.password}`]);
    assert.equal(ok.exitCode, 0, ok.stderr);
    const pause = small.images[0]!;
    assert.equal(sha256(await skopeoRaw(secure, `${secure.host}/${pause.ref}`)), pause.digest);

    const wrong = await cli([pauseBundle, '--registry', secure.url, '--ca-file', secure.caFile!, '--creds', `${secure.host}=${secure.username}:not-the-password`]);
    assert.equal(wrong.exitCode, 5, wrong.stderr);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /not-the-password/);
  } finally {
    await secure.stop();
  }
});

test('nothing to do, or a bad --registry, is a usage error (exit 2)', async () => {
  const none = await cli([bundle]);
  assert.equal(none.exitCode, 2);
  assert.match(none.stderr, /--registry/);
  const bad = await cli([bundle, '--registry', 'ftp://x']);
  assert.equal(bad.exitCode, 2);
  const missing = await cli([join(work, 'no-such.tar'), '--registry', reg.url]);
  assert.equal(missing.exitCode, 3);
});

