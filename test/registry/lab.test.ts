/**
 * The client against the real registry (Debian's docker-registry 2.8) in every auth and TLS mode:
 * pull a multi-platform image through --registry-mirror, verified, and compare with what the
 * generator made; push it elsewhere (monolithic and streamed blobs, a mount, manifests, a tag) and
 * read it back with skopeo as an independent oracle. Run inside `unshare -n` (see README).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  generateImages, seedRegistry, startRegistry, type GeneratedImage, type GeneratedImages, type LabRegistry, type RegistryAuth,
} from '../../scripts/lab/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RegistryEvent } from '../../src/registry/events.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-type.js';
import { bytes, readStream } from './helpers.js';

const run = promisify(execFile);
const IMAGES = [{ ref: 'registry.k8s.io/pause:3.9' }, { ref: 'registry.k8s.io/coredns/coredns:v1.11.3' }];
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7'];

async function have(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}
const missing = !(await have('docker-registry')) || !(await have('skopeo'));

/** skopeo flags to read from a lab registry; the password goes in an auth file, never argv. */
async function skopeoAuth(reg: LabRegistry): Promise<string[]> {
  const args = ['--tls-verify=false'];
  if (reg.username) {
    const dir = await mkdtemp(join(tmpdir(), 'airgap-skopeo-auth-'));
    const file = join(dir, 'auth.json');
    await writeFile(file, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.username}:${reg.password}`).toString('base64') } } }), { mode: 0o600 });
    args.push('--authfile', file);
  }
  return args;
}

async function skopeoRaw(reg: LabRegistry, ref: string): Promise<Buffer> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', ...(await skopeoAuth(reg)), `docker://${ref}`], { encoding: 'buffer', maxBuffer: 8 * 1024 * 1024 });
  return stdout;
}

const MODES: Array<{ name: string; auth: RegistryAuth; tls: boolean }> = [
  { name: 'plain http, anonymous', auth: 'none', tls: false },
  { name: 'basic auth', auth: 'basic', tls: false },
  { name: 'TLS with the lab CA', auth: 'none', tls: true },
  { name: 'token auth over TLS', auth: 'token', tls: true },
];

let gen: GeneratedImages;
before(async () => {
  if (missing) return;
  gen = await generateImages({ refs: IMAGES, platforms: PLATFORMS, scale: 0.01, seed: 'registry-client-test' });
});

for (const mode of MODES) {
  describe(`real registry: ${mode.name}`, { skip: missing ? 'docker-registry or skopeo is not installed' : false }, () => {
    let reg: LabRegistry;
    let client: RegistryClient;
    const events: RegistryEvent[] = [];

    before(async () => {
      reg = await startRegistry({ auth: mode.auth, tls: mode.tls });
      await seedRegistry(reg, gen);
      client = new RegistryClient({
        mirrors: [`registry.k8s.io=${reg.url}/registry.k8s.io`],
        credentials: reg.username ? [`${reg.host}=${reg.username}:${reg.password}`] : [],
        caFiles: reg.caFile ? [reg.caFile] : [],
        insecure: mode.tls ? [] : [reg.host],
        dockerConfig: '/nonexistent/config.json',
        monolithicMaxBytes: 16 * 1024,
        retry: { attempts: 3, baseDelayMs: 10 },
        onEvent: (e) => events.push(e),
      });
    });
    after(async () => {
      await client?.close();
      await reg?.stop();
      const text = JSON.stringify(events);
      if (reg?.password) assert.ok(!text.includes(reg.password), 'no password in any event');
    });

    test('pulls every multi-platform image through the mirror, verified, matching the generator', async () => {
      for (const img of gen.images) {
        const repo = client.repository(img.ref);
        assert.equal(repo.source, `${reg.url}/v2/registry.k8s.io/${img.repository}`);
        const root = await repo.resolve(img.tag);
        assert.deepEqual(root, { mediaType: img.mediaType, digest: img.digest, size: img.size });
        const index = await repo.fetchManifest(img.tag);
        assert.equal(index.manifest.kind, 'index');
        assert.equal(index.descriptor.digest, img.digest);
        const children = index.manifest.kind === 'index' ? index.manifest.index.manifests : [];
        assert.deepEqual(children.map((c) => c.digest), img.platforms.map((p) => p.digest));
        for (const [i, child] of children.entries()) {
          const want = img.platforms[i]!;
          const m = await repo.fetchManifest(child);
          assert.equal(m.descriptor.digest, want.digest);
          assert.equal(m.manifest.kind, 'manifest');
          if (m.manifest.kind !== 'manifest') continue;
          const blobs = [m.manifest.manifest.config, ...m.manifest.manifest.layers];
          assert.deepEqual(blobs.map((b) => b.digest), [want.config.digest, ...want.layers.map((l) => l.digest)]);
          for (const b of blobs) {
            const data = await readStream(await repo.fetch(b)); // verified: size cap + digest
            assert.equal(data.byteLength, b.size);
            const onDisk = await readFile(join(gen.layoutDir, 'blobs', 'sha256', b.digest.slice('sha256:'.length)));
            assert.ok(data.equals(onDisk), `blob ${b.digest} equals the generated bytes`);
          }
          // the same manifest as a stream, by its descriptor
          assert.equal((await readStream(await repo.fetch(child))).byteLength, child.size);
        }
        assert.deepEqual(await repo.tags(), [img.tag]);
      }
      if (mode.auth === 'token') {
        assert.ok(reg.tokenServer!.requests.length >= 1);
        assert.ok(events.some((e) => e.type === 'auth' && e.scheme === 'bearer' && !e.anonymous));
      }
    });

    test('pushes blobs (monolithic and streamed), mounts, pushes manifests and a tag; skopeo reads them back', async () => {
      const img: GeneratedImage = gen.images.find((i) => i.repository === 'coredns/coredns')!;
      const src = client.repository(img.ref);
      const dstName = `${reg.host}/airgap/copy`;
      const dst = client.repository(dstName, { push: true });
      const mounted = client.repository(`${reg.host}/airgap/mounted`, { push: true });

      const index = await src.fetchManifest(img.tag);
      const children = index.manifest.kind === 'index' ? index.manifest.index.manifests : [];
      const pushedBlobs: Descriptor[] = [];
      for (const child of children) {
        const m = await src.fetchManifest(child);
        if (m.manifest.kind !== 'manifest') continue;
        for (const b of [m.manifest.manifest.config, ...m.manifest.manifest.layers]) {
          if (await dst.exists(b)) continue; // shared base layers are pushed once
          await dst.push(b, await src.fetch(b));
          pushedBlobs.push(b);
        }
        await dst.push(child, Readable.from([m.bytes])); // a manifest by digest
      }
      assert.ok(pushedBlobs.some((b) => b.size <= 16 * 1024), 'some blob went monolithic');
      assert.ok(pushedBlobs.some((b) => b.size > 16 * 1024), 'some blob was streamed');
      const big = bytes(3 * 1024 * 1024 + 7, 42);
      const bigDesc: Descriptor = { mediaType: MediaType.OciLayer, digest: digestOf(big), size: big.byteLength };
      await dst.push(bigDesc, Readable.from([big.subarray(0, 1_000_000), big.subarray(1_000_000)]));
      assert.ok(await dst.exists(bigDesc));
      assert.ok((await readStream(await dst.fetch(bigDesc))).equals(big));

      const pushedIndex = await dst.pushManifest(index.bytes, index.descriptor.mediaType, 'copied');
      assert.equal(pushedIndex.digest, img.digest, 'same bytes, same digest');
      await dst.tag(pushedIndex, 'also');
      assert.deepEqual((await dst.tags()).sort(), ['also', 'copied']);

      // The oracle: skopeo sees exactly the bytes we pushed.
      assert.ok((await skopeoRaw(reg, `${dstName}:copied`)).equals(index.bytes));
      assert.ok((await skopeoRaw(reg, `${dstName}:also`)).equals(index.bytes));
      for (const child of children) {
        assert.ok((await skopeoRaw(reg, `${dstName}@${child.digest}`)).equals((await src.fetchManifest(child)).bytes));
      }

      // Cross-repository mount: from the mirror's repository and from the copy, both on this registry.
      const layer = pushedBlobs.find((b) => b.mediaType !== img.platforms[0]!.config.mediaType)!;
      assert.equal(await mounted.exists(layer), false);
      assert.equal(await mounted.mount(layer, src), true);
      assert.equal(await mounted.mount(bigDesc, dstName), true);
      assert.ok(await mounted.exists(layer));
      assert.ok((await readStream(await mounted.fetch(bigDesc))).equals(big));
      const unknown: Descriptor = { mediaType: MediaType.OciLayer, digest: `sha256:${'0'.repeat(64)}` as Digest, size: 1 };
      assert.equal(await mounted.mount(unknown, dstName), false, 'a blob the registry lacks is not mounted');
    });

    test('errors from the real registry: unknown tag, unknown blob', async () => {
      const repo = client.repository('registry.k8s.io/pause');
      await assert.rejects(repo.resolve('no-such-tag'), (e: Error & { code?: string }) => e.code === 'ERR_IMAGE_NOT_FOUND' && e.message.includes(reg.url));
      await assert.rejects(repo.fetchManifest('no-such-tag'), (e: Error & { code?: string }) => e.code === 'ERR_IMAGE_NOT_FOUND' && /MANIFEST_UNKNOWN/.test(e.message));
      await assert.rejects(repo.fetch({ mediaType: MediaType.OciLayer, digest: `sha256:${'1'.repeat(64)}` as Digest, size: 3 }), (e: Error & { code?: string }) => e.code === 'ERR_BLOB_NOT_FOUND');
      if (mode.auth !== 'none') {
        const anon = new RegistryClient({ mirrors: [`registry.k8s.io=${reg.url}/registry.k8s.io`], caFiles: reg.caFile ? [reg.caFile] : [], dockerConfig: '/nonexistent' });
        try {
          await assert.rejects(anon.repository('registry.k8s.io/pause').resolve('3.9'), (e: Error & { kind?: string }) => e.kind === 'auth');
        } finally {
          await anon.close();
        }
      }
      if (mode.tls) {
        const noCa = new RegistryClient({ mirrors: [`registry.k8s.io=${reg.url}/registry.k8s.io`], dockerConfig: '/nonexistent', retry: { attempts: 1 } });
        try {
          await assert.rejects(noCa.repository('registry.k8s.io/pause').resolve('3.9'), (e: Error & { code?: string; hint?: string }) => e.code === 'ERR_REGISTRY_TLS' && /--ca-file/.test(e.hint ?? ''));
        } finally {
          await noCa.close();
        }
        // Named insecure instead: TLS without verification works.
        const insecure = new RegistryClient({ mirrors: [`registry.k8s.io=${reg.url}/registry.k8s.io`], insecure: [reg.host], dockerConfig: '/nonexistent' });
        try {
          const img = gen.images.find((i) => i.repository === 'pause')!;
          if (mode.auth === 'none') assert.equal((await insecure.repository('registry.k8s.io/pause').resolve('3.9')).digest, img.digest);
        } finally {
          await insecure.close();
        }
      }
    });
  });
}
