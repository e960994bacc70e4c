import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { open, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { indexTar, normalizeEntryName } from '../../src/bundle/tar-index.js';
import { NotARegularFileError, NotATarError, TarLimitError } from '../../src/bundle/tar-index-errors.js';
import { buildTar, header } from '../helpers/tar-writer.js';
import { makeTempDir, pseudoRandom } from '../helpers/make-bundle.js';

let dir: string;
let cleanup: () => Promise<void>;
let n = 0;

before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-tar-index-'));
});
after(async () => {
  await cleanup();
});

async function file(bytes: Buffer): Promise<string> {
  const p = join(dir, `t${n++}.tar`);
  await writeFile(p, bytes);
  return p;
}

describe('indexTar: reading', () => {
  it('indexes ustar entries with offsets and sizes that point at the data', async () => {
    const a = pseudoRandom('a', 1000);
    const b = Buffer.from('{"x":1}');
    const { buffer, entries } = buildTar([{ name: 'a', data: a }, { name: 'dir/b.json', data: b }, { name: 'empty', data: Buffer.alloc(0) }]);
    const idx = await indexTar(await file(buffer));
    assert.deepEqual(idx.issues, []);
    assert.equal(idx.truncated, false);
    assert.deepEqual(idx.entries.map((e) => [e.name, e.type, e.offset, e.size]), entries.map((e) => [e.name, 'file', e.dataOffset, e.size]));
    const e = idx.files.get('dir/b.json')!;
    assert.deepEqual(buffer.subarray(e.offset, e.offset + e.size), b);
    assert.equal(idx.end, buffer.length - 1024);
  });

  it('reads PAX path and size records and GNU long names', async () => {
    const long = `blobs/sha256/${'d'.repeat(64)}/${'x'.repeat(80)}`;
    const long2 = `${'y'.repeat(120)}/z`;
    const data = pseudoRandom('p', 700);
    const { buffer } = buildTar([
      { name: long, data, longNames: 'pax' },
      { name: long2, data, longNames: 'gnu' },
      { name: 'short', data, pax: { mtime: '1700000000.5', 'SCHILY.xattr.user.x': 'y' } },
    ]);
    const idx = await indexTar(await file(buffer));
    assert.deepEqual(idx.issues, []);
    assert.deepEqual(idx.entries.map((e) => e.name), [long, long2, 'short']);
    for (const e of idx.entries) assert.deepEqual(buffer.subarray(e.offset, e.offset + e.size), data);
  });

  it('agrees with GNU tar on archives it writes (gnu and pax formats, ./ prefixes, directories)', async () => {
    const src = join(dir, 'src');
    const deep = join(src, 'blobs', 'sha256');
    await mkdir(deep, { recursive: true });
    const longName = `${'l'.repeat(150)}.json`;
    await writeFile(join(src, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    await writeFile(join(deep, 'a'.repeat(64)), pseudoRandom('blob', 5000));
    await writeFile(join(deep, longName), 'long');
    for (const format of ['gnu', 'pax', 'ustar']) {
      const out = join(dir, `gnu-${format}.tar`);
      const args = ['-C', src, `--format=${format}`, '-cf', out, '.'];
      try {
        execFileSync('tar', args, { stdio: 'pipe' });
      } catch (e) {
        // ustar cannot hold the 150-character name; GNU tar says so and that is fine
        if (format === 'ustar') continue;
        throw e;
      }
      const listed = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n').map((s) => normalizeEntryName(s).name).filter(Boolean).sort();
      const idx = await indexTar(out);
      assert.deepEqual(idx.issues, [], format);
      assert.deepEqual(idx.entries.map((e) => e.name).filter(Boolean).sort(), listed, format);
      const blob = idx.files.get(`blobs/sha256/${'a'.repeat(64)}`)!;
      const fh = await open(out, 'r');
      const buf = Buffer.alloc(blob.size);
      await fh.read(buf, 0, blob.size, blob.offset);
      await fh.close();
      assert.deepEqual(buf, pseudoRandom('blob', 5000), format);
      assert.equal(idx.entries.find((e) => e.name === 'blobs')?.type, 'directory', format);
    }
  });

  it('reads GNU base-256 sizes (entries over 8 GiB)', async () => {
    // A header declaring 9 GiB in base-256, on a sparse file: no data byte is read.
    const size = 9 * 1024 ** 3;
    const h = header('big', 0, '0');
    h.fill(0, 124, 136);
    h[124] = 0x80;
    let v = size;
    for (let i = 135; i > 124; i--) {
      h[i] = v % 256;
      v = Math.floor(v / 256);
    }
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const p = join(dir, 'base256.tar');
    const fh = await open(p, 'w');
    await fh.write(h, 0, 512, 0);
    await fh.write(Buffer.alloc(1024), 0, 1024, 512 + size);
    await fh.close();
    const started = performance.now();
    const idx = await indexTar(p);
    assert.ok(performance.now() - started < 500);
    assert.deepEqual(idx.issues, []);
    assert.equal(idx.entries[0]!.size, size);
  });

  it('indexes a many-GB archive from its headers alone, in milliseconds', async () => {
    // Three 2 GiB entries in a sparse file: reading their data would take seconds.
    const p = join(dir, 'sparse.tar');
    const fh = await open(p, 'w');
    const big = 2 * 1024 ** 3;
    let pos = 0;
    for (const name of ['one', 'two', 'three']) {
      await fh.write(header(name, big, '0'), 0, 512, pos);
      pos += 512 + big;
    }
    await fh.write(Buffer.alloc(1024), 0, 1024, pos);
    await fh.close();
    const started = performance.now();
    const idx = await indexTar(p);
    const ms = performance.now() - started;
    assert.deepEqual(idx.issues, []);
    assert.equal(idx.entries.length, 3);
    assert.ok(ms < 200, `indexing took ${ms} ms`);
  });
});

describe('indexTar: hostile and damaged archives', () => {
  const data = Buffer.from('x'.repeat(600));

  it('names absolute and ".." paths as unsafe', async () => {
    const { buffer } = buildTar([{ name: '../evil', data }, { name: '/etc/passwd', data }, { name: 'a/../../b', data }, { name: 'ok/./fine', data }]);
    const idx = await indexTar(await file(buffer));
    const unsafe = idx.issues.filter((i) => i.code === 'unsafe-path');
    assert.deepEqual(unsafe.map((i) => i.entry), ['../evil', '/etc/passwd', 'a/../../b']);
    assert.ok(unsafe.every((i) => i.severity === 'error' && i.message.includes('outside the target directory')));
    assert.equal(idx.entries[3]!.name, 'ok/fine');
  });

  it('names symlinks, hard links, devices, fifos and sparse files', async () => {
    const { buffer } = buildTar([
      { name: 'sl', type: 'symlink', linkName: '/etc/shadow' },
      { name: 'hl', type: 'hardlink', linkName: 'index.json' },
      { name: 'chr', type: 'char-device' },
      { name: 'blk', type: 'block-device' },
      { name: 'fifo', type: 'fifo' },
      { name: 'sparse', typeflag: 'S', data },
      { name: 'after', data },
    ]);
    const idx = await indexTar(await file(buffer));
    assert.deepEqual(idx.issues.map((i) => [i.code, i.entry]), [
      ['link', 'sl'], ['link', 'hl'], ['special-file', 'chr'], ['special-file', 'blk'], ['special-file', 'fifo'], ['unsupported-type', 'sparse'],
    ]);
    assert.match(idx.issues[0]!.message, /symbolic link to "\/etc\/shadow"/);
    // the entry after them is still found where it is
    const after = idx.files.get('after')!;
    assert.deepEqual(buffer.subarray(after.offset, after.offset + after.size), data);
  });

  it('names duplicate entries with both offsets; the last one wins, as extraction would', async () => {
    const { buffer, entries } = buildTar([{ name: 'a', data }, { name: './a', data: Buffer.from('second') }, { name: 'd/', type: 'directory' }, { name: 'd', type: 'directory' }]);
    const idx = await indexTar(await file(buffer));
    assert.deepEqual(idx.issues.map((i) => i.code), ['duplicate']);
    assert.match(idx.issues[0]!.message, new RegExp(`at bytes ${entries[0]!.headerOffset} and ${entries[1]!.headerOffset}`));
    assert.equal(idx.files.get('a')!.size, 6);
  });

  it('says where a truncated archive ends: inside data, inside a header, in padding, before the end marker', async () => {
    const { buffer, entries } = buildTar([{ name: 'first', data }, { name: 'second', data: pseudoRandom('s', 5000) }]);
    const second = entries[1]!;
    const cases: [number, RegExp][] = [
      [second.dataOffset + 100, new RegExp(`ends at byte ${second.dataOffset + 100}, inside entry second \\(100 of its 5000 bytes present\\)`)],
      [second.headerOffset + 200, new RegExp(`ends at byte ${second.headerOffset + 200}, inside a header block that starts at byte ${second.headerOffset}`)],
      [second.dataOffset + 5000 + 10, /ends at byte \d+ after entry second without the end-of-archive marker/],
      [second.dataOffset + 5120, /ends at byte \d+ after entry second without the end-of-archive marker/],
    ];
    for (const [at, re] of cases) {
      const idx = await indexTar(await file(buffer.subarray(0, at)));
      assert.equal(idx.truncated, true, `cut at ${at}`);
      const errs = idx.issues.filter((i) => i.severity === 'error');
      assert.equal(errs.length, 1, `cut at ${at}: ${JSON.stringify(errs)}`);
      assert.match(errs[0]!.message, re);
    }
    const cut = await indexTar(await file(buffer.subarray(0, second.dataOffset + 100)));
    assert.equal(cut.files.get('second')!.truncated, true);
  });

  it('accepts a single zero block at the end, and notes data after the end marker', async () => {
    const { buffer } = buildTar([{ name: 'a', data }]);
    const one = await indexTar(await file(buffer.subarray(0, buffer.length - 512)));
    assert.deepEqual(one.issues, []);
    const trailing = await indexTar(await file(Buffer.concat([buffer, Buffer.from('garbage')])));
    assert.deepEqual(trailing.issues.map((i) => [i.code, i.severity]), [['trailing-data', 'warning']]);
    const zeros = await indexTar(await file(Buffer.concat([buffer, Buffer.alloc(10240 - (buffer.length % 10240))])));
    assert.deepEqual(zeros.issues, []);
  });

  it('stops at a corrupt header and says where', async () => {
    const { buffer, entries } = buildTar([{ name: 'a', data }, { name: 'b', data }, { name: 'c', data }]);
    const bad = Buffer.from(buffer);
    bad[entries[1]!.headerOffset + 3] ^= 0x20;
    const idx = await indexTar(await file(bad));
    assert.deepEqual(idx.issues.map((i) => [i.code, i.offset]), [['bad-header', entries[1]!.headerOffset]]);
    assert.match(idx.issues[0]!.message, /corrupt \(checksum mismatch\) after entry a/);
    assert.deepEqual(idx.entries.map((e) => e.name), ['a']);
  });

  it('refuses absurd entry counts', async () => {
    const { buffer } = buildTar(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, data: Buffer.from('x') })));
    await assert.rejects(indexTar(await file(buffer), { maxEntries: 10 }), (e: unknown) => e instanceof TarLimitError && e.kind === 'io' && /more than 10 entries/.test(e.message));
  });
});

describe('indexTar: not a tar at all', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /is an empty file, not a tar archive/],
    ['gzip', gzipSync(buildTar([{ name: 'a', data: Buffer.from('x') }]).buffer), /is gzip-compressed data, not a tar archive/],
    ['zstd', Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(600)]), /zstd-compressed data/],
    ['json', Buffer.from(`{"schemaVersion":2,"manifests":[]}${' '.repeat(600)}`), /a JSON document/],
    ['text', Buffer.from('registry.k8s.io/pause:3.9\n'.repeat(40)), /a text file/],
    ['short', Buffer.from([1, 2, 3]), /a 3-byte file, too short/],
    ['binary', pseudoRandom('junk', 4096), /not a tar archive \(no valid tar header at byte 0\)/],
  ];
  for (const [name, bytes, re] of cases) {
    it(`says what a file is: ${name}`, async () => {
      await assert.rejects(indexTar(await file(bytes)), (e: unknown) => {
        assert.ok(e instanceof NotATarError, String(e));
        assert.equal(e.kind, 'io');
        assert.equal(e.code, 'ERR_NOT_A_TAR');
        assert.match(e.message, re);
        assert.ok(e.hint);
        return true;
      });
    });
  }

  it('refuses a directory with a hint', async () => {
    await assert.rejects(indexTar(dir), (e: unknown) => e instanceof NotARegularFileError && /is a directory/.test(e.message) && /tar -cf/.test(e.hint ?? ''));
  });

  it('gives the gzip hint to decompress first', async () => {
    await assert.rejects(indexTar(await file(gzipSync(Buffer.alloc(2000)))), (e: unknown) => e instanceof NotATarError && /gunzip/.test(e.hint ?? ''));
  });
});
