import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  isImageManifestMediaType,
  isIndexMediaType,
  isManifestMediaType,
  isNonDistributableMediaType,
  isSchema1MediaType,
  MANIFEST_ACCEPT,
  manifestKind,
  MediaType,
  normalizeMediaType,
  UnsupportedMediaTypeError,
} from '../../src/oci/index.js';

describe('media types', () => {
  it('uses the exact registered strings', () => {
    // Spelled out here, not derived, so a typo in the table cannot hide.
    assert.equal(MediaType.OciIndex, 'application/vnd.oci.image.index.v1+json');
    assert.equal(MediaType.OciManifest, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(MediaType.DockerManifestList, 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.equal(MediaType.DockerManifest, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(MediaType.DockerSchema1Signed, 'application/vnd.docker.distribution.manifest.v1+prettyjws');
    assert.equal(MediaType.DockerLayerGzip, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    assert.equal(MediaType.DockerForeignLayerGzip, 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip');
  });

  it('classifies manifests and indexes of both families', () => {
    assert.equal(manifestKind(MediaType.OciIndex), 'index');
    assert.equal(manifestKind(MediaType.DockerManifestList), 'index');
    assert.equal(manifestKind(MediaType.OciManifest), 'manifest');
    assert.equal(manifestKind(MediaType.DockerManifest), 'manifest');
    assert.ok(isIndexMediaType(MediaType.DockerManifestList) && !isIndexMediaType(MediaType.DockerManifest));
    assert.ok(isImageManifestMediaType(MediaType.OciManifest) && !isImageManifestMediaType(MediaType.OciIndex));
    assert.ok(isManifestMediaType(MediaType.OciIndex) && !isManifestMediaType(MediaType.OciLayerGzip) && !isManifestMediaType(MediaType.OciConfig));
  });

  it('ignores parameters, case and white space, as Content-Type headers carry them', () => {
    assert.equal(normalizeMediaType('Application/VND.OCI.Image.Index.v1+JSON; charset=utf-8'), MediaType.OciIndex);
    assert.equal(manifestKind(' application/vnd.docker.distribution.manifest.v2+json ;q=1'), 'manifest');
    assert.equal(normalizeMediaType(undefined), '');
    assert.equal(normalizeMediaType(null), '');
    assert.equal(normalizeMediaType(42 as unknown as string), '');
  });

  it('asks registries for every manifest type we read and nothing else', () => {
    const accepted = MANIFEST_ACCEPT.split(',').map((s) => s.trim()).sort();
    assert.deepEqual(accepted, [MediaType.DockerManifestList, MediaType.DockerManifest, MediaType.OciIndex, MediaType.OciManifest].sort());
    assert.ok(!MANIFEST_ACCEPT.includes('distribution.manifest.v1'));
  });

  it('refuses Docker schema 1 with a message that says so and a way out', () => {
    for (const mt of [MediaType.DockerSchema1, MediaType.DockerSchema1Signed, `${MediaType.DockerSchema1Signed}; charset=utf-8`]) {
      assert.ok(isSchema1MediaType(mt));
      assert.throws(
        () => manifestKind(mt),
        (e: unknown) => {
          assert.ok(e instanceof UnsupportedMediaTypeError);
          assert.equal(e.code, 'ERR_UNSUPPORTED_MEDIA_TYPE');
          assert.match(e.message, /Docker schema 1/);
          assert.match(e.message, /not supported/);
          assert.match(e.hint ?? '', /deprecated/);
          assert.match(e.hint ?? '', /re-push/);
          assert.equal(e.mediaType, mt);
          return true;
        },
      );
    }
  });

  it('refuses other types by name, and an empty type as missing', () => {
    assert.throws(() => manifestKind('application/vnd.oci.artifact.manifest.v1+json'), {
      code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
      message: 'unsupported manifest media type "application/vnd.oci.artifact.manifest.v1+json"',
    });
    assert.throws(() => manifestKind(MediaType.OciLayerGzip), { code: 'ERR_UNSUPPORTED_MEDIA_TYPE', message: /vnd\.oci\.image\.layer\.v1\.tar\+gzip/ });
    assert.throws(() => manifestKind(''), { code: 'ERR_UNSUPPORTED_MEDIA_TYPE', message: /has no media type/ });
    assert.throws(() => manifestKind('text/html\u001b[2J'), (e: Error) => !e.message.includes('\u001b'));
  });

  it('knows which layers registries may not hold (Windows foreign layers)', () => {
    assert.ok(isNonDistributableMediaType(MediaType.DockerForeignLayerGzip));
    assert.ok(isNonDistributableMediaType(MediaType.OciLayerNondistributableGzip));
    assert.ok(isNonDistributableMediaType(MediaType.OciLayerNondistributableZstd));
    assert.ok(!isNonDistributableMediaType(MediaType.DockerLayerGzip));
    assert.ok(!isNonDistributableMediaType(MediaType.OciLayerGzip));
  });
});

describe('UnsupportedMediaTypeError', () => {
  it('explains schema 1 whoever builds it, keeping added details', () => {
    const e = new UnsupportedMediaTypeError(MediaType.DockerSchema1Signed, undefined, { reference: 'r' });
    assert.match(e.message, /image manifest is Docker schema 1/);
    assert.match(e.hint ?? '', /re-push/);
    assert.equal(e.details.reference, 'r');
    // re-wrapping with the hint of a caught error keeps the explanation
    const again = new UnsupportedMediaTypeError(e.mediaType, e.hint, { source: 's' });
    assert.equal(again.message, e.message);
    assert.equal(again.hint, e.hint);
  });
});
