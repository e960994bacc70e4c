import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestOfBlobPath, dockerManifestJson, dockerRepoTag, manifestForPlatform, parseDockerManifestJson } from '../../src/bundle/docker-manifest.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { parseManifest, type ParsedManifest } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-type.js';
import { parsePlatform } from '../../src/oci/platform.js';
import { parseReference } from '../../src/oci/reference.js';

const d = (c: string, mediaType: string, size = 10): Descriptor => ({ mediaType, digest: `sha256:${c.repeat(64)}` as Descriptor['digest'], size });

describe('manifest.json (docker-archive index)', () => {
  it('is written as docker save writes it and read back', () => {
    const bytes = dockerManifestJson([{ repoTags: ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:latest'], config: d('a', MediaType.OciConfig), layers: [d('b', MediaType.OciLayerGzip)] }]);
    assert.equal(bytes.toString(), `[{"Config":"blobs/sha256/${'a'.repeat(64)}","RepoTags":["registry.k8s.io/pause:3.9","registry.k8s.io/pause:latest"],"Layers":["blobs/sha256/${'b'.repeat(64)}"]}]`);
    assert.deepEqual(parseDockerManifestJson(bytes), [{ config: `blobs/sha256/${'a'.repeat(64)}`, repoTags: ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:latest'], layers: [`blobs/sha256/${'b'.repeat(64)}`] }]);
    assert.equal(digestOfBlobPath(`blobs/sha256/${'a'.repeat(64)}`), `sha256:${'a'.repeat(64)}`);
    assert.equal(digestOfBlobPath('abc/layer.tar'), undefined);
  });

  it('accepts RepoTags null (untagged images, as Docker writes them) and refuses any other shape with ERR_INVALID_DOCKER_MANIFEST', () => {
    assert.deepEqual(parseDockerManifestJson(Buffer.from('[{"Config":"c.json","RepoTags":null,"Layers":[]}]')), [{ config: 'c.json', repoTags: [], layers: [] }]);
    for (const bad of ['{', '{}', '[1]', '[{"RepoTags":[],"Layers":[]}]', '[{"Config":"c","RepoTags":[1],"Layers":[]}]', '[{"Config":"c","RepoTags":[]}]']) {
      assert.throws(() => parseDockerManifestJson(Buffer.from(bad)), (e: { code?: string }) => e.code === 'ERR_INVALID_DOCKER_MANIFEST', bad);
    }
  });

  it('tags name:tag; a digest is dropped; a reference by digest only has no tag', () => {
    assert.equal(dockerRepoTag(parseReference('nginx')), 'docker.io/library/nginx:latest');
    assert.equal(dockerRepoTag(parseReference(`registry.k8s.io/pause:3.9@sha256:${'a'.repeat(64)}`)), 'registry.k8s.io/pause:3.9');
    assert.equal(dockerRepoTag(parseReference(`registry.k8s.io/pause@sha256:${'a'.repeat(64)}`)), undefined);
  });
});

describe('manifestForPlatform', () => {
  const manifest = (c: string) => ({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: d(c, MediaType.OciConfig), layers: [d(c === 'a' ? 'c' : 'e', MediaType.OciLayerGzip)] });
  const docs = new Map<string, Buffer>();
  const put = (doc: unknown): Descriptor => {
    const b = Buffer.from(JSON.stringify(doc));
    const p = parseManifest(b);
    docs.set(p.digest, b);
    return { mediaType: p.mediaType, digest: p.digest, size: p.size };
  };
  const amd = { ...put(manifest('a')), platform: { os: 'linux', architecture: 'amd64' } };
  const arm = { ...put(manifest('b')), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
  const index = put({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [amd, arm] });
  const read = (held: Set<string>) => (x: Descriptor): ParsedManifest | undefined => (held.has(x.digest) ? parseManifest(docs.get(x.digest)!) : undefined);
  const all = new Set(docs.keys());

  it('picks the child of an index for exactly that platform, if the bundle holds it', () => {
    assert.equal(manifestForPlatform(index, parsePlatform('linux/arm64'), read(all), () => undefined)?.descriptor.digest, arm.digest);
    assert.equal(manifestForPlatform(index, parsePlatform('linux/amd64'), read(all), () => undefined)?.manifest.config.digest, `sha256:${'a'.repeat(64)}`);
    assert.equal(manifestForPlatform(index, parsePlatform('linux/arm/v7'), read(all), () => undefined), undefined);
    assert.equal(manifestForPlatform(index, parsePlatform('linux/arm64'), read(new Set([index.digest, amd.digest])), () => undefined), undefined, 'left out of the bundle');
  });

  it('takes a single manifest when its config says that platform', () => {
    const single = { mediaType: amd.mediaType, digest: amd.digest, size: amd.size };
    assert.equal(manifestForPlatform(single, parsePlatform('linux/amd64'), read(all), () => parsePlatform('linux/amd64'))?.descriptor.digest, amd.digest);
    assert.equal(manifestForPlatform(single, parsePlatform('linux/arm64'), read(all), () => parsePlatform('linux/amd64')), undefined);
    assert.equal(manifestForPlatform(single, parsePlatform('linux/amd64'), read(all), () => undefined), undefined, 'no platform known: not taken');
  });
});
