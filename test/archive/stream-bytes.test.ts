/**
 * A tar read once from a stream is indexed exactly as the same bytes read from a file: the same
 * entries at the same offsets, the same issues with the same words (truncation, corrupt headers,
 * trailing data, links), whatever sizes the stream's chunks come in; and every entry's bytes
 * reach its sink whole and in order.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { StreamTarBytes } from '../../src/archive/stream-bytes.js';
import { indexTar, indexTarBytes, type TarIndex } from '../../src/bundle/tar-index.js';
import { makeTempDir, pseudoRandom } from '../helpers/make-bundle.js';
import { buildTar } from '../helpers/tar-writer.js';

let dir: string;
let cleanup: () => Promise<void>;
let n = 0;
before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-stream-bytes-'));
});
after(async () => {
  await cleanup();
});

/** The bytes in chunks of sizes from a seeded sequence (1 byte to 70 KiB), as pipes deliver them. */
function chunked(bytes: Buffer, seed: number): Readable {
  const parts: Buffer[] = [];
  let x = seed;
  for (let i = 0; i < bytes.length;) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const size = x % 5 === 0 ? 1 + (x % 7) : 1 + (x % 70_000);
    parts.push(bytes.subarray(i, i + size));
    i += size;
  }
  return Readable.from(parts);
}

function shape(idx: TarIndex): unknown {
  return {
    entries: idx.entries.map((e) => [e.name, e.type, e.headerOffset, e.offset, e.size, e.truncated ?? false, e.linkName ?? '']),
    issues: idx.issues.map((i) => [i.code, i.severity, i.offset, i.entry ?? '', i.message]),
    files: [...idx.files.keys()],
    end: idx.end,
    truncated: idx.truncated,
    fileSize: idx.fileSize,
  };
}

async function both(bytes: Buffer, seed: number): Promise<{ file: TarIndex; stream: TarIndex; data: Map<string, Buffer> }> {
  const path = join(dir, `t${n++}.tar`);
  await writeFile(path, bytes);
  const file = await indexTar(path);
  const data = new Map<string, Buffer>();
  const stream = await indexTarBytes(new StreamTarBytes(chunked(bytes, seed), (e) => {
    const parts: Buffer[] = [];
    return {
      write: (c) => {
        parts.push(Buffer.from(c));
      },
      end: () => {
        data.set(e.name, Buffer.concat(parts));
      },
    };
  }), path);
  return { file, stream, data };
}

const data = pseudoRandom('d', 3000);

describe('a tar read from a stream is indexed as from a file', () => {
  const { buffer, entries } = buildTar([
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'blobs/sha256/aa', data },
    { name: 'big', data: pseudoRandom('b', 200_000) },
    { name: 'empty', data: Buffer.alloc(0) },
    { name: 'sl', type: 'symlink', linkName: '../x' },
    { name: 'd/', type: 'directory' },
    { name: 'last', data: pseudoRandom('l', 5000) },
  ]);
  const last = entries.at(-1)!;
  const archives: [string, Buffer][] = [
    ['a sound archive', buffer],
    ['cut inside data', buffer.subarray(0, last.dataOffset + 100)],
    ['cut inside a header', buffer.subarray(0, last.headerOffset + 200)],
    ['cut before the end marker', buffer.subarray(0, last.dataOffset + 5120)],
    ['one zero block at the end', buffer.subarray(0, buffer.length - 512)],
    ['data after the end marker', Buffer.concat([buffer, Buffer.from('garbage')])],
    ['zero padding after the end marker', Buffer.concat([buffer, Buffer.alloc(10240)])],
    ['a corrupt header', (() => {
      const b = Buffer.from(buffer);
      b[entries[2]!.headerOffset + 3]! ^= 0x20;
      return b;
    })()],
  ];
  for (const [name, bytes] of archives) {
    it(name, async () => {
      for (const seed of [1, 7, 4242]) {
        const r = await both(bytes, seed);
        assert.deepEqual(shape(r.stream), shape(r.file), `chunk seed ${seed}`);
        for (const e of r.file.entries) {
          if (e.type !== 'file') continue;
          const want = bytes.subarray(e.offset, Math.min(bytes.length, e.offset + e.size));
          assert.ok(r.data.get(e.name)?.equals(want), `${e.name}'s bytes reach its sink (seed ${seed})`);
        }
      }
    });
  }
});
