import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { AirgapError } from '../errors.js';
import { BundleReader, type BundleOpenOptions } from '../bundle/reader.js';
import { blobPath, BundleEntry } from '../bundle/metadata.js';
import { NotARegularFileError } from '../bundle/tar-index-errors.js';
import type { TarEntry } from '../bundle/tar-index.js';
import { childrenOf, parseManifest } from '../oci/manifest.js';
import { isManifestMediaType, MediaType } from '../oci/media-type.js';
import type { Digest } from '../oci/digest.js';
import { decompressError, decompressor, sniffCompression, type Compression } from './compression.js';
import { dockerArchiveView } from './docker-save.js';
import { StreamedArchive } from './streamed.js';

/**
 * Every archive a user has, opened as a bundle: an airgap bundle or any OCI layout tar, a
 * docker-archive (docker save, podman save, k3s/RKE2 image tarballs), each as a file or compressed
 * (gzip, zstd: told by content), or from standard input (`-`). An uncompressed file is read in
 * place at random offsets; everything else is read once, as a stream (streamed.ts).
 */

export const STDIN = '-';

export interface OpenArchiveOptions extends BundleOpenOptions {
  /** How a stream is read: 'scan' to its end now (verify, inspect); 'load' as the copy asks. */
  mode: 'scan' | 'load';
  /** More than one target will read every blob (load to a registry and containerd). */
  retain?: boolean;
  tmpDir?: string;
  /** The stream `-` names (default this process's stdin). */
  stdin?: Readable;
  onProgress?(bytes: number): void;
  onNotice?(message: string): void;
}

export interface ArchiveInput {
  /** What the user gave: a path or "-". */
  input: string;
  compression: Compression;
  streamed: boolean;
}

const facts = new WeakMap<BundleReader, ArchiveInput>();

/** How a reader's archive was given (compression, stream or file). */
export function archiveInput(reader: BundleReader): ArchiveInput {
  return facts.get(reader) ?? { input: reader.path, compression: 'none', streamed: false };
}

/** A stream's first bytes, and the stream whole again (they are put back in front). */
async function peek(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = source[Symbol.asyncIterator]();
  const got: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const c = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    got.push(c);
    len += c.length;
  }
  const head = Buffer.concat(got);
  async function* again(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value as Buffer;
    }
  }
  const stream = Readable.from(again(), { objectMode: false });
  stream.once('close', () => source.destroy());
  return { head, stream };
}

export async function openArchive(input: string, opts: OpenArchiveOptions): Promise<BundleReader> {
  const docker = dockerArchiveView;
  let source: Readable;
  let label = input;
  if (input === STDIN) {
    source = opts.stdin ?? process.stdin;
    label = '(stdin)';
  } else {
    const st = await stat(input);
    if (st.isDirectory()) throw new NotARegularFileError(input, 'a directory');
    if (st.isFile()) {
      const fh = await open(input, 'r');
      const head = Buffer.alloc(8);
      const { bytesRead } = await fh.read(head, 0, 8, 0).finally(() => fh.close());
      if (sniffCompression(head.subarray(0, bytesRead)) === 'none') {
        const reader = await BundleReader.open(input, { ...opts, docker: (tar, bytes) => docker(tar, bytes) });
        facts.set(reader, { input, compression: 'none', streamed: false });
        return reader;
      }
    }
    source = createReadStream(input, { highWaterMark: 1024 * 1024 });
  }

  const peeked = await peek(source, 8);
  const compression = sniffCompression(peeked.head);
  const stream = compression === 'none' ? peeked.stream : peeked.stream.pipe(decompressor(compression));
  if (compression !== 'none') peeked.stream.on('error', (e) => stream.destroy(e));
  const archive = new StreamedArchive(label, stream, {
    mode: opts.mode,
    ...(opts.retain ? { retain: true } : {}),
    ...(opts.tmpDir ? { tmpDir: opts.tmpDir } : {}),
    ...(opts.maxEntries ? { maxEntries: opts.maxEntries } : {}),
    // What fails while reading a compressed stream is its data, unless the file itself could not be read.
    ...(compression !== 'none' ? { mapError: (e: unknown) => (e instanceof Error && !('syscall' in e) && !(e instanceof AirgapError) ? decompressError(e, compression, label) : e) } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.onNotice ? { onNotice: opts.onNotice } : {}),
  });
  try {
    if (opts.mode === 'scan') await archive.finish();
    else await archive.readHead(() => graphKnown(archive));
    const reader = await BundleReader.fromIndex(label, archive, archive.tar, {
      ...opts,
      // Entries were hashed as they passed; docker-save.ts reads any other one itself.
      docker: (tar, bytes) => docker(tar, bytes, { known: (e: TarEntry) => archive.passHash(e.name, 'sha256')?.digest as Digest | undefined }),
    });
    if (opts.mode === 'load' && !archive.isFinished()) archive.needed = neededBlobs(archive);
    facts.set(reader, { input, compression, streamed: true });
    return reader;
  } catch (e) {
    await archive.close();
    throw e;
  }
}

/** Metadata's platforms left out on purpose: their manifests never come. */
function leftOut(archive: StreamedArchive): Set<string> {
  const out = new Set<string>();
  const md = archive.held(BundleEntry.Metadata);
  if (!md) return out;
  try {
    const doc = JSON.parse(md.toString('utf8')) as { images?: { platforms?: { digest?: string; included?: boolean }[] }[] };
    for (const i of doc.images ?? []) for (const p of i.platforms ?? []) if (p.included === false && p.digest) out.add(p.digest);
  } catch {
    // verify names a damaged metadata file; here it only means nothing is known to be left out
  }
  return out;
}

/**
 * The image graph is known once index.json and every manifest and config under it have passed
 * (an airgap bundle holds them before any layer; other layouts may hold them last). A
 * docker-archive's graph is its manifest.json.
 */
function graphKnown(archive: StreamedArchive): boolean {
  const files = archive.tar.files;
  if (!files.has(BundleEntry.Index)) return !files.has(BundleEntry.OciLayout) && files.has(BundleEntry.DockerManifest) && archive.held(BundleEntry.DockerManifest) !== undefined;
  return walkHeld(archive, () => {}) !== false;
}

/** Walk the manifests held in memory; false when one needed has not passed yet. */
function walkHeld(archive: StreamedArchive, visit: (digest: string) => void): boolean {
  const index = archive.held(BundleEntry.Index);
  if (!index) return false;
  const skip = leftOut(archive);
  let roots: { digest: string; mediaType: string }[];
  try {
    const parsed = parseManifest(index, MediaType.OciIndex);
    roots = parsed.kind === 'index' ? parsed.index.manifests : [];
  } catch {
    return true; // a damaged index.json: nothing more to wait for
  }
  const stack = [...roots];
  const seen = new Set<string>();
  while (stack.length) {
    const d = stack.pop()!;
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    visit(d.digest);
    if (!isManifestMediaType(d.mediaType)) continue;
    const name = blobPath(d.digest);
    const bytes = archive.held(name);
    if (!bytes) {
      if (archive.tar.files.has(name) || skip.has(d.digest)) continue;
      return false;
    }
    try {
      const parsed = parseManifest(bytes, d.mediaType);
      for (const c of childrenOf(parsed)) stack.push(c);
    } catch {
      // damaged: load's own reading says so
    }
  }
  return true;
}

function neededBlobs(archive: StreamedArchive): ((name: string) => boolean) | undefined {
  if (!archive.tar.files.has(BundleEntry.Index)) return undefined;
  const names = new Set<string>();
  walkHeld(archive, (d) => names.add(blobPath(d)));
  return (name) => names.has(name);
}
