import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspectBundle } from '../../src/verify/inspect.js';
import { renderInspectText } from '../../src/verify/inspect-text.js';
import { header } from '../helpers/tar-writer.js';
import { makeBundle, makeTempDir } from '../helpers/make-bundle.js';

let dir: string;
let cleanup: () => Promise<void>;

before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-inspect-'));
});
after(async () => {
  await cleanup();
});

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('inspectBundle', () => {
  it('reports metadata, images, platforms, sizes and shared blobs', async () => {
    const b = await makeBundle({ dir, platforms: ['linux/amd64'], kubernetes: { version: 'v1.30.14', distribution: 'kubeadm' } });
    const r = await inspectBundle(b.path);
    assert.equal(r.bundle.kind, 'airgap');
    assert.equal(r.bundle.created, '2026-11-22T00:00:00Z');
    assert.deepEqual(r.bundle.createdBy, { name: 'airgap', version: '0.1.0' });
    assert.deepEqual(r.bundle.kubernetes, { version: 'v1.30.14', distribution: 'kubeadm' });
    assert.deepEqual(r.bundle.platforms, ['linux/amd64']);
    assert.deepEqual(r.images.map((i) => [i.ref, i.digest, i.role]), b.images.map((i) => [i.ref, i.descriptor.digest, i.role]));
    const pause = r.images.find((i) => i.ref.endsWith('pause:3.9'))!;
    assert.deepEqual(pause.platforms.map((p) => [p.platform, p.included]), [['linux/amd64', true], ['linux/arm64', false]]);
    // sizes: each image's distinct blobs; the shared base layer counted once in the total
    const p0 = b.images.find((i) => i.ref.endsWith('pause:3.9'))!;
    const amd = p0.platforms[0]!;
    assert.equal(pause.size, p0.descriptor.size + amd.manifest.size + amd.config.size + amd.layers.reduce((s, l) => s + l.size, 0));
    assert.equal(r.blobs.count, b.metadata!.blobs.count);
    assert.equal(r.blobs.size, b.metadata!.blobs.size);
    assert.equal(r.blobs.shared.count, 1);
    assert.equal(r.blobs.sizeWithoutDedup - r.blobs.size, r.blobs.shared.bytesSaved);
    assert.deepEqual(r.problems, []);
    const text = renderInspectText(r);
    assert.match(text, /kubernetes +v1\.30\.14 \(kubeadm\)/);
    assert.match(text, /1 blob shared by several images/);
  });

  it('is instant for a bundle of many GB: no layer byte is read', async () => {
    // A real manifest and config, and a 6 GiB layer that is a hole in a sparse file.
    const big = 6 * 1024 ** 3;
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'7'.repeat(64)}`, size: big };
    const config = Buffer.from('{"os":"linux","architecture":"arm64","rootfs":{"type":"layers","diff_ids":[]}}');
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [layer],
    }));
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, annotations: { 'io.containerd.image.name': 'example.com/huge:1' } }] }));
    const path = join(dir, 'huge.tar');
    const fh = await open(path, 'w');
    let pos = 0;
    const entry = async (name: string, data: Buffer | number): Promise<void> => {
      const size = typeof data === 'number' ? data : data.length;
      await fh.write(header(name, size, '0'), 0, 512, pos);
      if (typeof data !== 'number') await fh.write(data, 0, data.length, pos + 512);
      pos += 512 + Math.ceil(size / 512) * 512;
    };
    await entry('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    await entry('index.json', index);
    await entry(`blobs/sha256/${sha(manifest).slice(7)}`, manifest);
    await entry(`blobs/sha256/${sha(config).slice(7)}`, config);
    await entry(`blobs/sha256/${'7'.repeat(64)}`, big);
    await fh.write(Buffer.alloc(1024), 0, 1024, pos);
    await fh.close();

    const started = performance.now();
    const r = await inspectBundle(path);
    const ms = performance.now() - started;
    assert.ok(ms < 500, `inspect took ${ms} ms`);
    assert.equal(r.bundle.kind, 'oci-layout');
    assert.equal(r.images[0]!.size, big + manifest.length + config.length);
    assert.deepEqual(r.images[0]!.platforms.map((p) => p.platform), ['linux/arm64']);
    assert.equal(r.blobs.size, big + manifest.length + config.length);
  });

  it('lists damage it notices on the way, without failing', async () => {
    const b = await makeBundle({ dir, damage: [{ kind: 'truncate', at: 'mid-last-layer' }, { kind: 'symlink' }] });
    const r = await inspectBundle(b.path);
    assert.equal(r.images.length, 3);
    assert.ok(r.problems.some((p) => /ends at byte/.test(p)));
  });
});
