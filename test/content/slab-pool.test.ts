import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutChunk, freeSlabs, releaseChunk, retireSlab, takeSlab } from '../../src/content/slab-pool.js';

test('a slab is reused only once it is retired and every chunk cut from it came back', () => {
  const a = takeSlab();
  const c1 = cutChunk(a, 0, 100);
  const c2 = cutChunk(a, 100, 300);
  releaseChunk(c1);
  retireSlab(a);
  const b = takeSlab();
  assert.notEqual(b, a, 'a chunk is still out: the slab must not be handed out again');
  releaseChunk(c2);
  const free = freeSlabs();
  assert.ok(free >= 1);
  const again = takeSlab();
  assert.equal(again, a, 'now it is reused');
  assert.equal(again.out, 0);
  assert.equal(again.retired, false);
  retireSlab(b);
  retireSlab(again);
});

test('chunks that are not from a slab, or given back twice, change nothing', () => {
  const a = takeSlab();
  const c = cutChunk(a, 0, 10);
  releaseChunk(Buffer.alloc(10));
  releaseChunk(new Uint8Array(4));
  assert.equal(a.out, 1);
  releaseChunk(c);
  releaseChunk(c);
  assert.equal(a.out, 0, 'never below zero');
  retireSlab(a);
});

test('a slice of a handed-out chunk counts as that chunk', () => {
  const a = takeSlab();
  const c = cutChunk(a, 1000, 5000);
  retireSlab(a);
  releaseChunk(c.subarray(10, 20));
  assert.equal(a.out, 0);
  assert.equal(takeSlab(), a);
  retireSlab(a);
});
