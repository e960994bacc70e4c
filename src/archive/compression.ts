import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress as FzstdDecompress } from 'fzstd';
import { ArchiveInputError } from './errors.js';

/**
 * Compressed bundles (`.tar.gz`, `.tar.zst`: k3s and RKE2 publish their image tarballs as zstd),
 * told by their first bytes, never by their names. gzip is Node's own; zstd is Node's own where
 * the runtime has it (Node 22.15+, which the single executables carry) and the pure-JavaScript
 * fzstd elsewhere (the npm package on Node 20): no native addon, nothing downloaded at install.
 */

export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

/** What the first bytes say; 'none' for anything else (a tar, or something the tar reader names). */
export function sniffCompression(head: Uint8Array): Compression {
  const starts = (m: number[]): boolean => head.length >= m.length && m.every((b, i) => head[i] === b);
  if (starts(GZIP)) return 'gzip';
  if (starts(ZSTD)) return 'zstd';
  return 'none';
}

type ZlibWithZstd = typeof zlib & { createZstdDecompress?: () => Transform };

/** Which zstd decoder this runtime uses (for --json facts and the benchmark). */
export function zstdDecoder(): 'node' | 'fzstd' {
  return typeof (zlib as ZlibWithZstd).createZstdDecompress === 'function' ? 'node' : 'fzstd';
}

/** A transform that decompresses `kind` (its errors go through decompressError). */
export function decompressor(kind: Exclude<Compression, 'none'>): Transform {
  // Concatenated gzip members are valid (pigz, `cat a.gz b.gz`); Node reads them all by default.
  if (kind === 'gzip') return zlib.createGunzip({ chunkSize: 256 * 1024 });
  return zstdDecoder() === 'node' ? (zlib as ZlibWithZstd).createZstdDecompress!() : new FzstdTransform();
}

/** A decompressor's failure, said as what it means for the user's file. */
export function decompressError(e: unknown, kind: Exclude<Compression, 'none'>, where: string): ArchiveInputError {
  return new ArchiveInputError('ERR_ARCHIVE_DECOMPRESS', `${where}: the ${kind} data is damaged (${(e as Error).message})`,
    'the file was cut short or changed in transit: copy it again, and compare its checksum with the sender\'s', { where, compression: kind }, e);
}

/** fzstd's push-callback decoder as a stream (Node 20 has no zstd of its own). */
class FzstdTransform extends Transform {
  private readonly d: FzstdDecompress;
  constructor() {
    super();
    this.d = new FzstdDecompress((data) => {
      if (data.length) this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.d.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.d.push(new Uint8Array(0), true);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}
