import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { DigestMismatchError, MemoryStore, NotFoundError, readAll, SizeMismatchError } from '../../src/content/index.js';
import { Digester, digestOf, MediaType, type Descriptor } from '../../src/oci/index.js';

const data = Buffer.from('layer bytes '.repeat(500));
const desc: Descriptor = { mediaType: MediaType.OciLayerGzip, digest: digestOf(data), size: data.length };

describe('MemoryStore', () => {
  it('put/get/exists/fetch round-trip', async () => {
    const s = new MemoryStore();
    const d = s.put(MediaType.OciLayerGzip, data);
    assert.deepEqual(d, desc);
    assert.equal(await s.exists(desc), true);
    assert.ok(s.get(desc.digest)?.equals(data));
    assert.ok((await readAll(await s.fetch(desc), desc.size)).equals(data));
  });

  it('put of a string stores its UTF-8 bytes', () => {
    const s = new MemoryStore();
    const d = s.put(MediaType.OciConfig, '{"é":1}');
    assert.equal(d.size, 8);
    assert.equal(d.digest, digestOf(Buffer.from('{"é":1}')));
  });

  it('push verifies and stores; a bad push leaves nothing behind', async () => {
    const s = new MemoryStore('dst');
    await s.push(desc, Readable.from([data]));
    assert.equal(await s.exists(desc), true);

    const t = new MemoryStore('dst');
    const evil = Buffer.from(data);
    evil[0] = 0;
    await assert.rejects(t.push(desc, Readable.from([evil])), (e: unknown) => e instanceof DigestMismatchError && /push to dst/.test(e.message));
    await assert.rejects(t.push(desc, Readable.from([data.subarray(1)])), SizeMismatchError);
    await assert.rejects(t.push(desc, Readable.from([data, Buffer.from('x')])), SizeMismatchError);
    assert.equal(await t.exists(desc), false);
    assert.equal(t.get(desc.digest), undefined);
  });

  it('fetch verifies stored bytes against the descriptor asked for', async () => {
    const s = new MemoryStore();
    s.put(MediaType.OciLayerGzip, data);
    const wrongSize = { ...desc, size: desc.size + 1 };
    await assert.rejects(readAll(await s.fetch(wrongSize), wrongSize.size), SizeMismatchError);
  });

  it('fetch resumes from an offset and still verifies the whole blob with a prefix', async () => {
    const s = new MemoryStore();
    s.put(MediaType.OciLayerGzip, data);
    const offset = 1234;
    const prefix = new Digester();
    prefix.update(data.subarray(0, offset));
    const tail = await readAll(await s.fetch(desc, { offset, prefix }), desc.size);
    assert.ok(tail.equals(data.subarray(offset)));

    const wrong = new Digester();
    wrong.update(Buffer.alloc(offset));
    await assert.rejects(readAll(await s.fetch(desc, { offset, prefix: wrong }), desc.size), DigestMismatchError);
  });

  it('says what is missing and where', async () => {
    const s = new MemoryStore('bundle k8s.tar');
    await assert.rejects(s.fetch(desc), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.code, 'ERR_NOT_FOUND');
      assert.match(e.message, new RegExp(`${desc.digest} not found in bundle k8s\\.tar`));
      return true;
    });
    await assert.rejects(s.resolve('registry.k8s.io/pause:3.9'), NotFoundError);
    await assert.rejects(s.tag(desc, 'x'), NotFoundError);
  });

  it('tags and resolves references; references() is a copy', async () => {
    const s = new MemoryStore();
    s.put(MediaType.OciLayerGzip, data);
    await s.tag(desc, 'registry.k8s.io/pause:3.9');
    assert.deepEqual(await s.resolve('registry.k8s.io/pause:3.9'), desc);
    const refs = s.references();
    refs.clear();
    assert.equal(s.references().size, 1);
  });

  it('delete removes content', async () => {
    const s = new MemoryStore();
    s.put(MediaType.OciLayerGzip, data);
    s.delete(desc.digest);
    assert.equal(await s.exists(desc), false);
  });

  it('push rejects when the source stream fails', async () => {
    const s = new MemoryStore();
    const failing = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    const outcome = await Promise.race([
      s.push(desc, failing).then(
        () => 'resolved',
        () => 'rejected',
      ),
      new Promise((r) => setTimeout(r, 300, 'hung')),
    ]);
    assert.equal(outcome, 'rejected');
  });
});
