import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { BundleMetadata } from '../../src/bundle/metadata.js';
import { readAll } from '../../src/content/verify-stream.js';
import { MediaType } from '../../src/oci/media-type.js';
import { parsePlatformSelection } from '../../src/oci/platform.js';
import { ImageSetResolveError } from '../../src/pack/errors.js';
import { AirgapError } from '../../src/errors.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import type { PackEvent } from '../../src/pack/events.js';
import { pack, type PackOptions } from '../../src/pack/pack.js';
import { addImage, kubeRegistry, readTar, sha256, tempDir, type TestRegistry } from './helpers.js';

const EPOCH = 1700000000;

function opts(reg: TestRegistry, output: PackOptions['output'], more: Partial<PackOptions> = {}): PackOptions {
  return { kubernetes: 'v1.30.14', sources: reg, output, sourceDateEpoch: EPOCH, retryDelayMs: 1, ...more };
}

function layerFetches(reg: TestRegistry): number {
  let n = 0;
  for (const r of reg.repos.values()) n += r.fetches.filter((f) => f.mediaType === MediaType.OciLayerGzip).length;
  return n;
}

describe('pack (in-memory registry)', () => {
  it('writes metadata, layout, index, manifests, configs, then layers; each blob once; default platform linux/amd64', async (t) => {
    const dir = await tempDir(t);
    const { reg, images } = kubeRegistry();
    const out = join(dir, 'k8s.tar');
    const events: PackEvent[] = [];
    const r = await pack(opts(reg, out, { onEvent: (e) => events.push(e) }));
    assert.deepEqual(await readdir(dir), ['k8s.tar']);
    const entries = await readTar(await readFile(out));
    assert.deepEqual(entries.slice(0, 4).map((e) => e.name), ['airgap-bundle.json', 'oci-layout', 'index.json', 'manifest.json']);
    const names = entries.map((e) => e.name);
    assert.equal(new Set(names).size, names.length, 'each blob once');
    for (const e of entries.slice(4)) assert.equal(sha256(e.data), e.name.slice('blobs/sha256/'.length));

    const meta = JSON.parse(entries[0]!.data.toString()) as BundleMetadata;
    assert.deepEqual(meta.platforms, ['linux/amd64']);
    assert.deepEqual(meta.kubernetes, { version: 'v1.30.14', distribution: 'kubeadm' });
    assert.equal(meta.created, '2023-11-14T22:13:20Z');
    const pause = meta.images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!;
    const upstream = images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!;
    assert.equal(pause.digest, upstream.index!.digest, 'the upstream index digest is kept');
    assert.equal(pause.role, 'pause');
    assert.deepEqual(pause.platforms?.map((p) => [p.platform, p.included]), [['linux/amd64', true], ['linux/arm64', false]]);

    // The index blobs are upstream's bytes; only amd64 content is there.
    const blobs = new Set(names.filter((n) => n.startsWith('blobs/')).map((n) => `sha256:${n.slice(13)}`));
    for (const img of images) {
      assert.ok(blobs.has(img.index!.digest));
      for (const m of img.manifests) {
        const want = m.platform === 'linux/amd64';
        for (const d of [m.manifest, m.config, ...m.layers]) {
          if (img.manifests.some((o) => o !== m && o.platform === 'linux/amd64' && o.layers.some((l) => l.digest === d.digest))) continue;
          assert.equal(blobs.has(d.digest), want, `${img.ref} ${m.platform} ${d.mediaType}`);
        }
      }
    }
    // Order: every manifest, then configs, then layers.
    const kinds = entries.slice(4).map((e) => {
      const d = `sha256:${e.name.slice(13)}`;
      const img = images.find((i) => i.index!.digest === d || i.manifests.some((m) => m.manifest.digest === d || m.config.digest === d));
      if (!img) return 'layer';
      return img.manifests.some((m) => m.config.digest === d) ? 'config' : 'manifest';
    });
    assert.deepEqual(kinds, [...kinds].sort((a, b) => ['manifest', 'config', 'layer'].indexOf(a) - ['manifest', 'config', 'layer'].indexOf(b)));

    const index = JSON.parse(entries[2]!.data.toString()) as { manifests: { digest: string; mediaType: string; annotations: Record<string, string> }[] };
    assert.equal(index.manifests.length, 7);
    for (const m of index.manifests) {
      assert.equal(m.annotations['io.containerd.image.name'], m.annotations['org.opencontainers.image.ref.name']);
      assert.equal(m.mediaType, MediaType.OciIndex);
    }
    // Dedup: the kube-* images share a base layer.
    assert.ok(r.summary.savedByDedup > 0);
    assert.equal(r.summary.blobs, blobs.size);
    const summary = events.find((e) => e.event === 'summary');
    assert.ok(summary);
    const start = events.find((e) => e.event === 'start');
    assert.ok(start && start.event === 'start' && start.defaultPlatform && start.platforms === 'linux/amd64');
    assert.equal(events.filter((e) => e.event === 'image-done').length, 7);
  });

  it('gives byte-identical bundles for the same inputs, to a file or to a stream', async (t) => {
    const dir = await tempDir(t);
    const { reg } = kubeRegistry();
    const all = parsePlatformSelection('all');
    await pack(opts(reg, join(dir, 'a.tar'), { platforms: all, concurrency: 1 }));
    await pack(opts(reg, join(dir, 'b.tar'), { platforms: all, concurrency: 6 }));
    const sink = new PassThrough();
    const streamed = readAll(sink, 1 << 30);
    await pack(opts(reg, sink, { platforms: all }));
    sink.end();
    const a = await readFile(join(dir, 'a.tar'));
    assert.ok(a.equals(await readFile(join(dir, 'b.tar'))));
    assert.ok(a.equals(await streamed), '-o - gives the same bytes as a file');
    const meta = JSON.parse((await readTar(a))[0]!.data.toString()) as BundleMetadata;
    assert.equal(meta.platforms, 'all');
    assert.ok(meta.images.every((i) => i.platforms!.every((p) => p.included)));
  });

  it('reports every problem at once, before any layer moves, and leaves no output', async (t) => {
    const dir = await tempDir(t);
    const { reg } = kubeRegistry();
    addImage(reg, 'quay.io/example/arm-only:1', { platforms: ['linux/arm64'] });
    const out = join(dir, 'k8s.tar');
    await assert.rejects(
      pack(opts(reg, out, { images: ['registry.k8s.io/does-not-exist:1.0', 'quay.io/example/arm-only:1'] })),
      (e: unknown) => {
        assert.ok(e instanceof ImageSetResolveError);
        assert.equal(e.problems.length, 2);
        assert.match(e.message, /registry\.k8s\.io\/does-not-exist:1\.0: .*not found/);
        assert.match(e.message, /quay\.io\/example\/arm-only:1: does not publish linux\/amd64 \(it has linux\/arm64\)/);
        assert.match(e.message, /nothing was transferred/);
        return true;
      },
    );
    assert.equal(layerFetches(reg), 0, 'no layer was fetched');
    assert.deepEqual(await readdir(dir), []);
  });

  it('reports refused credentials with the other problems, as an auth failure (exit 5)', async (t) => {
    const dir = await tempDir(t);
    const { reg } = kubeRegistry();
    const denied = reg.repo('quay.io/private/app');
    const refuse = async (): Promise<never> => {
      throw new AirgapError('ERR_REGISTRY_UNAUTHORIZED', 'auth', 'quay.io refused the credentials for quay.io/private/app', { hint: 'check --creds' });
    };
    denied.resolve = refuse;
    denied.fetch = refuse;
    await assert.rejects(pack(opts(reg, join(dir, 'k8s.tar'), { images: ['quay.io/private/app:1', 'registry.k8s.io/nope:1'] })), (e: unknown) => {
      assert.ok(e instanceof ImageSetResolveError);
      assert.equal(e.problems.length, 2);
      assert.equal(e.kind, 'auth');
      assert.equal(exitCodeFor(e.kind), 5);
      assert.match(e.message, /quay\.io\/private\/app:1: quay\.io refused the credentials/);
      assert.match(e.hint ?? '', /check --creds/);
      return true;
    });
  });

  it('resumes an interrupted pack: finished blobs are kept and the result is identical', async (t) => {
    const dir = await tempDir(t);
    const { reg } = kubeRegistry({ layerSize: 200_000 });
    const all = parsePlatformSelection('all');
    const clean = join(dir, 'clean.tar');
    await pack(opts(reg, clean, { platforms: all }));

    const out = join(dir, 'k8s.tar');
    const ac = new AbortController();
    let done = 0;
    await assert.rejects(pack(opts(reg, out, {
      platforms: all,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.event === 'blob-done' && ++done === 5) ac.abort(new Error('interrupted'));
      },
    })));
    assert.deepEqual((await readdir(dir)).sort(), ['clean.tar', 'k8s.tar.partial', 'k8s.tar.partial.json']);

    const events: PackEvent[] = [];
    const r = await pack(opts(reg, out, { platforms: all, onEvent: (e) => events.push(e) }));
    assert.ok(events.some((e) => e.event === 'notice' && e.code === 'RESUMING'));
    const plan = events.find((e) => e.event === 'plan');
    assert.ok(plan && plan.event === 'plan' && plan.resumedBlobs >= 5);
    assert.ok(r.summary.fetched < r.summary.bytes, 'the second run fetched less than everything');
    assert.ok((await readFile(out)).equals(await readFile(clean)));
    assert.deepEqual((await readdir(dir)).sort(), ['clean.tar', 'k8s.tar']);
  });

  it('leaves nothing under the final name when a layer cannot be fetched', async (t) => {
    const dir = await tempDir(t);
    const { reg, images } = kubeRegistry();
    const etcd = images.find((i) => i.ref.includes('etcd'))!;
    const lost = etcd.manifests[0]!.layers[1]!;
    reg.repo('registry.k8s.io/etcd').delete(lost.digest);
    const out = join(dir, 'k8s.tar');
    await assert.rejects(pack(opts(reg, out)), (e: unknown) => e instanceof Error && e.message.includes(lost.digest));
    assert.ok(!(await readdir(dir)).includes('k8s.tar'));
  });

  it('writes a lock, then packs exactly its digests and reports a tag that moved', async (t) => {
    const dir = await tempDir(t);
    const { reg, images } = kubeRegistry();
    const lock = join(dir, 'k8s.lock.json');
    const events: PackEvent[] = [];
    await pack(opts(reg, join(dir, 'a.tar'), { lock, onEvent: (e) => events.push(e) }));
    const pins = JSON.parse(await readFile(lock, 'utf8')) as { images: Record<string, string> };
    const pauseDigest = images.find((i) => i.ref.includes('pause'))!.index!.digest;
    assert.equal(pins.images['registry.k8s.io/pause:3.9'], pauseDigest);
    assert.ok(events.some((e) => e.event === 'notice' && e.code === 'LOCK_WRITTEN'));

    // Upstream moves pause:3.9 to new content.
    const moved = addImage(reg, 'registry.k8s.io/pause:3.9', { layers: 1, layerSize: 777 });
    events.length = 0;
    const r = await pack(opts(reg, join(dir, 'b.tar'), { lock, onEvent: (e) => events.push(e) }));
    assert.equal(r.metadata.images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!.digest, pauseDigest);
    const notice = events.find((e) => e.event === 'notice' && e.code === 'LOCK_MOVED');
    assert.ok(notice && notice.event === 'notice' && notice.message.includes(moved.index!.digest));
    assert.ok((await readFile(join(dir, 'a.tar'))).equals(await readFile(join(dir, 'b.tar'))));
  });

  it('with --dry-run resolves and plans but writes nothing', async (t) => {
    const dir = await tempDir(t);
    const { reg } = kubeRegistry();
    const r = await pack(opts(reg, join(dir, 'k8s.tar'), { dryRun: true }));
    assert.equal(r.summary.dryRun, true);
    assert.equal(r.summary.images, 7);
    assert.equal(layerFetches(reg), 0);
    assert.deepEqual(await readdir(dir), []);
  });

  it('refuses to start on a list with the wrong pause tag, before any request', async (t) => {
    const dir = await tempDir(t);
    const { reg } = kubeRegistry();
    const list = join(dir, 'list.txt');
    await writeFile(list, 'registry.k8s.io/pause:3.8\n');
    await assert.rejects(pack(opts(reg, join(dir, 'k8s.tar'), { list })), /pause:3\.8.*needs registry\.k8s\.io\/pause:3\.9/s);
    let requests = 0;
    for (const r of reg.repos.values()) requests += r.fetches.length;
    assert.equal(requests, 0);
  });
});
