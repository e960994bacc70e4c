import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DataSyncer } from '../../src/bundle/writer-sync.js';

/** An fdatasync whose calls are counted and finish only when the test says so. */
function heldSync() {
  const calls: { resolve(): void; reject(e: Error): void }[] = [];
  let running = 0;
  let maxRunning = 0;
  const sync = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      calls.push({
        resolve: () => {
          running--;
          resolve();
        },
        reject: (e) => {
          running--;
          reject(e);
        },
      });
    });
  return { sync, calls, get maxRunning() { return maxRunning; } };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const wrap = (e: unknown): Error => new Error(`wrapped: ${(e as Error).message}`);

describe('DataSyncer', () => {
  it('starts a background flush each time enough bytes piled up, one at a time, without making writes wait', async () => {
    const s = heldSync();
    const syncer = new DataSyncer(s.sync, 100, wrap);
    syncer.wrote(60);
    assert.equal(s.calls.length, 0, 'not enough yet');
    syncer.wrote(60);
    assert.equal(s.calls.length, 1, 'the first flush starts at 120 bytes');
    assert.equal(syncer.background, 1);
    syncer.wrote(500); // wrote() returns at once: the flush in flight is not waited for
    assert.equal(s.calls.length, 1, 'never a second flush while one runs');
    s.calls[0]!.resolve();
    await tick();
    syncer.wrote(1);
    assert.equal(s.calls.length, 2, 'the bytes written meanwhile start the next one');
    s.calls[1]!.resolve();
    await tick();
    syncer.wrote(99);
    assert.equal(s.calls.length, 2, 'counted from the start of the last flush');
    syncer.wrote(1);
    assert.equal(s.calls.length, 3);
    s.calls[2]!.resolve();
    assert.equal(s.maxRunning, 1);
  });

  it('flush() covers every write completed before it: a flush started earlier is waited for, then another runs', async () => {
    const s = heldSync();
    const syncer = new DataSyncer(s.sync, 100, wrap);
    syncer.wrote(100); // background flush #1 covers these 100 bytes
    syncer.wrote(5); // ...but not these
    let done = false;
    const f = syncer.flush().then(() => {
      done = true;
    });
    await tick();
    assert.equal(s.calls.length, 1, 'no second fdatasync while the first runs');
    s.calls[0]!.resolve();
    await tick();
    assert.equal(done, false, 'the first flush started before the last 5 bytes were written');
    assert.equal(s.calls.length, 2);
    s.calls[1]!.resolve();
    await f;
    assert.equal(done, true);
    assert.equal(s.maxRunning, 1);

    // Nothing written since the last flush completed: nothing to wait for.
    await syncer.flush();
    assert.equal(s.calls.length, 2);
  });

  it('a flush that started after the writes is enough', async () => {
    const s = heldSync();
    const syncer = new DataSyncer(s.sync, 100, wrap);
    syncer.wrote(150);
    const f = syncer.flush();
    await tick();
    s.calls[0]!.resolve();
    await f;
    assert.equal(s.calls.length, 1);
  });

  it('a failed background flush fails every later check, flush and flush after that, with the first error', async () => {
    const s = heldSync();
    const syncer = new DataSyncer(s.sync, 10, wrap);
    syncer.wrote(10);
    s.calls[0]!.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await tick();
    assert.throws(() => syncer.check(), /wrapped: EIO/);
    await assert.rejects(syncer.flush(), /wrapped: EIO/);
    syncer.wrote(100);
    assert.equal(s.calls.length, 1, 'no flush after a failure: a later success would hide lost pages');
    assert.match(syncer.failure!.message, /EIO/);
  });

  it('with every = 0 only flush() syncs', async () => {
    const s = heldSync();
    const syncer = new DataSyncer(s.sync, 0, wrap);
    syncer.wrote(1 << 30);
    assert.equal(s.calls.length, 0);
    const f = syncer.flush();
    await tick();
    s.calls[0]!.resolve();
    await f;
  });
});
