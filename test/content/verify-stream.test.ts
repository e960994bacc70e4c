import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestMismatchError, readAll, SizeMismatchError, VerifyingStream } from '../../src/content/index.js';
import { Digester, digestOf, type Descriptor } from '../../src/oci/index.js';

const blob = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(1000));
const desc = { digest: digestOf(blob), size: blob.length };

function chunks(b: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += n) out.push(b.subarray(i, i + n));
  return out;
}

/** Pipe chunks through a VerifyingStream into a sink; resolve with what reached the sink. */
async function run(input: Buffer[], d: Pick<Descriptor, 'digest' | 'size'>, opts: ConstructorParameters<typeof VerifyingStream>[1]): Promise<{ out: Buffer; error?: unknown }> {
  const got: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      got.push(c);
      cb();
    },
  });
  try {
    await pipeline(Readable.from(input), new VerifyingStream(d, opts), sink);
    return { out: Buffer.concat(got) };
  } catch (error) {
    return { out: Buffer.concat(got), error };
  }
}

describe('VerifyingStream', () => {
  it('passes correct content through unchanged', async () => {
    const { out, error } = await run(chunks(blob, 4096), desc, { where: 'test' });
    assert.equal(error, undefined);
    assert.ok(out.equals(blob));
  });

  it('passes empty content whose descriptor says 0 bytes', async () => {
    const { error } = await run([], { digest: digestOf(''), size: 0 }, { where: 'test' });
    assert.equal(error, undefined);
  });

  it('fails as soon as the size is exceeded, without passing on the extra bytes', async () => {
    const longer = Buffer.concat([blob, Buffer.from('EXTRA')]);
    let pulled = 0;
    // An endless hostile source: the check must stop it, not the end of input.
    const endless = new Readable({
      read() {
        const i = pulled++;
        if (i > 1000) {
          this.destroy(new Error('the size cap never fired'));
          return;
        }
        this.push(i * 1000 < longer.length ? longer.subarray(i * 1000, (i + 1) * 1000) : Buffer.alloc(1000, 0x41));
      },
    });
    const got: Buffer[] = [];
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        got.push(c);
        cb();
      },
    });
    await assert.rejects(pipeline(endless, new VerifyingStream(desc, { where: 'registry x' }), sink), (e: unknown) => {
      assert.ok(e instanceof SizeMismatchError);
      assert.equal(e.code, 'ERR_SIZE_MISMATCH');
      assert.match(e.message, /too long: expected 44000 bytes, got 44005\+/);
      assert.match(e.message, /from registry x/);
      return true;
    });
    const passed = Buffer.concat(got);
    assert.ok(passed.length <= desc.size, `${passed.length} bytes passed on`);
    assert.ok(passed.equals(blob.subarray(0, passed.length)));
    // read-ahead buffers a few dozen chunks at most; the point is that the source was stopped
    assert.ok(pulled < 200, `read ${pulled} chunks from an endless source`);
  });

  it('fails on short content at the end, as truncated', async () => {
    const { error } = await run(chunks(blob.subarray(0, blob.length - 1), 4096), desc, { where: 'test' });
    assert.ok(error instanceof SizeMismatchError);
    assert.match(error.message, /is truncated: expected 44000 bytes, got 43999/);
    assert.equal(error.details.expected, 44000);
    assert.equal(error.details.actual, 43999);
  });

  it('fails on same-size content with the wrong digest, naming both digests', async () => {
    const evil = Buffer.from(blob);
    evil[100] = 0x21;
    const { error } = await run(chunks(evil, 4096), desc, { where: 'bundle k8s.tar' });
    assert.ok(error instanceof DigestMismatchError);
    assert.equal(error.code, 'ERR_DIGEST_MISMATCH');
    assert.equal(error.kind, 'check');
    assert.equal(error.expected, desc.digest);
    assert.equal(error.actual, digestOf(evil));
    assert.match(error.message, /bundle k8s\.tar/);
  });

  it('reports network failures as "remote" when asked', async () => {
    const evil = Buffer.alloc(blob.length);
    const { error } = await run([evil], desc, { where: 'r', kind: 'remote' });
    assert.ok(error instanceof DigestMismatchError);
    assert.equal(error.kind, 'remote');
  });

  it('verifies sha512 descriptors with sha512', async () => {
    const d512 = { digest: digestOf(blob, 'sha512'), size: blob.length };
    assert.equal((await run(chunks(blob, 999), d512, { where: 't' })).error, undefined);
    const { error } = await run([Buffer.alloc(blob.length)], d512, { where: 't' });
    assert.ok(error instanceof DigestMismatchError);
    assert.match(String(error.actual), /^sha512:/);
  });

  describe('resume (offset + prefix)', () => {
    const offset = 10_000;
    const prefixOf = (b: Buffer): Digester => {
      const p = new Digester();
      p.update(b.subarray(0, offset));
      return p;
    };

    it('checks the whole blob when the prefix hash continues the stream', async () => {
      const prefix = prefixOf(blob);
      const vs = new VerifyingStream(desc, { offset, prefix, where: 'resume' });
      assert.equal(vs.bytesSeen, offset);
      const { error, out } = await run(chunks(blob.subarray(offset), 3000), desc, { offset, prefix, where: 'resume' });
      assert.equal(error, undefined);
      assert.ok(out.equals(blob.subarray(offset)));
      // the caller's prefix is not consumed: it can serve another attempt
      assert.equal(prefix.size, offset);
      assert.equal((await run([blob.subarray(offset)], desc, { offset, prefix, where: 'resume' })).error, undefined);
    });

    it('catches a bad tail after a resume', async () => {
      const tail = Buffer.from(blob.subarray(offset));
      tail[0] = 0x21;
      const { error } = await run([tail], desc, { offset, prefix: prefixOf(blob), where: 'resume' });
      assert.ok(error instanceof DigestMismatchError);
    });

    it('catches a bad prefix (the bytes already on disk were wrong)', async () => {
      const bad = Buffer.from(blob);
      bad[5] = 0x21;
      const { error } = await run([blob.subarray(offset)], desc, { offset, prefix: prefixOf(bad), where: 'resume' });
      assert.ok(error instanceof DigestMismatchError);
    });

    it('counts the offset toward the size cap and the length check', async () => {
      const long = await run([blob.subarray(offset), Buffer.from('x')], desc, { offset, prefix: prefixOf(blob), where: 'r' });
      assert.ok(long.error instanceof SizeMismatchError);
      const short = await run([blob.subarray(offset, blob.length - 10)], desc, { offset, prefix: prefixOf(blob), where: 'r' });
      assert.ok(short.error instanceof SizeMismatchError);
      assert.match(short.error.message, /truncated: expected 44000 bytes, got 43990/);
    });

    it('without a prefix checks the size only', async () => {
      const wrong = Buffer.alloc(blob.length - offset);
      assert.equal((await run([wrong], desc, { offset, where: 'r' })).error, undefined);
      assert.ok((await run([wrong, Buffer.from('x')], desc, { offset, where: 'r' })).error instanceof SizeMismatchError);
    });

    it('refuses a prefix that does not cover exactly the offset', () => {
      const p = new Digester();
      p.update(blob.subarray(0, offset - 1));
      assert.throws(() => new VerifyingStream(desc, { offset, prefix: p, where: 'r' }), /prefix hash covers 9999 bytes, offset is 10000/);
    });
  });
});

describe('readAll', () => {
  it('collects a stream', async () => {
    assert.ok((await readAll(Readable.from(chunks(blob, 777)), blob.length)).equals(blob));
    assert.equal((await readAll(Readable.from(['ab', 'c']), 3)).toString(), 'abc');
  });
  it('refuses more than max bytes', async () => {
    await assert.rejects(readAll(Readable.from(chunks(blob, 777)), blob.length - 1), /exceeds 43999 bytes/);
  });
});
