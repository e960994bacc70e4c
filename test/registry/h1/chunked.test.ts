import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkedDecoder } from '../../../src/registry/h1/chunked.js';
import { HttpConnectionError } from '../../../src/registry/h1/errors.js';

interface Decoded {
  body: Buffer;
  consumed: number;
  done: boolean;
}

/** Feeds `wire` in pieces of `step` bytes (all at once when 0). */
function decode(wire: Buffer | string, step = 0): Decoded {
  const buf = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  const d = new ChunkedDecoder();
  const out: Buffer[] = [];
  let consumed = 0;
  const size = step || buf.length || 1;
  for (let i = 0; i < buf.length && !d.done; i += size) {
    const piece = buf.subarray(i, i + size);
    const n = d.feed(piece, (b) => out.push(Buffer.from(b)));
    assert.ok(n === piece.length || d.done, 'fewer bytes consumed than given only once the body ended');
    consumed += n;
  }
  return { body: Buffer.concat(out), consumed, done: d.done };
}

function encode(data: Buffer, sizes: number[]): string {
  let out = '';
  let i = 0;
  for (const s of sizes) {
    out += `${s.toString(16)}\r\n${data.toString('latin1', i, i + s)}\r\n`;
    i += s;
  }
  return `${out}0\r\n\r\n`;
}

const badResponse = (re: RegExp) => (e: unknown): boolean =>
  e instanceof HttpConnectionError && e.code === 'AIRGAP_HTTP_BAD_RESPONSE' && re.test(e.message);

test('a body fed whole and one byte at a time decodes to the same bytes', () => {
  const data = Buffer.alloc(5000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff; // CR and LF bytes inside the data too
  const wire = encode(data, [1, 16, 255, 4096, 632]);
  const whole = decode(wire);
  assert.ok(whole.body.equals(data));
  assert.equal(whole.consumed, wire.length);
  assert.ok(whole.done);
  for (const step of [1, 2, 3, 7, 100]) {
    const bytewise = decode(wire, step);
    assert.ok(bytewise.body.equals(data), `pieces of ${step}`);
    assert.equal(bytewise.consumed, wire.length);
    assert.ok(bytewise.done);
  }
});

test('body bytes are handed out as slices of the input, not copies', () => {
  const wire = Buffer.from('5\r\nhello\r\n0\r\n\r\n');
  const seen: Buffer[] = [];
  new ChunkedDecoder().feed(wire, (b) => seen.push(b));
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.buffer, wire.buffer);
  assert.equal(seen[0]!.byteOffset, wire.byteOffset + 3);
});

test('hex sizes in either case, chunk extensions and whitespace before them are accepted', () => {
  const wire = 'A;name=value\r\n0123456789\r\nf ; ext="quoted;semi"\r\nabcdefghijklmno\r\n0;last\r\n\r\n';
  for (const step of [0, 1]) assert.equal(decode(wire, step).body.toString(), '0123456789abcdefghijklmno');
  assert.equal(decode('a\r\n0123456789\r\n0\r\n\r\n').body.length, 10);
});

test('trailer fields are read past and not part of the body', () => {
  const wire = '3\r\nabc\r\n0\r\nDocker-Content-Digest: sha256:00\r\nX-Other: 1\r\n\r\n';
  for (const step of [0, 1, 5]) {
    const r = decode(wire, step);
    assert.equal(r.body.toString(), 'abc');
    assert.ok(r.done);
    assert.equal(r.consumed, wire.length);
  }
});

test('not done until the final CRLF after the last chunk and trailers', () => {
  const wire = '3\r\nabc\r\n0\r\nX: y\r\n\r\n';
  for (let cut = 0; cut < wire.length; cut++) {
    const d = new ChunkedDecoder();
    d.feed(Buffer.from(wire.slice(0, cut)), () => {});
    assert.equal(d.done, false, `after ${cut} bytes`);
  }
});

test('consumed stops where the body ends: the next response in the same buffer is left alone', () => {
  const body = '4\r\nwxyz\r\n0\r\n\r\n';
  const next = 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n';
  const d = new ChunkedDecoder();
  const out: string[] = [];
  const n = d.feed(Buffer.from(body + next), (b) => out.push(b.toString()));
  assert.equal(n, body.length);
  assert.ok(d.done);
  assert.equal(out.join(''), 'wxyz');
  // fed in two pieces that straddle the end
  const d2 = new ChunkedDecoder();
  const first = Buffer.from(body.slice(0, body.length - 1));
  assert.equal(d2.feed(first, () => {}), first.length);
  assert.equal(d2.feed(Buffer.from(body.slice(-1) + next), () => {}), 1);
  assert.ok(d2.done);
  assert.equal(d2.feed(Buffer.from('more'), () => {}), 0, 'nothing is taken after the end');
});

test('invalid chunk sizes are refused', () => {
  for (const size of ['', 'g', '-1', '0x5', ' ', '12345678901234', '+5']) {
    assert.throws(() => decode(`${size}\r\nhello\r\n0\r\n\r\n`), badResponse(/invalid chunk size/), JSON.stringify(size));
  }
});

test('chunk data longer than its declared size is refused, not silently joined', () => {
  assert.throws(() => decode('3\r\nabcd\r\n0\r\n\r\n'), badResponse(/longer than its declared size/));
  assert.throws(() => decode('3\r\nabcd\r\n0\r\n\r\n', 1), badResponse(/longer than its declared size/));
});

test('endless size lines and trailers are refused instead of buffered', () => {
  assert.throws(() => decode(`1${'0'.repeat(9000)}`), badResponse(/chunk size line too long/));
  assert.throws(() => decode(`5;${'x'.repeat(9000)}`, 1000), badResponse(/too long/));
  const manyTrailers = `0\r\n${'x-t: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(2000)}\r\n`;
  assert.throws(() => decode(manyTrailers), badResponse(/trailer fields too large/));
});
