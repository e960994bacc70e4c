import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeMessage, ProtobufError, type ProtoFields } from '../../src/cri/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isProtobufError = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ProtobufError, String(e));
  assert.equal(e.code, 'ERR_CRI_PROTOBUF');
  assert.equal(e.kind, 'runtime');
  assert.match(e.message, pattern);
  return true;
};

test('encodes the wire bytes the protobuf spec gives', () => {
  assert.equal(hex(encodeMessage([[1, 150]])), '089601'); // the spec's varint example
  assert.equal(hex(encodeMessage([[2, 'testing']])), '120774657374696e67');
  assert.equal(hex(encodeMessage([[3, [[1, 150]]]])), '1a03089601'); // embedded message
  assert.equal(hex(encodeMessage([[1, true]])), '0801'); // StatusRequest{verbose: true}
  assert.equal(hex(encodeMessage([[1, false]])), '0800');
  assert.equal(hex(encodeMessage([[1, -1]])), '08ffffffffffffffffff01'); // int64 -1: ten bytes
  assert.equal(hex(encodeMessage([[16, 1]])), '800101'); // a field number needing a two-byte key
  assert.equal(hex(encodeMessage([[1, undefined], [2, 'a']])), '120161');
  assert.equal(encodeMessage([]).length, 0);
});

test('round trip: strings, bytes, bools, uint64, repeated fields, maps and nested messages', () => {
  const image: ProtoFields = [
    [1, 'sha256:abc'],
    [2, 'registry.k8s.io/pause:3.9'],
    [2, 'registry.k8s.io/pause:latest'],
    [3, 'registry.k8s.io/pause@sha256:def'],
    [4, 2n ** 63n + 5n],
    [8, true],
  ];
  const msg = encodeMessage([
    [1, image],
    [1, [[1, 'ünïcode ✓']]],
    [2, [[1, 'config'], [2, '{"sandboxImage":"x"}']]],
    [2, [[1, 'empty'], [2, '']]],
    [5, new Uint8Array([0, 255, 1])],
    [7, 2 ** 53 - 1],
  ]);
  const m = decodeMessage(msg);
  const [a, b] = m.messages(1);
  assert.equal(a!.string(1), 'sha256:abc');
  assert.deepEqual(a!.strings(2), ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:latest']);
  assert.deepEqual(a!.strings(3), ['registry.k8s.io/pause@sha256:def']);
  assert.equal(a!.uint(4), Number(2n ** 63n + 5n));
  assert.equal(a!.bool(8), true);
  assert.equal(b!.string(1), 'ünïcode ✓');
  assert.deepEqual([...m.stringMap(2)], [['config', '{"sandboxImage":"x"}'], ['empty', '']]);
  assert.equal(hex(m.bytes(5)), '00ff01');
  assert.equal(m.uint(7), 2 ** 53 - 1);
  // proto3: absent fields read as their defaults
  assert.equal(b!.bool(8), false);
  assert.equal(b!.uint(4), 0);
  assert.equal(b!.string(6), '');
  assert.deepEqual(b!.strings(2), []);
  assert.equal(m.message(9), undefined);
  assert.deepEqual(decodeMessage(Buffer.alloc(0)).numbers, []);
});

test('a non-repeated field seen twice: the last scalar wins, embedded messages merge', () => {
  const m = decodeMessage(
    Buffer.concat([encodeMessage([[1, 'first'], [3, [[1, 'a'], [2, 'x']]]]), encodeMessage([[1, 'second'], [3, [[1, 'b']]]])]),
  );
  assert.equal(m.string(1), 'second');
  const merged = m.message(3)!;
  assert.equal(merged.string(1), 'b');
  assert.equal(merged.string(2), 'x');
});

test('skips unknown fields of every supported wire type', () => {
  const known = encodeMessage([[1, 'sha256:abc']]);
  const extra = Buffer.concat([
    Buffer.from('f8072a', 'hex'), // field 127, varint
    Buffer.from('490102030405060708', 'hex'), // field 9, fixed64
    Buffer.from('55deadbeef', 'hex'), // field 10, fixed32
    Buffer.from('5a03010203', 'hex'), // field 11, length-delimited
  ]);
  const m = decodeMessage(Buffer.concat([extra, known]));
  assert.equal(m.string(1), 'sha256:abc');
  assert.deepEqual(m.numbers.sort((x, y) => x - y), [1, 9, 10, 11, 127]);
  assert.equal(m.uint(10), 0xefbeadde);
});

test('truncated input fails with ERR_CRI_PROTOBUF, never reads past the end', () => {
  const whole = encodeMessage([[1, 'registry.k8s.io/pause:3.9'], [4, 300]]);
  for (let cut = 1; cut < whole.length; cut++) {
    if (cut === 27) continue; // ends exactly after field 1: a valid message
    assert.throws(() => decodeMessage(whole.subarray(0, cut)), isProtobufError(/truncated/), `cut at ${cut}`);
  }
  assert.equal(decodeMessage(whole.subarray(0, 27)).string(1), 'registry.k8s.io/pause:3.9');
  assert.throws(() => decodeMessage(Buffer.from('0a05616263', 'hex')), isProtobufError(/5 bytes declared, 3 left/));
  assert.throws(() => decodeMessage(Buffer.from('0901020304', 'hex')), isProtobufError(/truncated fixed64/));
  assert.throws(() => decodeMessage(Buffer.from('0d0102', 'hex')), isProtobufError(/truncated fixed32/));
  assert.throws(() => decodeMessage(Buffer.from('08ffffffffffffffffffff01', 'hex')), isProtobufError(/longer than 10 bytes/));
  // a huge declared length is refused before any allocation
  assert.throws(() => decodeMessage(Buffer.from('0affffffff0f', 'hex')), isProtobufError(/4294967295 bytes declared/));
});

test('unknown wire types (groups 3/4, reserved 6/7) and field 0 are refused', () => {
  for (const wire of [3, 4, 6, 7]) {
    assert.throws(() => decodeMessage(Buffer.from([(1 << 3) | wire, 0])), isProtobufError(new RegExp(`unsupported wire type ${wire}`)));
  }
  assert.throws(() => decodeMessage(Buffer.from('0001', 'hex')), isProtobufError(/bad field number 0/));
});

test('a field read as the wrong type is an error, not a silent default', () => {
  const m = decodeMessage(encodeMessage([[1, 5], [2, 'x']]));
  assert.throws(() => m.string(1), isProtobufError(/field 1 should be length-delimited/));
  assert.throws(() => m.bool(2), isProtobufError(/field 2 should be a varint/));
});

test('encode refuses what protobuf cannot carry', () => {
  assert.throws(() => encodeMessage([[0, 'x']]), RangeError);
  assert.throws(() => encodeMessage([[1, 1.5]]), RangeError);
});
