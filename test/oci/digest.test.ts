import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  Digester,
  digestAlgorithm,
  digestHex,
  digestOf,
  InvalidDigestError,
  isDigest,
  isSupportedAlgorithm,
  parseDigest,
} from '../../src/oci/index.js';

// sha256("") and sha512("") from coreutils, not from the code under test.
const EMPTY256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const EMPTY512 =
  'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';
const ABC256 = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('parseDigest', () => {
  it('accepts sha256 and sha512', () => {
    assert.deepEqual(parseDigest(EMPTY256), { algorithm: 'sha256', hex: EMPTY256.slice(7), digest: EMPTY256 });
    assert.deepEqual(parseDigest(EMPTY512), { algorithm: 'sha512', hex: EMPTY512.slice(7), digest: EMPTY512 });
    assert.equal(digestAlgorithm(EMPTY512), 'sha512');
    assert.equal(digestHex(EMPTY256), EMPTY256.slice(7));
    assert.ok(isSupportedAlgorithm('sha256') && isSupportedAlgorithm('sha512') && !isSupportedAlgorithm('sha384'));
  });

  const bad: [string, string][] = [
    ['', 'empty'],
    [EMPTY256.slice(7), 'no ":" between the algorithm and the hex'],
    [`sha256:${'a'.repeat(63)}`, 'sha256 needs exactly 64 lowercase hex characters, got 63'],
    [`sha256:${'a'.repeat(65)}`, 'got 65'],
    ['sha256:', 'got 0'],
    [`sha512:${'a'.repeat(64)}`, 'sha512 needs exactly 128 lowercase hex characters, got 64'],
    [EMPTY256.toUpperCase().replace('SHA256', 'sha256'), 'uppercase hex is not allowed'],
    [`SHA256:${EMPTY256.slice(7)}`, 'algorithm "SHA256" must be lowercase'],
    [`sha384:${'a'.repeat(96)}`, 'unsupported algorithm "sha384" (supported: sha256, sha512)'],
    [`md5:${'a'.repeat(32)}`, 'unsupported algorithm "md5"'],
    [`sha256+b64u:${'a'.repeat(43)}`, 'unsupported algorithm "sha256+b64u"'],
    [`:${'a'.repeat(64)}`, 'algorithm "" is malformed'],
    [`sha 256:${'a'.repeat(64)}`, 'algorithm "sha 256" is malformed'],
    [`sha256:${'a'.repeat(63)}g`, '"g" is not a hex digit'],
    [`sha256:${'a'.repeat(64)}\n`, '"\\n" is not a hex digit'],
    [`sha256: ${'a'.repeat(64)}`, '" " is not a hex digit'],
  ];
  for (const [input, fragment] of bad) {
    it(`refuses ${JSON.stringify(input).slice(0, 60)}`, () => {
      assert.throws(
        () => parseDigest(input),
        (e: unknown) => {
          assert.ok(e instanceof InvalidDigestError);
          assert.equal(e.code, 'ERR_INVALID_DIGEST');
          assert.equal(e.kind, 'usage');
          assert.ok(e.message.includes(fragment), `${e.message} lacks ${fragment}`);
          return true;
        },
      );
      assert.equal(isDigest(input), false);
    });
  }

  it('refuses what is not a string', () => {
    assert.throws(() => parseDigest(7 as unknown as string), { code: 'ERR_INVALID_DIGEST', message: /not a string but 7/ });
    assert.throws(() => parseDigest(null as unknown as string), { code: 'ERR_INVALID_DIGEST' });
    assert.equal(isDigest(7), false);
    assert.equal(isDigest({ toString: () => EMPTY256 }), false);
  });

  it('keeps a hostile digest out of the message', () => {
    const huge = `sha256:${'\u001b'.repeat(1_000_000)}`;
    assert.throws(() => parseDigest(huge), (e: Error) => e.message.length < 600 && !e.message.includes('\u001b'));
  });
});

describe('digestOf and Digester', () => {
  it('hash known vectors', () => {
    assert.equal(digestOf(''), EMPTY256);
    assert.equal(digestOf(new Uint8Array()), EMPTY256);
    assert.equal(digestOf('', 'sha512'), EMPTY512);
    assert.equal(digestOf('abc'), ABC256);
    assert.equal(digestOf(Buffer.from('abc')), ABC256);
  });

  it('streams in chunks to the same digest and counts bytes', () => {
    const data = Buffer.alloc(300_001, 7);
    const d = new Digester();
    for (let i = 0; i < data.length; i += 65_536) d.update(data.subarray(i, i + 65_536));
    assert.equal(d.size, data.length);
    assert.equal(d.digest(), `sha256:${createHash('sha256').update(data).digest('hex')}`);
  });

  it('copy() checkpoints the state without disturbing the original', () => {
    const d = new Digester('sha512');
    d.update(Buffer.from('ab'));
    const snapshot = d.copy();
    d.update(Buffer.from('c'));
    snapshot.update(Buffer.from('c'));
    assert.equal(snapshot.size, 3);
    const want = digestOf('abc', 'sha512');
    assert.equal(d.digest(), want);
    assert.equal(snapshot.digest(), want);
  });
});
