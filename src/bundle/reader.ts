import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { DigestMismatchError, NotFoundError, SizeMismatchError } from '../content/errors.js';
import type { FetchOptions, ReadOnlyTarget } from '../content/target.js';
import { VerifyingStream } from '../content/verify-stream.js';
import { Annotation, type Descriptor } from '../oci/descriptor.js';
import { digestOf, isDigest, type Digest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES, parseManifest, type ImageIndex, type ParsedManifest } from '../oci/manifest.js';
import { isManifestMediaType, MediaType } from '../oci/media-type.js';
import { sameReference } from '../oci/reference.js';
import { blobPath, BundleEntry, type BundleMetadata } from './metadata.js';
import { BundleDamagedError, NotABundleError } from './reader-errors.js';
import { MAX_METADATA_BYTES, parseBundleMetadata } from './reader-metadata.js';
import { rangeStream } from './reader-range-stream.js';
import { indexTarHandle, type TarEntry, type TarIndex } from './tar-index.js';

/** A problem met while opening: a layout file missing or unreadable. verify turns these into findings. */
export interface BundleProblem {
  code: 'missing-oci-layout' | 'invalid-oci-layout' | 'missing-index' | 'invalid-index' | 'invalid-metadata' | 'duplicate-ref';
  message: string;
  entry?: string;
}

/** One entry of index.json: an image the bundle holds. */
export interface BundleRef {
  /** The name it is known by: io.containerd.image.name, else org.opencontainers.image.ref.name. */
  name: string | undefined;
  /** Every name it answers to (both annotations, deduplicated). */
  names: string[];
  descriptor: Descriptor;
  /** Its position in index.json. */
  position: number;
}

export interface BundleOpenOptions {
  /**
   * Refuse a bundle with any structural damage (default true: load and serve must not use a
   * damaged bundle). verify opens with false and reports each problem by name.
   */
  strict?: boolean;
  /** Memory bound on the number of tar entries. */
  maxEntries?: number;
  /** Read a docker-archive (no OCI layout, a manifest.json) through this view (src/archive). */
  docker?: (tar: TarIndex, bytes: EntryBytes) => Promise<DockerArchiveView>;
}

export interface BlobRange {
  /** Byte offset of the blob's first byte in the bundle file. */
  offset: number;
  size: number;
  /** Content airgap made itself (a docker-archive's manifests): held in memory, not in the file. */
  data?: Buffer;
}

/**
 * Where the reader gets an entry's bytes: the bundle file, read at random offsets, or an archive
 * read once from a stream (src/archive/streamed.ts), which holds what it passed or waits for it.
 */
export interface EntryBytes {
  /** The uncompressed tar file, when there is one: serve and parallel re-hashing need random access. */
  readonly file: string | undefined;
  /** A whole entry (the caller bounds its size). */
  read(name: string, e: TarEntry | undefined): Promise<Buffer>;
  /** Bytes [offset, offset+length) of an entry; ends short if the archive does. */
  stream(name: string, e: TarEntry | undefined, offset: number, length: number, opts: { signal?: AbortSignal }): Readable;
  /** Whether an entry not seen yet may still come (a stream not read to its end). */
  pending(): boolean;
  /** The digest of an entry as it passed (streams hash what they pass), by algorithm. */
  passHash?(name: string, algorithm: string): { digest: string; bytes: number } | undefined;
  close(): Promise<void>;
}

/** What a docker-archive (docker save, podman save, skopeo docker-archive) needed airgap to make. */
export interface DockerArchiveView {
  /** The OCI index built from manifest.json. */
  index: ImageIndex;
  /** Manifests airgap built (deterministically), by digest. */
  made: Map<string, Buffer>;
  /** Config and layer digests -> the entry that holds them. */
  entries: Map<string, string>;
  /** Images with no tag: their index entries carry no name; id = the config digest. */
  untagged: string[];
  notes: string[];
}

class FileBytes implements EntryBytes {
  constructor(readonly file: string, private readonly fh: FileHandle, private readonly fileSize: () => number) {}
  async read(_name: string, e: TarEntry | undefined): Promise<Buffer> {
    return e ? readRange(this.fh, e.offset, e.size) : Buffer.alloc(0);
  }
  stream(_name: string, e: TarEntry | undefined, offset: number, length: number, opts: { signal?: AbortSignal }): Readable {
    const available = e ? Math.max(0, Math.min(length, this.fileSize() - e.offset - offset)) : 0;
    return rangeStream(this.fh, (e?.offset ?? 0) + offset, available, opts.signal ? { signal: opts.signal } : {});
  }
  pending(): boolean {
    return false;
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

const MAX_INDEX_JSON_BYTES = 16 * 1024 * 1024;

/** The names an index.json entry answers to, primary first. */
export function namesOf(d: Descriptor): string[] {
  const out: string[] = [];
  for (const k of [Annotation.ContainerdImageName, Annotation.RefName]) {
    const v = d.annotations?.[k];
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/**
 * A bundle (or any OCI layout tar: skopeo oci-archive, ctr images export, k0s bundles) opened for
 * reading in place: the tar is indexed from its headers, the small layout files are read, and blobs
 * are served as verified range reads. A read-only target for load, serve and verify.
 */
export class BundleReader implements ReadOnlyTarget {
  readonly description: string;
  private readonly refs: BundleRef[];
  private readonly madeEntries = new Map<string, TarEntry>();

  private constructor(
    readonly path: string,
    private readonly bytes: EntryBytes,
    readonly tar: TarIndex,
    /** index.json, parsed; null when it is missing or invalid (see problems). */
    readonly index: ImageIndex | null,
    /** airgap-bundle.json, parsed; null for other tools' archives or when invalid (see problems). */
    readonly metadata: BundleMetadata | null,
    /** What could not be read while opening; empty for a sound bundle. */
    readonly problems: BundleProblem[],
    /** Set when the archive is a docker-archive: the OCI view airgap made of it. */
    readonly docker: DockerArchiveView | undefined,
  ) {
    this.description = `bundle ${path}`;
    this.refs = (index?.manifests ?? []).map((descriptor, position) => {
      const names = namesOf(descriptor);
      return { name: names[0], names, descriptor, position };
    });
  }

  /** The uncompressed bundle file, when the archive is one (not a stream or a compressed file). */
  get file(): string | undefined {
    return this.bytes.file;
  }

  /** The digest an entry hashed to as a stream passed it (undefined for files: re-hash them). */
  passHash(name: string, algorithm: string): { digest: string; bytes: number } | undefined {
    return this.bytes.passHash?.(name, algorithm);
  }

  /** The entry name a blob is stored under. */
  private blobName(digest: string): string {
    return this.docker?.entries.get(digest) ?? blobPath(digest);
  }

  static async open(path: string, opts: BundleOpenOptions = {}): Promise<BundleReader> {
    const fh = await open(path, 'r');
    try {
      const tar = await indexTarHandle(fh, path, { maxEntries: opts.maxEntries });
      return await BundleReader.fromIndex(path, new FileBytes(path, fh, () => tar.fileSize), tar, opts);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /**
   * A reader over an indexed archive whose bytes come from `bytes`. For a stream, `tar` may still
   * be growing: the layout files must have been read already; blobs may come later.
   */
  static async fromIndex(path: string, bytes: EntryBytes, tar: TarIndex, opts: BundleOpenOptions = {}): Promise<BundleReader> {
    {
      const problems: BundleProblem[] = [];
      const damaged = tar.issues.some((i) => i.code === 'truncated' || i.code === 'bad-header' || i.code === 'missing-end');
      const layoutEntry = tar.files.get(BundleEntry.OciLayout);
      const indexEntry = tar.files.get(BundleEntry.Index);
      if (!layoutEntry && !indexEntry && tar.files.has(BundleEntry.DockerManifest) && opts.docker) {
        const docker = await opts.docker(tar, bytes);
        const reader = new BundleReader(path, bytes, tar, docker.index, null, problems, docker);
        if ((opts.strict ?? true) && tar.issues.some((i) => i.severity === 'error')) {
          throw new BundleDamagedError(path, tar.issues.filter((i) => i.severity === 'error').map((i) => i.message));
        }
        return reader;
      }
      if (!layoutEntry && !indexEntry && !damaged) throw notABundle(path, tar);

      const readSmall = async (e: TarEntry, max: number): Promise<Buffer | string> => {
        if (e.truncated) return `${e.rawName} is cut short by the end of the archive`;
        if (e.size > max) return `${e.rawName} is ${e.size} bytes, over the ${max}-byte limit`;
        return bytes.read(e.name, e);
      };

      if (!layoutEntry) {
        problems.push({ code: 'missing-oci-layout', entry: BundleEntry.OciLayout, message: 'the oci-layout file is missing' });
      } else {
        const b = await readSmall(layoutEntry, 4096);
        const reason = typeof b === 'string' ? b : checkOciLayout(b);
        if (reason) problems.push({ code: 'invalid-oci-layout', entry: BundleEntry.OciLayout, message: `oci-layout is invalid: ${reason}` });
      }

      let index: ImageIndex | null = null;
      if (!indexEntry) {
        problems.push({ code: 'missing-index', entry: BundleEntry.Index, message: 'index.json is missing' });
      } else {
        const b = await readSmall(indexEntry, MAX_INDEX_JSON_BYTES);
        if (typeof b === 'string') problems.push({ code: 'invalid-index', entry: BundleEntry.Index, message: b });
        else {
          try {
            const parsed = parseManifest(b, MediaType.OciIndex);
            if (parsed.kind !== 'index') throw new Error(`it is a ${parsed.mediaType}, not an image index`);
            index = parsed.index;
          } catch (e) {
            problems.push({ code: 'invalid-index', entry: BundleEntry.Index, message: `index.json is invalid: ${(e as Error).message}` });
          }
        }
      }

      let metadata: BundleMetadata | null = null;
      const metaEntry = tar.files.get(BundleEntry.Metadata);
      if (metaEntry) {
        const b = await readSmall(metaEntry, MAX_METADATA_BYTES);
        if (typeof b === 'string') problems.push({ code: 'invalid-metadata', entry: BundleEntry.Metadata, message: b });
        else {
          try {
            metadata = parseBundleMetadata(b);
          } catch (e) {
            problems.push({ code: 'invalid-metadata', entry: BundleEntry.Metadata, message: (e as Error).message });
          }
        }
      }

      const reader = new BundleReader(path, bytes, tar, index, metadata, problems, undefined);
      const byName = new Map<string, BundleRef>();
      for (const r of reader.refs) {
        for (const n of r.names) {
          const prev = byName.get(n);
          if (prev && prev.descriptor.digest !== r.descriptor.digest) {
            problems.push({ code: 'duplicate-ref', entry: BundleEntry.Index, message: `index.json names ${n} twice, for ${prev.descriptor.digest} and ${r.descriptor.digest}` });
          }
          byName.set(n, r);
        }
      }
      if ((opts.strict ?? true) && (tar.issues.some((i) => i.severity === 'error') || problems.length)) {
        throw new BundleDamagedError(path, [...tar.issues.filter((i) => i.severity === 'error').map((i) => i.message), ...problems.map((p) => p.message)]);
      }
      return reader;
    }
  }

  async close(): Promise<void> {
    await this.bytes.close();
  }

  /** Every tar entry, in archive order. */
  entries(): readonly TarEntry[] {
    return this.tar.entries;
  }

  /** The regular file at a path inside the bundle (normalized: "index.json", "blobs/sha256/…"). */
  entry(name: string): TarEntry | undefined {
    return this.tar.files.get(name);
  }

  /** The images index.json lists, in its order. */
  images(): readonly BundleRef[] {
    return this.refs;
  }

  /** Every blob the bundle holds (by digest); a docker-archive's made manifests included. */
  blobDigests(): Digest[] {
    const out: Digest[] = [];
    for (const name of this.tar.files.keys()) {
      const m = /^blobs\/([^/]+)\/([^/]+)$/.exec(name);
      if (m && isDigest(`${m[1]}:${m[2]}`)) out.push(`${m[1]}:${m[2]}` as Digest);
    }
    if (this.docker) {
      for (const d of [...this.docker.entries.keys(), ...this.docker.made.keys()]) if (!out.includes(d as Digest)) out.push(d as Digest);
    }
    return out;
  }

  /** Where a blob's bytes are in the bundle file (for serving with sendfile-like range reads). */
  blobRange(digest: string): BlobRange | undefined {
    const made = this.docker?.made.get(digest);
    if (made) return { offset: -1, size: made.byteLength, data: made };
    const e = this.blobEntry(digest);
    return e ? { offset: e.offset, size: e.size } : undefined;
  }

  /**
   * The tar entry that holds a blob. A manifest airgap made of a docker-archive has a stand-in
   * (offset -1, never read at an offset: fetch and readBlob serve it from memory).
   */
  blobEntry(digest: string): TarEntry | undefined {
    const made = this.docker?.made.get(digest);
    if (made) {
      let e = this.madeEntries.get(digest);
      if (!e) {
        e = { name: `(made)/${digest}`, rawName: '(a manifest airgap built from manifest.json)', type: 'file', typeflag: '0', headerOffset: -1, offset: -1, size: made.byteLength };
        this.madeEntries.set(digest, e);
      }
      return e;
    }
    return this.tar.files.get(this.blobName(digest));
  }

  /** A regular file of the archive, whole (`max` bounds the allocation). */
  async readEntry(name: string, max = MAX_MANIFEST_BYTES): Promise<Buffer> {
    const e = this.tar.files.get(name);
    if (!e) throw new NotFoundError(name, this.description);
    if (e.size > max) throw new SizeMismatchError(name, max, e.size, `${this.description} (over the limit for an entry read whole)`);
    return this.bytes.read(name, e);
  }

  async exists(desc: Descriptor): Promise<boolean> {
    if (this.docker?.made.has(desc.digest)) return true;
    const e = this.blobEntry(desc.digest);
    if (e) return !e.truncated;
    // A stream still being read may bring it later; an index's child manifests come before
    // layers in every layout we read, so only those are known absent early (streamed.ts).
    return this.bytes.pending() && !isManifestMediaType(desc.mediaType);
  }

  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    const made = this.docker?.made.get(desc.digest);
    const e = this.blobEntry(desc.digest);
    if (!made && !e && !this.bytes.pending()) throw new NotFoundError(desc.digest, this.description);
    const offset = opts.offset ?? 0;
    // Read the whole entry, not desc.size: an entry longer than its descriptor must fail, not be cut to fit.
    const source = made
      ? Readable.from([made.subarray(offset)])
      : this.bytes.stream(this.blobName(desc.digest), e, offset, Math.max(0, (e?.size ?? desc.size) - offset), opts.signal ? { signal: opts.signal } : {});
    const verify = new VerifyingStream(desc, { offset, prefix: opts.prefix, where: this.description });
    source.on('error', (err) => verify.destroy(err));
    return source.pipe(verify);
  }

  /** A small blob, whole and verified (size and digest). `max` bounds the allocation. */
  async readBlob(desc: Pick<Descriptor, 'digest' | 'size'>, max = MAX_MANIFEST_BYTES): Promise<Buffer> {
    const made = this.docker?.made.get(desc.digest);
    const e = made ? undefined : this.blobEntry(desc.digest);
    if (!made && !e && !this.bytes.pending()) throw new NotFoundError(desc.digest, this.description);
    if (desc.size > max) throw new SizeMismatchError(desc.digest, max, desc.size, `${this.description} (over the limit for a blob read whole)`);
    if (e && (e.size !== desc.size || e.truncated)) {
      const have = e.truncated ? Math.max(0, this.tar.fileSize - e.offset) : e.size;
      throw new SizeMismatchError(desc.digest, desc.size, have, this.description);
    }
    const data = made ?? await this.bytes.read(this.blobName(desc.digest), e);
    if (data.byteLength !== desc.size) throw new SizeMismatchError(desc.digest, desc.size, data.byteLength, this.description);
    const actual = digestOf(data, desc.digest.startsWith('sha512:') ? 'sha512' : 'sha256');
    if (actual !== desc.digest) throw new DigestMismatchError(desc.digest, actual, this.description);
    return data;
  }

  /** A manifest or index, read whole, verified and parsed. */
  async readManifest(desc: Descriptor): Promise<ParsedManifest> {
    return parseManifest(await this.readBlob(desc, MAX_MANIFEST_BYTES), desc.mediaType);
  }

  /**
   * A reference -> the image's top descriptor: a full name as annotated
   * (`registry.k8s.io/pause:3.9`), a short ref.name (`3.9`, `latest`, as skopeo oci-archive stores
   * it), a familiar name (`pause:3.9` for docker.io/library/pause:3.9), a digest, or name@digest.
   */
  async resolve(reference: string): Promise<Descriptor> {
    const exact = this.refs.find((r) => r.names.includes(reference));
    if (exact) return exact.descriptor;
    const at = reference.lastIndexOf('@');
    const digest = isDigest(reference) ? reference : at > 0 && isDigest(reference.slice(at + 1)) ? reference.slice(at + 1) : undefined;
    if (digest) {
      const byDigest = this.refs.find((r) => r.descriptor.digest === digest);
      if (byDigest) return byDigest.descriptor;
      const e = this.blobEntry(digest);
      if (e && e.size <= MAX_MANIFEST_BYTES) {
        const m = await this.readManifest({ mediaType: 'application/octet-stream', digest: digest as Digest, size: e.size }).catch(() => undefined);
        if (m && isManifestMediaType(m.mediaType)) return { mediaType: m.mediaType, digest: m.digest, size: m.size };
      }
    } else {
      const loose = this.refs.find((r) => r.names.some((n) => sameReference(n, reference)));
      if (loose) return loose.descriptor;
    }
    const known = this.refs.flatMap((r) => r.name ? [r.name] : []);
    throw new NotFoundError(reference, this.description, 'check',
      known.length ? `the bundle holds: ${known.slice(0, 8).join(', ')}${known.length > 8 ? `, … (${known.length} in all)` : ''}` : 'the bundle holds no named images');
  }
}

async function readRange(fh: FileHandle, offset: number, size: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const { bytesRead } = await fh.read(buf, got, size - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

function checkOciLayout(b: Buffer): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(b.toString('utf8'));
  } catch {
    return 'not valid JSON';
  }
  const v = (doc as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (typeof v !== 'string') return 'imageLayoutVersion is missing';
  if (!/^1\.\d+\.\d+$/.test(v)) return `imageLayoutVersion "${v}" is not 1.x`;
  return undefined;
}

function notABundle(path: string, tar: TarIndex): NotABundleError {
  if (tar.files.has('manifest.json') && tar.files.has('repositories')) {
    return new NotABundleError(path, 'a docker save archive (no OCI image layout)',
      `convert it first: skopeo copy --all docker-archive:${path} oci-archive:bundle.tar, or pack a bundle with airgap pack`);
  }
  if (tar.files.has('manifest.json')) {
    return new NotABundleError(path, 'a docker-archive tar (manifest.json without an OCI image layout)',
      `convert it first: skopeo copy docker-archive:${path} oci-archive:bundle.tar`);
  }
  const n = tar.entries.length;
  return new NotABundleError(path, `a tar archive of ${n} entr${n === 1 ? 'y' : 'ies'} without an OCI image layout (no oci-layout or index.json)`,
    'pass a bundle made by airgap pack, or an OCI layout tar (skopeo copy … oci-archive:X.tar, ctr images export)');
}
