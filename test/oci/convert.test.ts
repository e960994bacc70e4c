import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ociMediaTypeOf, withOciMediaTypes } from '../../src/oci/convert.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { digestOf } from '../../src/oci/digest.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-type.js';

const d = (c: string, mediaType: string, size = 10): Descriptor => ({ mediaType, digest: `sha256:${c.repeat(64)}` as Descriptor['digest'], size });

describe('OCI media types for Docker ones', () => {
  it('maps every Docker type to its OCI twin and leaves the rest alone', () => {
    assert.deepEqual([
      MediaType.DockerManifestList, MediaType.DockerManifest, MediaType.DockerConfig, MediaType.DockerLayer, MediaType.DockerLayerGzip,
      MediaType.DockerLayerZstd, MediaType.DockerForeignLayer, MediaType.DockerForeignLayerGzip, MediaType.OciLayerGzip, 'application/vnd.in-toto+json',
    ].map(ociMediaTypeOf), [
      MediaType.OciIndex, MediaType.OciManifest, MediaType.OciConfig, MediaType.OciLayer, MediaType.OciLayerGzip,
      MediaType.OciLayerZstd, MediaType.OciLayerNondistributable, MediaType.OciLayerNondistributableGzip, MediaType.OciLayerGzip, 'application/vnd.in-toto+json',
    ]);
  });

  it('rewrites a Docker manifest: its type, its config\'s and layers\', every other field kept in order', () => {
    const doc = { schemaVersion: 2, mediaType: MediaType.DockerManifest, config: d('a', MediaType.DockerConfig), layers: [{ ...d('b', MediaType.DockerForeignLayerGzip), urls: ['https://x/y'] }, d('c', MediaType.DockerLayerGzip)] };
    const out = withOciMediaTypes(Buffer.from(JSON.stringify(doc, null, 3)));
    assert.equal(out.toString(), JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { ...doc.config, mediaType: MediaType.OciConfig },
      layers: [{ ...doc.layers[0], mediaType: MediaType.OciLayerNondistributableGzip }, { ...doc.layers[1], mediaType: MediaType.OciLayerGzip }],
    }));
    assert.equal(parseManifest(out).mediaType, MediaType.OciManifest);
  });

  it('returns the very same bytes for OCI content, so its digest stays', () => {
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: d('a', MediaType.OciConfig), layers: [d('c', MediaType.OciLayerGzip)] }, null, 2));
    assert.equal(withOciMediaTypes(bytes), bytes);
  });

  it('points an index at the children given, keeps the others and every platform', () => {
    const amd = { ...d('1', MediaType.DockerManifest, 500), platform: { os: 'linux', architecture: 'amd64' } };
    const arm = { ...d('2', MediaType.DockerManifest, 501), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [amd, arm] }));
    const converted = d('9', MediaType.OciManifest, 480);
    const out = JSON.parse(withOciMediaTypes(bytes, new Map([[amd.digest, converted]])).toString()) as { mediaType: string; manifests: unknown[] };
    assert.equal(out.mediaType, MediaType.OciIndex);
    assert.deepEqual(out.manifests, [{ ...converted, platform: amd.platform }, arm]);
    assert.notEqual(digestOf(withOciMediaTypes(bytes)), digestOf(bytes), 'the list itself is retyped even with no child given');
  });
});
