/**
 * The docker-archive load streams to Docker Engine, read back with tar-stream (an independent
 * reader), and the Engine's /images/load answers. No daemon: the real one is in load-docker.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BundleReader } from '../../src/bundle/reader.js';
import { bundleImages } from '../../src/bundle/images.js';
import { blobPath } from '../../src/bundle/metadata.js';
import { AirgapError } from '../../src/errors.js';
import { dockerArchive } from '../../src/load/docker-archive.js';
import type { LoadEvent } from '../../src/load/events.js';
import { parseLoadAnswer, planDockerImage } from '../../src/load/to-docker.js';
import { readAll } from '../../src/content/verify-stream.js';
import { makeBundle, type BuiltBundle } from '../helpers/make-bundle.js';
import { readTar } from '../pack/helpers.js';

let built: BuiltBundle;
let damaged: BuiltBundle;

before(async () => {
  built = await makeBundle();
  const proxy = built.images.find((i) => i.ref.includes('kube-proxy'))!;
  const amd = proxy.platforms.find((p) => p.platform === 'linux/amd64')!;
  damaged = await makeBundle({ damage: [{ kind: 'flip-byte', digest: amd.layers.at(-1)!.digest }] });
});
after(async () => {
  const { rm } = await import('node:fs/promises');
  await rm(built.dir, { recursive: true, force: true });
  await rm(damaged.dir, { recursive: true, force: true });
});

test('docker-archive: the host platform\'s config and layers by digest path, as the bundle holds them, and manifest.json last naming every tag', async () => {
  const reader = await BundleReader.open(built.path);
  try {
    const images = await bundleImages(reader);
    const proxy = images.find((i) => i.name.includes('kube-proxy'))!;
    const events: LoadEvent[] = [];
    const plan = await planDockerImage(reader, proxy, { os: 'linux', architecture: 'arm64' }, (e) => events.push(e));
    const want = built.images.find((i) => i.ref.includes('kube-proxy'))!.platforms.find((p) => p.platform === 'linux/arm64')!;
    assert.equal(plan.config.digest, want.config.digest);
    assert.equal(plan.platformLabel, 'linux/arm64');
    assert.equal(plan.tag, 'registry.k8s.io/kube-proxy:v1.30.14');
    assert.deepEqual(events, []);

    const data = await readAll(dockerArchive(reader, [{ repoTags: [plan.tag!, 'registry.local/kube-proxy:v1'], config: plan.config, layers: plan.layers }]), 64 * 1024 * 1024);
    const entries = await readTar(data);
    assert.deepEqual(entries.map((e) => e.name), [want.config, ...want.layers].map((d) => blobPath(d.digest)).concat('manifest.json'));
    for (const d of [want.config, ...want.layers]) {
      assert.ok(entries.find((e) => e.name === blobPath(d.digest))!.data.equals(built.store.get(d.digest)!), `${d.digest} as the bundle holds it`);
    }
    assert.deepEqual(JSON.parse(entries.at(-1)!.data.toString()), [{
      Config: blobPath(want.config.digest),
      RepoTags: ['registry.k8s.io/kube-proxy:v1.30.14', 'registry.local/kube-proxy:v1'],
      Layers: want.layers.map((l) => blobPath(l.digest)),
    }]);

    // No content for the platform asked: the first one, with a warning.
    const warnings: LoadEvent[] = [];
    const other = await planDockerImage(reader, proxy, { os: 'linux', architecture: 's390x' }, (e) => warnings.push(e));
    assert.equal(other.platformLabel, 'linux/amd64');
    assert.ok(warnings.some((e) => e.event === 'warning' && e.code === 'NO_HOST_PLATFORM'));
  } finally {
    await reader.close();
  }
});

test('docker-archive: a layer that does not match its digest fails the stream before manifest.json', async () => {
  const reader = await BundleReader.open(damaged.path);
  try {
    const proxy = (await bundleImages(reader)).find((i) => i.name.includes('kube-proxy'))!;
    const plan = await planDockerImage(reader, proxy, { os: 'linux', architecture: 'amd64' }, () => undefined);
    const chunks: Buffer[] = [];
    const archive = dockerArchive(reader, [{ repoTags: [plan.tag!], config: plan.config, layers: plan.layers }]);
    await assert.rejects(async () => {
      for await (const c of archive) chunks.push(c as Buffer);
    }, (e: unknown) => e instanceof AirgapError && e.code === 'ERR_DIGEST_MISMATCH' && e.message.includes(plan.layers.at(-1)!.digest));
    assert.ok(!Buffer.concat(chunks).includes('manifest.json'), 'no manifest.json was sent');
  } finally {
    await reader.close();
  }
});

test('docker: /images/load answers: loaded names, and errors in a 200 answer or as a status', () => {
  const ok = Buffer.from('{"stream":"Loaded image: registry.k8s.io/pause:3.9\\n"}\r\n{"stream":"Loaded image: registry.local/pause:3.9\\n"}\r\n');
  assert.deepEqual(parseLoadAnswer(200, ok, '/s'), ['registry.k8s.io/pause:3.9', 'registry.local/pause:3.9']);
  assert.deepEqual(parseLoadAnswer(200, Buffer.from('{"stream":"Loaded image ID: sha256:abc\\n"}\n'), '/s'), ['sha256:abc']);
  const late = Buffer.from('{"errorDetail":{"message":"invalid diffID for layer 0"},"error":"invalid diffID for layer 0"}\n');
  assert.throws(() => parseLoadAnswer(200, late, '/s'), (e: unknown) => e instanceof AirgapError && e.code === 'ERR_DOCKER_LOAD' && e.kind === 'runtime' && /invalid diffID/.test(e.message));
  assert.throws(() => parseLoadAnswer(500, Buffer.from('{"message":"unexpected EOF"}'), '/s'), (e: unknown) => e instanceof AirgapError && e.code === 'ERR_DOCKER_LOAD' && /500.*unexpected EOF/.test(e.message));
});
