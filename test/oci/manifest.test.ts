import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  childrenOf,
  descriptorKey,
  InvalidManifestError,
  MAX_INDEX_ENTRIES,
  MAX_LAYERS,
  MAX_MANIFEST_BYTES,
  MediaType,
  parseManifest,
  platformOf,
  UnsupportedMediaTypeError,
  validateDescriptor,
} from '../../src/oci/index.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const bytes = (doc: unknown): Buffer => Buffer.from(JSON.stringify(doc));
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const config = { mediaType: MediaType.OciConfig, digest: d('c'), size: 1469 };
const layer = { mediaType: MediaType.OciLayerGzip, digest: d('1'), size: 3_000_000 };

const ociManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer] };
const dockerManifest = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifest,
  config: { mediaType: MediaType.DockerConfig, digest: d('c'), size: 1469 },
  layers: [{ mediaType: MediaType.DockerLayerGzip, digest: d('1'), size: 3_000_000 }],
};
const amd = { mediaType: MediaType.OciManifest, digest: d('a'), size: 480, platform: { os: 'linux', architecture: 'amd64' } };
const arm = { mediaType: MediaType.OciManifest, digest: d('b'), size: 480, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
const ociIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [amd, arm] };
const dockerList = { schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [{ ...amd, mediaType: MediaType.DockerManifest }] };

function rejects(doc: unknown, fragment: string | RegExp, hint?: string): void {
  const b = typeof doc === 'string' ? Buffer.from(doc) : bytes(doc);
  assert.throws(
    () => parseManifest(b, hint),
    (e: unknown) => {
      assert.ok(e instanceof InvalidManifestError, `expected InvalidManifestError, got ${String(e)}`);
      assert.equal(e.code, 'ERR_INVALID_MANIFEST');
      assert.equal(e.kind, 'check');
      if (typeof fragment === 'string') assert.ok(e.message.includes(fragment), `${e.message} lacks ${fragment}`);
      else assert.match(e.message, fragment);
      assert.ok(e.message.length < 1000, 'message stays short');
      return true;
    },
  );
}

describe('parseManifest: good documents', () => {
  it('reads an OCI image manifest, with digest and size of the exact bytes', () => {
    const b = bytes(ociManifest);
    const m = parseManifest(b);
    assert.equal(m.kind, 'manifest');
    assert.equal(m.mediaType, MediaType.OciManifest);
    assert.equal(m.digest, sha256(b));
    assert.equal(m.size, b.length);
    assert.ok(m.kind === 'manifest');
    assert.deepEqual(m.manifest.config, config);
    assert.deepEqual(m.manifest.layers, [layer]);
    assert.deepEqual(childrenOf(m), [config, layer]);
  });

  it('reads a Docker v2 schema 2 manifest', () => {
    const m = parseManifest(bytes(dockerManifest));
    assert.equal(m.kind, 'manifest');
    assert.equal(m.mediaType, MediaType.DockerManifest);
    assert.equal(childrenOf(m).length, 2);
  });

  it('reads an OCI index and a Docker manifest list', () => {
    const i = parseManifest(bytes(ociIndex));
    assert.equal(i.kind, 'index');
    assert.equal(i.mediaType, MediaType.OciIndex);
    assert.deepEqual(childrenOf(i).map(descriptorKey), [d('a'), d('b')]);
    assert.deepEqual(platformOf(childrenOf(i)[1]!), { os: 'linux', architecture: 'arm64' });
    const l = parseManifest(bytes(dockerList));
    assert.equal(l.kind, 'index');
    assert.equal(l.mediaType, MediaType.DockerManifestList);
  });

  it('takes the media type from the hint when the document has none', () => {
    const { mediaType: _m, ...bare } = ociIndex;
    assert.equal(parseManifest(bytes(bare), `${MediaType.OciIndex}; charset=utf-8`).mediaType, MediaType.OciIndex);
    const { mediaType: _n, ...bareManifest } = dockerManifest;
    assert.equal(parseManifest(bytes(bareManifest), MediaType.DockerManifest).mediaType, MediaType.DockerManifest);
  });

  it('infers the media type from the shape when neither document nor hint says', () => {
    const { mediaType: _m, ...bareIndex } = ociIndex;
    const { mediaType: _n, ...bareManifest } = ociManifest;
    for (const hint of [undefined, 'application/json', 'application/octet-stream', 'text/plain; charset=utf-8']) {
      assert.equal(parseManifest(bytes(bareIndex), hint).mediaType, MediaType.OciIndex);
      assert.equal(parseManifest(bytes(bareManifest), hint).mediaType, MediaType.OciManifest);
    }
  });

  it('prefers the document\'s own type over a hint of the same kind', () => {
    assert.equal(parseManifest(bytes(dockerManifest), MediaType.OciManifest).mediaType, MediaType.DockerManifest);
  });

  it('keeps subject, artifactType and annotations, and treats null optional fields as absent', () => {
    const doc = {
      ...ociManifest,
      artifactType: 'application/vnd.example+json',
      subject: { mediaType: MediaType.OciManifest, digest: d('e'), size: 10 },
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
      layers: [{ ...layer, urls: null, annotations: null, platform: null }],
    };
    const m = parseManifest(bytes(doc));
    assert.ok(m.kind === 'manifest');
    assert.equal(m.manifest.artifactType, 'application/vnd.example+json');
    assert.equal(m.manifest.subject?.digest, d('e'));
    assert.equal(m.manifest.annotations?.['org.opencontainers.image.created'], '2024-01-01T00:00:00Z');
    assert.deepEqual(m.manifest.layers[0], layer);
    const i = parseManifest(bytes({ ...ociIndex, annotations: { a: 'b' }, artifactType: 'x/y' }));
    assert.ok(i.kind === 'index');
    assert.deepEqual(i.index.annotations, { a: 'b' });
    assert.equal(i.index.artifactType, 'x/y');
  });

  it('accepts an index with no entries and a manifest with no layers', () => {
    assert.equal(childrenOf(parseManifest(bytes({ ...ociIndex, manifests: [] }))).length, 0);
    assert.equal(childrenOf(parseManifest(bytes({ ...ociManifest, layers: [] }))).length, 1);
  });

  it('accepts exactly the limits', () => {
    const layers = Array.from({ length: MAX_LAYERS }, () => layer);
    const m = parseManifest(bytes({ ...ociManifest, layers }));
    assert.equal(childrenOf(m).length, MAX_LAYERS + 1);
  });

  it('works on a Uint8Array view into a larger buffer', () => {
    const b = bytes(ociManifest);
    const big = Buffer.concat([Buffer.from('garbage'), b, Buffer.from('trailer')]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 7, b.length);
    const m = parseManifest(view);
    assert.equal(m.digest, sha256(b));
  });
});

describe('parseManifest: schema 1', () => {
  const schema1 = { schemaVersion: 1, name: 'library/busybox', tag: 'latest', architecture: 'amd64', fsLayers: [], history: [] };
  it('refuses it by schemaVersion, by document type and by Content-Type, explaining why', () => {
    for (const [doc, hint] of [
      [schema1, undefined],
      [schema1, 'application/json'],
      [{ ...schema1, mediaType: MediaType.DockerSchema1 }, undefined],
      [schema1, MediaType.DockerSchema1Signed],
    ] as const) {
      assert.throws(
        () => parseManifest(bytes(doc), hint),
        (e: unknown) => {
          assert.ok(e instanceof UnsupportedMediaTypeError);
          assert.equal(e.code, 'ERR_UNSUPPORTED_MEDIA_TYPE');
          assert.match(e.message, /Docker schema 1/);
          assert.match(e.hint ?? '', /re-push/);
          return true;
        },
      );
    }
  });
});

describe('parseManifest: hostile and broken input', () => {
  it('refuses non-JSON and JSON that is not an object', () => {
    rejects('{"schemaVersion": 2,', 'not valid JSON');
    rejects('', 'not valid JSON');
    rejects('\ufeff{}', 'not valid JSON');
    rejects('null', 'the JSON is null, not an object');
    rejects('[]', 'the JSON is an array, not an object');
    rejects('"manifest"', 'the JSON is "manifest", not an object');
    rejects('42', 'the JSON is 42, not an object');
  });

  it('refuses oversized documents before parsing them', () => {
    const big = Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20);
    rejects(big.toString(), `${MAX_MANIFEST_BYTES + 1} bytes is over the ${MAX_MANIFEST_BYTES}-byte limit`);
  });

  it('refuses more layers or index entries than the limits', () => {
    rejects({ ...ociManifest, layers: Array.from({ length: MAX_LAYERS + 1 }, () => layer) }, `manifest has ${MAX_LAYERS + 1} layers, over the limit of ${MAX_LAYERS}`);
    const entry = { mediaType: MediaType.OciManifest, digest: d('a'), size: 1 };
    rejects({ ...ociIndex, manifests: Array.from({ length: MAX_INDEX_ENTRIES + 1 }, () => entry) }, `index has ${MAX_INDEX_ENTRIES + 1} entries`);
  });

  it('survives deeply nested JSON', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    assert.throws(() => parseManifest(Buffer.from(deep)), { code: 'ERR_INVALID_MANIFEST' });
  });

  it('refuses wrong schemaVersion', () => {
    rejects({ ...ociManifest, schemaVersion: 3 }, 'schemaVersion is 3, expected 2');
    rejects({ ...ociManifest, schemaVersion: '2' }, 'schemaVersion is "2", expected 2');
    const { schemaVersion: _s, ...noVersion } = ociManifest;
    rejects(noVersion, 'no schemaVersion (expected 2)');
  });

  it('refuses a document whose fields contradict its type (manifest/index confusion)', () => {
    rejects({ ...ociIndex, config, layers: [layer] }, 'has config or layers fields, which only image manifests have');
    rejects({ ...ociManifest, manifests: [amd] }, 'has a manifests field, which only indexes have');
    rejects(ociManifest, `the document says it is "${MediaType.OciManifest}" but was served or referenced as "${MediaType.OciIndex}"`, MediaType.OciIndex);
    rejects(ociIndex, 'but was served or referenced as', MediaType.DockerManifest);
    const { mediaType: _m, ...bare } = ociManifest;
    rejects(bare, 'has config or layers fields', MediaType.DockerManifestList);
    rejects({ schemaVersion: 2 }, 'no mediaType, and the shape is neither an index');
    rejects({ schemaVersion: 2, manifests: [], config, layers: [] }, 'no mediaType, and the shape is neither');
  });

  it('refuses an unknown document type', () => {
    assert.throws(() => parseManifest(bytes({ ...ociManifest, mediaType: 'application/vnd.oci.artifact.manifest.v1+json' })), {
      code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
    });
    rejects({ ...ociManifest, mediaType: 7 }, 'mediaType is 7, not a string');
  });

  it('refuses wrong field types, naming the field', () => {
    rejects({ ...ociIndex, manifests: {} }, 'index manifests is an object, not an array');
    rejects({ ...ociIndex, manifests: undefined }, 'index has no manifests array');
    rejects({ ...ociManifest, config: undefined }, 'manifest has no config');
    rejects({ ...ociManifest, config: 'sha256:x' }, 'manifest config is "sha256:x", not an object');
    rejects({ ...ociManifest, layers: 'many' }, 'manifest layers is "many", not an array');
    rejects({ ...ociManifest, layers: [layer, 'x'] }, 'layers[1] is "x", not an object');
    rejects({ ...ociManifest, layers: [layer, null] }, 'layers[1] is null, not an object');
    rejects({ ...ociManifest, annotations: ['a'] }, 'manifest annotations are an array, not an object');
    rejects({ ...ociManifest, annotations: { a: 1 } }, 'manifest annotation "a" is 1, not a string');
    rejects({ ...ociIndex, annotations: { a: { b: 'c' } } }, 'index annotation "a" is an object, not a string');
    rejects({ ...ociManifest, artifactType: 5 }, 'artifactType is 5, not a string');
    rejects({ ...ociManifest, subject: 'x' }, 'subject is "x", not an object');
  });

  it('refuses bad descriptors, naming where they are', () => {
    rejects({ ...ociManifest, config: { ...config, mediaType: '' } }, 'config has no mediaType');
    rejects({ ...ociManifest, config: { ...config, digest: undefined } }, 'config has no digest');
    rejects({ ...ociManifest, layers: [{ ...layer, digest: 'sha256:abc' }] }, /layers\[0\]: invalid digest "sha256:abc": sha256 needs exactly 64/);
    rejects({ ...ociManifest, layers: [{ ...layer, digest: `md5:${'a'.repeat(32)}` }] }, 'unsupported algorithm "md5"');
    for (const size of [-1, 1.5, '3', null, 2 ** 53, 1e400]) {
      rejects({ ...ociManifest, layers: [{ ...layer, size }] }, 'layers[0] has an invalid size');
    }
    rejects({ ...ociManifest, layers: [{ ...layer, size: Array(10_000).fill(1) }] }, 'layers[0] has an invalid size an array');
    rejects({ ...ociManifest, layers: [{ ...layer, urls: 'http://x' }] }, 'layers[0] has invalid urls');
    rejects({ ...ociManifest, layers: [{ ...layer, urls: [1] }] }, 'layers[0] has invalid urls');
    rejects({ ...ociIndex, manifests: [{ ...amd, platform: 'linux/amd64' }] }, 'manifests[0] has an invalid platform: "linux/amd64", not an object');
    rejects({ ...ociIndex, manifests: [{ ...amd, platform: { os: 'linux' } }] }, 'manifests[0] has an invalid platform: no architecture');
    rejects({ ...ociIndex, manifests: [{ ...amd, platform: { architecture: 'amd64' } }] }, 'manifests[0] has an invalid platform: no os');
    rejects({ ...ociIndex, manifests: [{ ...amd, platform: { os: 'linux', architecture: 'arm', variant: 7 } }] }, 'variant is 7');
    rejects({ ...ociIndex, manifests: [{ ...amd, platform: { os: 'windows', architecture: 'amd64', 'os.features': 'win32k' } }] }, 'os.features is not a list of strings');
  });

  it('does not let __proto__ keys change objects', () => {
    const raw = `{"schemaVersion":2,"mediaType":"${MediaType.OciManifest}","config":${JSON.stringify(config)},"layers":[],"annotations":{"__proto__":"x","a":"b"}}`;
    const m = parseManifest(Buffer.from(raw));
    assert.ok(m.kind === 'manifest');
    assert.equal(m.manifest.annotations?.a, 'b');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it('refuses what is not bytes', () => {
    assert.throws(() => parseManifest('{}' as unknown as Uint8Array), { code: 'ERR_INVALID_MANIFEST', message: /expected bytes/ });
  });
});

describe('validateDescriptor', () => {
  it('keeps the fields we know and a clean platform', () => {
    const v = validateDescriptor(
      {
        mediaType: MediaType.DockerForeignLayerGzip,
        digest: d('f'),
        size: 0,
        urls: ['https://mcr.microsoft.com/x'],
        annotations: { k: 'v' },
        platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.5329', 'os.features': ['win32k'], variant: '' },
        artifactType: 'a/b',
        extra: 'ignored',
      },
      'layers[0]',
    );
    assert.deepEqual(v, {
      mediaType: MediaType.DockerForeignLayerGzip,
      digest: d('f'),
      size: 0,
      urls: ['https://mcr.microsoft.com/x'],
      annotations: { k: 'v' },
      platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.5329', 'os.features': ['win32k'] },
      artifactType: 'a/b',
    });
  });

  it('names the place in details', () => {
    try {
      validateDescriptor(5, 'manifests[3]');
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof InvalidManifestError);
      assert.equal(e.details.where, 'manifests[3]');
      assert.match(e.message, /manifests\[3\] is 5, not an object/);
    }
  });
});

describe('parseManifest: messages stay printable', () => {
  it('escapes control characters that V8 quotes from bad JSON', () => {
    assert.throws(() => parseManifest(Buffer.from('{"a":\u001b[2J}')), (e: Error) => e.message.startsWith('invalid manifest: not valid JSON') && !e.message.includes('\u001b'));
  });
});
