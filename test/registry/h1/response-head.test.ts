import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodyFraming, keepsAlive, MAX_HEAD_BYTES, parseResponseHead, type ResponseHead } from '../../../src/registry/h1/response-head.js';
import { HttpConnectionError } from '../../../src/registry/h1/errors.js';

const parse = (s: string): ResponseHead | undefined => parseResponseHead(Buffer.from(s, 'latin1'));
const head = (s: string): ResponseHead => {
  const h = parse(s);
  assert.ok(h, 'a complete head');
  return h;
};
const badResponse = (re: RegExp) => (e: unknown): boolean =>
  e instanceof HttpConnectionError && e.code === 'AIRGAP_HTTP_BAD_RESPONSE' && re.test(e.message);

test('status line: status, version, reason phrase optional or empty', () => {
  const h = head('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n{"errors":[]}');
  assert.equal(h.status, 404);
  assert.equal(h.minor, 1);
  assert.equal(h.size, 'HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n'.length, 'size counts the head with its blank line, not the body');
  assert.equal(head('HTTP/1.1 200\r\n\r\n').status, 200);
  assert.equal(head('HTTP/1.1 204 \r\n\r\n').status, 204);
  assert.equal(head('HTTP/1.1 500 Internal: Server Error (really)\r\n\r\n').status, 500);
  const old = head('HTTP/1.0 200 OK\r\n\r\n');
  assert.equal(old.minor, 0);
});

test('a head that is not HTTP/1.x is refused with a readable excerpt', () => {
  for (const s of ['HTTP/2 200\r\n\r\n', 'HTTP/1.1 20 OK\r\n\r\n', 'HTTP/1.1 200OK\r\n\r\n', 'http/1.1 200 OK\r\n\r\n', 'SSH-2.0-OpenSSH_9.2\r\n\r\n', '\r\n\r\n']) {
    assert.throws(() => parse(s), badResponse(/not an HTTP\/1\.x response/), JSON.stringify(s));
  }
  // control bytes from a binary protocol are not copied into the message
  assert.throws(() => parse('\x16\x03\x01\x00\x05hello\r\n\r\n'), (e: Error) => /starts "\?\?\?\?\?hello"/.test(e.message));
});

test('headers: names lower-cased, values trimmed, repeats become an array in order', () => {
  const h = head(
    'HTTP/1.1 401 Unauthorized\r\n' +
      'WWW-Authenticate: Bearer realm="https://auth.example/token",service="reg"\r\n' +
      'Docker-Content-Digest:sha256:abc  \r\n' +
      'www-authenticate: Basic realm="reg"\r\n' +
      'X-Empty:\r\n' +
      'Set-Cookie: a=1\r\nset-cookie: b=2\r\nSET-COOKIE: c=3\r\n\r\n',
  );
  assert.deepEqual(h.headers['www-authenticate'], ['Bearer realm="https://auth.example/token",service="reg"', 'Basic realm="reg"']);
  assert.equal(h.headers['docker-content-digest'], 'sha256:abc');
  assert.equal(h.headers['x-empty'], '');
  assert.deepEqual(h.headers['set-cookie'], ['a=1', 'b=2', 'c=3']);
  assert.equal(h.headers['WWW-Authenticate'], undefined);
  // a header named like an Object.prototype member is just a header
  const p = head('HTTP/1.1 200 OK\r\nconstructor: x\r\n__proto__: y\r\n\r\n');
  assert.equal(p.headers.constructor, 'x');
  assert.equal(p.headers.__proto__, 'y');
  assert.equal(head('HTTP/1.1 200 OK\r\n\r\n').headers.constructor, undefined, 'no inherited members');
});

test('obsolete line folding continues the previous value (also of a repeated header)', () => {
  const h = head('HTTP/1.1 200 OK\r\nX-Long: part one\r\n   part two\r\n\tpart three\r\nLink: <a>\r\nLink: <b>;\r\n rel="next"\r\n\r\n');
  assert.equal(h.headers['x-long'], 'part one part two part three');
  assert.deepEqual(h.headers.link, ['<a>', '<b>; rel="next"']);
  assert.throws(() => parse('HTTP/1.1 200 OK\r\n folded: first\r\n\r\n'), badResponse(/folded line/));
});

test('malformed header lines are refused', () => {
  for (const line of ['no colon here', ': empty name', 'Bad Name: x', 'content-length : 5', 'x\x00y: z', 'naïve: x']) {
    assert.throws(() => parse(`HTTP/1.1 200 OK\r\n${line}\r\n\r\n`), badResponse(/malformed header line/), JSON.stringify(line));
  }
});

test('an incomplete head is undefined until its blank line arrives, however it is split', () => {
  const full = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc';
  const end = full.indexOf('\r\n\r\n') + 4;
  for (let i = 0; i < end; i++) assert.equal(parse(full.slice(0, i)), undefined, `first ${i} bytes`);
  for (let i = end; i <= full.length; i++) assert.equal(parse(full.slice(0, i))?.size, end);
});

test('a head larger than the limit is refused, complete or not; one just under it is fine', () => {
  const start = 'HTTP/1.1 200 OK\r\n';
  const filler = (n: number): string => `x-pad: ${'a'.repeat(n - 'x-pad: '.length - 2)}\r\n`;
  // exactly MAX_HEAD_BYTES including the final CRLF
  const exact = start + filler(MAX_HEAD_BYTES - start.length - 2) + '\r\n';
  assert.equal(exact.length, MAX_HEAD_BYTES);
  assert.equal(head(exact).size, MAX_HEAD_BYTES);
  const over = start + filler(MAX_HEAD_BYTES - start.length - 1) + '\r\n';
  assert.throws(() => parse(over), badResponse(/larger than 65536 bytes/));
  // a server that never ends its head: refused once it passed the limit, not buffered forever
  assert.equal(parse(start + 'x'.repeat(MAX_HEAD_BYTES - start.length)), undefined);
  assert.throws(() => parse(start + 'x'.repeat(MAX_HEAD_BYTES)), badResponse(/larger than/));
});

test('bodyFraming: HEAD, 204, 304 and 1xx have no body whatever the headers say', () => {
  const withLength = 'content-length: 1234\r\n';
  assert.deepEqual(bodyFraming('HEAD', head(`HTTP/1.1 200 OK\r\n${withLength}\r\n`)), { kind: 'none' });
  assert.deepEqual(bodyFraming('HEAD', head('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n')), { kind: 'none' });
  for (const status of ['204 No Content', '304 Not Modified', '100 Continue', '103 Early Hints']) {
    assert.deepEqual(bodyFraming('GET', head(`HTTP/1.1 ${status}\r\n${withLength}\r\n`)), { kind: 'none' }, status);
  }
  assert.deepEqual(bodyFraming('GET', head(`HTTP/1.1 200 OK\r\n${withLength}\r\n`)), { kind: 'length', length: 1234 });
  assert.deepEqual(bodyFraming('GET', head('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n')), { kind: 'length', length: 0 });
});

test('bodyFraming: Transfer-Encoding decides over Content-Length; only a final chunked delimits', () => {
  const te = (v: string, more = ''): ReturnType<typeof bodyFraming> => bodyFraming('GET', head(`HTTP/1.1 200 OK\r\ntransfer-encoding: ${v}\r\n${more}\r\n`));
  assert.deepEqual(te('chunked'), { kind: 'chunked' });
  assert.deepEqual(te('Chunked'), { kind: 'chunked' });
  assert.deepEqual(te('gzip, chunked'), { kind: 'chunked' });
  assert.deepEqual(te('gzip', 'transfer-encoding: chunked\r\n'), { kind: 'chunked' }, 'repeated header fields are one list');
  assert.deepEqual(te('chunked', 'content-length: 10\r\n'), { kind: 'chunked' });
  assert.deepEqual(te('chunked, gzip'), { kind: 'close' });
  assert.deepEqual(te('gzip'), { kind: 'close' });
  assert.deepEqual(bodyFraming('GET', head('HTTP/1.1 200 OK\r\n\r\n')), { kind: 'close' }, 'no length at all: read to the end of the connection');
});

test('bodyFraming: repeated equal Content-Lengths are one; conflicting or invalid ones are refused', () => {
  const cl = (...v: string[]): ReturnType<typeof bodyFraming> =>
    bodyFraming('GET', head(`HTTP/1.1 200 OK\r\n${v.map((x) => `content-length: ${x}\r\n`).join('')}\r\n`));
  assert.deepEqual(cl('42', '42'), { kind: 'length', length: 42 });
  assert.deepEqual(cl('42, 42'), { kind: 'length', length: 42 });
  for (const v of [['42', '43'], ['42, 7'], ['-1'], ['+5'], ['0x10'], ['1e3'], [''], ['12 34'], ['9999999999999999']]) {
    assert.throws(() => cl(...v), badResponse(/invalid Content-Length/), JSON.stringify(v));
  }
});

test('keepsAlive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with keep-alive; never a close-delimited body', () => {
  const ka = (s: string): boolean => {
    const h = head(s);
    return keepsAlive(h, bodyFraming('GET', h));
  };
  assert.equal(ka('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'), true);
  assert.equal(ka('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'), false);
  assert.equal(ka('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nConnection: Keep-Alive, Close\r\n\r\n'), false);
  assert.equal(ka('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: upgrade\r\nconnection: close\r\n\r\n'), false);
  assert.equal(ka('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n'), false);
  assert.equal(ka('HTTP/1.0 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n'), true);
  assert.equal(ka('HTTP/1.1 200 OK\r\n\r\n'), false, 'body ends with the connection');
  assert.equal(ka('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n'), false);
  assert.equal(ka('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n'), true);
  assert.equal(ka('HTTP/1.1 204 No Content\r\n\r\n'), true);
});
