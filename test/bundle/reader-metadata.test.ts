import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBundleMetadata } from '../../src/bundle/reader-metadata.js';

/** airgap-bundle.json's newer fields (manifest.json's record, --oci-media-types) are optional: older bundles stay valid. */

const D = `sha256:${'a'.repeat(64)}`;
const base = {
  formatVersion: 1,
  tool: { name: 'airgap', version: '0.1.0' },
  created: '2026-01-01T00:00:00Z',
  kubernetes: null,
  platforms: ['linux/amd64'],
  images: [{ ref: 'registry.k8s.io/pause:3.9', digest: D, mediaType: 'application/vnd.oci.image.index.v1+json', size: 10, platforms: [{ platform: 'linux/amd64', digest: D, included: true }] }],
  blobs: { count: 1, size: 10, sizeWithoutDedup: 10 },
};
const parse = (doc: unknown) => parseBundleMetadata(Buffer.from(JSON.stringify(doc)));

describe('airgap-bundle.json: docker, mediaTypes, convertedFrom', () => {
  it('reads a bundle from before these fields as it was', () => {
    const md = parse(base);
    assert.equal(md.docker, undefined);
    assert.equal(md.mediaTypes, undefined);
    assert.equal(md.images[0]!.convertedFrom, undefined);
  });

  it('reads them back when present', () => {
    const E = `sha256:${'e'.repeat(64)}`;
    const doc = {
      ...base,
      images: [{ ...base.images[0], convertedFrom: E, platforms: [{ platform: 'linux/amd64', digest: D, included: true, convertedFrom: E }] }],
      mediaTypes: 'oci-converted',
      docker: { platform: 'linux/amd64', images: ['registry.k8s.io/pause:3.9'], missing: [] },
    };
    const md = parse(doc);
    assert.equal(md.mediaTypes, 'oci-converted');
    assert.deepEqual(md.docker, doc.docker);
    assert.equal(md.images[0]!.convertedFrom, E);
    assert.equal(md.images[0]!.platforms![0]!.convertedFrom, E);
  });

  it('refuses them malformed, naming the field (ERR_INVALID_BUNDLE_METADATA)', () => {
    for (const [bad, re] of [
      [{ ...base, mediaTypes: 'docker' }, /mediaTypes "docker"/],
      [{ ...base, docker: { platform: 'linux/amd64', images: 'all' } }, /docker must be/],
      [{ ...base, images: [{ ...base.images[0], convertedFrom: 'abc' }] }, /images\[0\]\.convertedFrom/],
    ] as const) {
      assert.throws(() => parse(bad), (e: { code?: string; message: string }) => e.code === 'ERR_INVALID_BUNDLE_METADATA' && re.test(e.message));
    }
  });
});
