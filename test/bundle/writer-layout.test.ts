import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTarHeader, TAR_BLOCK, TAR_END_SIZE, tarHeaderSize, tarPadding } from '../../src/bundle/tar-header.js';
import { layoutHeader, planTarLayout } from '../../src/bundle/tar-layout.js';
import { bytes, readTar } from '../pack/helpers.js';

/** Assemble a tar from a layout the simple way: header, data, padding, in order. */
function assemble(names: { name: string; data: Buffer }[], mtime: number): { tar: Buffer; layout: ReturnType<typeof planTarLayout> } {
  const layout = planTarLayout(names.map((n) => ({ name: n.name, size: n.data.byteLength })), mtime);
  const tar = Buffer.alloc(layout.size);
  layout.entries.forEach((e, i) => {
    layoutHeader(layout, e).copy(tar, e.headerOffset);
    names[i]!.data.copy(tar, e.dataOffset);
  });
  return { tar, layout };
}

describe('tar layout planner', () => {
  it('plans 512-byte aligned offsets that a tar reader agrees with', async () => {
    const files = [
      { name: 'airgap-bundle.json', data: Buffer.from('{"formatVersion":1}\n') },
      { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { name: 'empty', data: Buffer.alloc(0) },
      { name: `blobs/sha256/${'a'.repeat(64)}`, data: bytes('exact', 1024) },
      { name: `blobs/sha256/${'b'.repeat(64)}`, data: bytes('odd', 1000) },
    ];
    const { tar, layout } = assemble(files, 1700000000);
    let expect = 0;
    for (const [i, e] of layout.entries.entries()) {
      assert.equal(e.headerOffset, expect, `${e.name} header offset`);
      assert.equal(e.headerOffset % TAR_BLOCK, 0);
      assert.equal(e.dataOffset, e.headerOffset + TAR_BLOCK);
      assert.equal(e.end, e.dataOffset + files[i]!.data.byteLength + tarPadding(files[i]!.data.byteLength));
      expect = e.end;
    }
    assert.equal(layout.endOffset, expect);
    assert.equal(layout.size, expect + TAR_END_SIZE);
    assert.equal(tar.byteLength % TAR_BLOCK, 0);

    const read = await readTar(tar);
    assert.deepEqual(read.map((r) => r.name), files.map((f) => f.name));
    for (const [i, r] of read.entries()) {
      assert.ok(r.data.equals(files[i]!.data), `${r.name} data`);
      assert.equal(r.header.mode, 0o644);
      assert.equal(r.header.uid, 0);
      assert.equal(r.header.gid, 0);
      assert.equal(r.header.uname, '');
      assert.equal(r.header.gname, '');
      assert.equal(r.header.type, 'file');
      assert.equal(r.header.mtime!.getTime(), 1700000000 * 1000);
    }
  });

  it('gives long names a PAX path record and plans its size exactly', async () => {
    const long = `blobs/sha512/${'c'.repeat(128)}`;
    assert.ok(tarHeaderSize(long) > TAR_BLOCK);
    assert.equal(encodeTarHeader({ name: long, size: 10, mtime: 0 }).byteLength, tarHeaderSize(long));
    const { tar, layout } = assemble([{ name: long, data: Buffer.from('0123456789') }, { name: 'next', data: Buffer.from('x') }], 0);
    assert.equal(layout.entries[1]!.headerOffset, layout.entries[0]!.end);
    const read = await readTar(tar);
    assert.deepEqual(read.map((r) => r.name), [long, 'next']);
    assert.equal(read[0]!.data.toString(), '0123456789');
  });

  it('splits names over 100 bytes into prefix and name when a "/" allows it', () => {
    const name = `${'d'.repeat(60)}/${'e'.repeat(90)}`;
    const h = encodeTarHeader({ name, size: 0, mtime: 0 });
    assert.equal(h.byteLength, TAR_BLOCK);
    assert.equal(h.subarray(345, 345 + 60).toString(), 'd'.repeat(60));
    assert.equal(h.subarray(0, 90).toString(), 'e'.repeat(90));
  });

  it('writes sizes of 8 GiB and more in base-256', () => {
    const size = 8 * 1024 ** 3 + 5;
    const h = encodeTarHeader({ name: 'big', size, mtime: 0 });
    assert.equal(h[124], 0x80);
    assert.equal(h.readUIntBE(124 + 6, 6), size);
    const small = encodeTarHeader({ name: 'small', size: 8 * 1024 ** 3 - 1, mtime: 0 });
    assert.equal(small.subarray(124, 136).toString(), '77777777777\0');
  });

  it('is deterministic, and its id changes exactly when an offset does', () => {
    const a = planTarLayout([{ name: 'x', size: 10 }, { name: 'y', size: 600 }], 5);
    const b = planTarLayout([{ name: 'x', size: 10 }, { name: 'y', size: 600 }], 99);
    assert.equal(a.id, b.id, 'mtime does not move any byte of content');
    assert.deepEqual(layoutHeader(a, a.entries[0]!), layoutHeader(planTarLayout([{ name: 'x', size: 10 }], 5), a.entries[0]!));
    const c = planTarLayout([{ name: 'x', size: 11 }, { name: 'y', size: 600 }], 5);
    assert.equal(c.entries[1]!.dataOffset, a.entries[1]!.dataOffset, 'same padding, same offsets');
    assert.notEqual(c.id, a.id, 'a different size is a different plan');
    const d = planTarLayout([{ name: 'x', size: 600 }, { name: 'y', size: 600 }], 5);
    assert.notEqual(d.id, a.id);
  });

  it('refuses duplicate and unsafe names', () => {
    assert.throws(() => planTarLayout([{ name: 'x', size: 1 }, { name: 'x', size: 2 }], 0), /duplicate/);
    assert.throws(() => encodeTarHeader({ name: '../etc/passwd', size: 1, mtime: 0 }), /invalid tar entry name/);
    assert.throws(() => encodeTarHeader({ name: '/abs', size: 1, mtime: 0 }), /invalid tar entry name/);
  });
});
