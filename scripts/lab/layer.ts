import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { LayerPlan } from './image-plan.js';
import { Prng } from './prng.js';

export interface BuiltLayer {
  /** sha256 of the gzip blob */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar: what the config's rootfs.diff_ids lists */
  diffId: string;
  uncompressedSize: number;
}

export interface BlobRef {
  digest: string;
  size: number;
}

/** A pass-through stream that hashes and counts what flows by. */
class HashTap extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

// Fixed metadata so the same plan always gives the same bytes.
const MTIME = new Date('2024-01-01T00:00:00Z');

/**
 * Write one layer as a gzip tar into blobsDir (…/blobs/sha256). Random-content files stand in for
 * binaries; since gzip cannot shrink them, layers over 1 MiB use level 0 (stored deflate blocks,
 * still a valid gzip every reader must handle) and smaller ones level 1, so both code paths exist.
 */
export async function buildLayer(plan: LayerPlan, seed: string, blobsDir: string): Promise<BuiltLayer> {
  const prng = new Prng(seed, plan.key);
  const rawSize = plan.files.reduce((n, f) => n + (f.size ?? 0), 0);
  const pack = tar.pack();
  const raw = new HashTap();
  const gz = new HashTap();
  const tmp = join(blobsDir, `.tmp-${randomBytes(6).toString('hex')}`);
  const done = pipeline(pack, raw, createGzip({ level: rawSize > 1024 * 1024 ? 0 : 1 }), gz, createWriteStream(tmp));

  type TarHeader = Parameters<typeof pack.entry>[0];
  const add = (header: TarHeader, body?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (body) pack.entry(header, body, cb);
      else pack.entry(header, cb);
    });
  try {
    for (const f of plan.files) {
      const common = { name: f.path, mode: f.mode, mtime: MTIME, uid: 0, gid: 0, uname: 'root', gname: 'root' };
      if (f.type === 'directory') await add({ ...common, type: 'directory' });
      else if (f.type === 'symlink') await add({ ...common, type: 'symlink', linkname: f.linkname ?? '' });
      else {
        const body =
          f.text !== undefined
            ? Buffer.from(f.text)
            : f.content === 'text'
              ? Buffer.from(prng.text(f.size ?? 0))
              : prng.bytes(f.size ?? 0);
        await add({ ...common, type: 'file', size: body.length }, body);
      }
    }
    pack.finalize();
    await done;
  } catch (err) {
    pack.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
  const hex = gz.hash.digest('hex');
  await rename(tmp, join(blobsDir, hex));
  return {
    digest: `sha256:${hex}`,
    size: gz.bytes,
    diffId: `sha256:${raw.hash.digest('hex')}`,
    uncompressedSize: raw.bytes,
  };
}

/** Write bytes as a content-addressed blob; returns its descriptor core. */
export async function writeBlob(blobsDir: string, bytes: Buffer): Promise<BlobRef> {
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobsDir, hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}
