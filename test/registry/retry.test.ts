import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, isRetryableError, isRetryableStatus, isTlsError, parseRetryAfter } from '../../src/registry/retry.js';

test('Retry-After: delta seconds, HTTP-date, junk', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(['0'], now), 0);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now), 0, 'a date in the past means now');
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('backoff grows exponentially with jitter and is capped', () => {
  const p = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
  assert.equal(backoffDelay(p, 1, () => 1), 100);
  assert.equal(backoffDelay(p, 1, () => 0), 50);
  assert.equal(backoffDelay(p, 3, () => 1), 400);
  assert.equal(backoffDelay(p, 10, () => 1), 1000);
});

test('what is retried', () => {
  for (const s of [408, 429, 500, 502, 503, 504]) assert.ok(isRetryableStatus(s), String(s));
  for (const s of [400, 401, 403, 404, 405, 416, 501]) assert.ok(!isRetryableStatus(s), String(s));
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  assert.ok(isRetryableError(reset));
  assert.ok(isRetryableError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })));
  assert.ok(isRetryableError(new Error('wrapped', { cause: reset })));
  const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  assert.ok(isTlsError(tls));
  assert.ok(!isRetryableError(tls), 'a certificate problem does not fix itself');
  assert.ok(!isRetryableError(Object.assign(new Error('aborted'), { name: 'AbortError' })));
  assert.ok(!isRetryableError(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' })));
});
