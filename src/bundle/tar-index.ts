import { open, type FileHandle } from 'node:fs/promises';
import { BLOCK, checksumOk, isZeroBlock, padded, parseHeader, parsePax } from './tar-index-header.js';
import { NotARegularFileError, NotATarError, TarLimitError } from './tar-index-errors.js';
import { describeNonTar } from './tar-index-sniff.js';

/**
 * Index a tar archive by reading its headers only: 512-byte header reads and seeks past the data,
 * so a bundle of many GB is indexed in milliseconds and no layer byte is read. Understands ustar,
 * PAX (`path`, `linkpath`, `size`) and GNU long names; reports everything that makes an archive
 * unsafe or damaged instead of throwing, so `verify` can name it. Only input that is not a tar at
 * all, or beyond our memory bounds, throws.
 */

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char-device' | 'block-device' | 'fifo' | 'unsupported';

export interface TarEntry {
  /** The path, normalized: no leading "./", no trailing "/", no empty or "." components. */
  name: string;
  /** The path exactly as stored (after PAX or GNU long-name headers). */
  rawName: string;
  type: TarEntryType;
  /** The tar type flag as stored ("0", "5", "2", …). */
  typeflag: string;
  /** Offset of the entry's first header block (including PAX or GNU long-name headers before it). */
  headerOffset: number;
  /** Offset of the first data byte. */
  offset: number;
  /** Data size the header declares. */
  size: number;
  linkName?: string;
  /** The archive ends inside this entry's data: fewer than `size` bytes are present. */
  truncated?: boolean;
}

export type TarIssueCode =
  | 'unsafe-path'
  | 'link'
  | 'special-file'
  | 'duplicate'
  | 'truncated'
  | 'bad-header'
  | 'missing-end'
  | 'trailing-data'
  | 'unsupported-type';

export interface TarIssue {
  code: TarIssueCode;
  severity: 'error' | 'warning';
  message: string;
  /** The entry it concerns, as stored. */
  entry?: string;
  /** Byte offset in the archive where the problem is. */
  offset: number;
}

export interface TarIndex {
  path: string;
  fileSize: number;
  /** Every entry in archive order, directories included. */
  entries: TarEntry[];
  issues: TarIssue[];
  /** Regular files by normalized name; for a duplicated name the last one wins, as extraction would. */
  files: Map<string, TarEntry>;
  /** Where the archive proper ends: after the end-of-archive marker, or where reading had to stop. */
  end: number;
  truncated: boolean;
}

export interface IndexTarOptions {
  /** Refuse archives with more entries than this (memory bound). */
  maxEntries?: number;
  /** Fill this index as entries are read (a stream's readers look at it while it grows). */
  into?: TarIndex;
}

/** An index to fill: empty, for one archive. */
export function emptyTarIndex(path: string): TarIndex {
  return { path, fileSize: 0, entries: [], issues: [], files: new Map(), end: 0, truncated: false };
}

export const MAX_TAR_ENTRIES = 1_000_000;
/** PAX records and GNU long names are read into memory; real ones are a few hundred bytes. */
const MAX_META_BYTES = 1024 * 1024;
const WINDOW = 64 * 1024;

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere that matters
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

/**
 * Where the indexer gets its bytes: a file read at random offsets (headers only; data is skipped)
 * or a stream read once, front to back (data is handed to whoever consumes the entry). Positions
 * only move forward.
 */
export interface TarBytes {
  /** Bytes [pos, pos+len): fewer only when the input ends first. */
  bytes(pos: number, len: number): Promise<Buffer>;
  /** The entry's data [pos, pos+len) is passed over; returns how many of its bytes the input holds. */
  data(entry: TarEntry, pos: number, len: number): Promise<number>;
  /** The input's size: known for a file; for a stream, the bytes seen so far (exact once it ended). */
  size(): number;
  /** Whether the input ends at or before `pos` (a stream reads ahead to know). */
  endsBy(pos: number): Promise<boolean>;
  /** Consume the rest (a stream must be read to its end); returns whether any of it is non-zero, looking at most `look` bytes. */
  rest(pos: number, look: number): Promise<boolean>;
}

/** Reads header blocks through a window, so runs of small entries cost one read. */
class BlockReader implements TarBytes {
  private buf = Buffer.alloc(0);
  private start = 0;
  constructor(private readonly fh: FileHandle, private readonly fileSize: number) {}

  size(): number {
    return this.fileSize;
  }

  async endsBy(pos: number): Promise<boolean> {
    return pos >= this.fileSize;
  }

  async data(_entry: TarEntry, pos: number, len: number): Promise<number> {
    return Math.max(0, Math.min(len, this.fileSize - pos));
  }

  async rest(pos: number, look: number): Promise<boolean> {
    if (pos >= this.fileSize) return false;
    const tail = await this.bytes(pos, Math.min(this.fileSize - pos, look));
    return tail.some((b) => b !== 0);
  }

  async bytes(pos: number, len: number): Promise<Buffer> {
    if (pos >= this.start && pos + len <= this.start + this.buf.length) {
      return this.buf.subarray(pos - this.start, pos - this.start + len);
    }
    if (pos >= this.fileSize) return Buffer.alloc(0);
    const want = Math.min(Math.max(len, WINDOW), this.fileSize - pos);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(buf, got, want - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.buf = buf.subarray(0, got);
    this.start = pos;
    return this.buf.subarray(0, Math.min(len, got));
  }
}

/** Normalize a stored path; `unsafe` says why extracting it would write outside the target directory. */
export function normalizeEntryName(raw: string): { name: string; unsafe?: string } {
  const unsafe = raw.startsWith('/')
    ? 'is an absolute path'
    : raw.split(/[/\\]/).includes('..')
      ? 'has a ".." component'
      : /^[a-zA-Z]:[/\\]/.test(raw)
        ? 'is an absolute Windows path'
        : undefined;
  const name = raw.split('/').filter((p) => p !== '' && p !== '.').join('/');
  return unsafe ? { name, unsafe } : { name };
}

export async function indexTar(path: string, opts: IndexTarOptions = {}): Promise<TarIndex> {
  const fh = await open(path, 'r');
  try {
    return await indexTarHandle(fh, path, opts);
  } finally {
    await fh.close();
  }
}

/** Index an archive through an open handle (the reader keeps its handle for later range reads). */
export async function indexTarHandle(fh: FileHandle, path: string, opts: IndexTarOptions = {}): Promise<TarIndex> {
  const st = await fh.stat();
  if (st.isDirectory()) throw new NotARegularFileError(path, 'a directory');
  if (!st.isFile()) throw new NotARegularFileError(path, st.isFIFO() ? 'a pipe' : 'a device');
  return indexTarBytes(new BlockReader(fh, st.size), path, opts);
}

/** Index an archive from any byte source: the same walk, the same issues, for files and streams. */
export async function indexTarBytes(reader: TarBytes, path: string, opts: IndexTarOptions = {}): Promise<TarIndex> {
  const maxEntries = opts.maxEntries ?? MAX_TAR_ENTRIES;
  const out = opts.into ?? emptyTarIndex(path);
  const { entries, issues, files } = out;
  const seen = new Map<string, TarEntry>();
  let truncated = false;

  const notATar = async (): Promise<never> => {
    const head = await reader.bytes(0, BLOCK);
    const d = describeNonTar(head, reader.size());
    throw new NotATarError(path, d.what, d.hint);
  };
  if ((await reader.bytes(0, BLOCK)).length < BLOCK) await notATar();

  let pos = 0;
  // Attributes from PAX / GNU long-name headers, applying to the next real entry.
  let pending: { path?: string; linkpath?: string; size?: number; start: number } | undefined;
  let end = 0;

  for (;;) {
    const block = await reader.bytes(pos, BLOCK);
    if (block.length < BLOCK) {
      const fileSize = reader.size();
      truncated = true;
      const last = entries.at(-1);
      issues.push(pos >= fileSize
        ? {
          code: 'missing-end',
          severity: 'error',
          offset: fileSize,
          message: `the archive ends at byte ${fileSize}${last ? ` after entry ${last.rawName}` : ''} without the end-of-archive marker: it is truncated`,
        }
        : {
          code: 'truncated',
          severity: 'error',
          offset: pos,
          message: `the archive ends at byte ${fileSize}, inside a header block that starts at byte ${pos} (${fileSize - pos} of 512 bytes present)`,
        });
      end = fileSize;
      break;
    }
    if (isZeroBlock(block)) {
      if (pos === 0) await notATar();
      end = pos;
      const next = await reader.bytes(pos + BLOCK, BLOCK);
      if (next.length === BLOCK) {
        if (!isZeroBlock(next)) {
          issues.push({ code: 'bad-header', severity: 'error', offset: pos, message: `a lone zero block at byte ${pos} is followed by more data: the archive is damaged there` });
          await reader.rest(pos + 2 * BLOCK, 0);
          break;
        }
        await checkTrailing(reader, pos + 2 * BLOCK, issues);
      }
      // One zero block and then the end of the file: accepted, as GNU tar and Go do.
      break;
    }
    if (!checksumOk(block)) {
      if (pos === 0) await notATar();
      issues.push({
        code: 'bad-header',
        severity: 'error',
        offset: pos,
        message: `the tar header at byte ${pos} is corrupt (checksum mismatch)${entries.length ? ` after entry ${entries.at(-1)!.rawName}` : ''}; nothing after it can be read`,
      });
      end = pos;
      await reader.rest(pos, 0);
      break;
    }
    const h = parseHeader(block);
    if (!h) {
      if (pos === 0) await notATar();
      issues.push({ code: 'bad-header', severity: 'error', offset: pos, message: `the tar header at byte ${pos} has a malformed size field` });
      end = pos;
      await reader.rest(pos, 0);
      break;
    }
    const dataStart = pos + BLOCK;
    const start = pending?.start ?? pos;

    if (h.typeflag === 'x' || h.typeflag === 'g' || h.typeflag === 'L' || h.typeflag === 'K') {
      if (h.size > MAX_META_BYTES) {
        throw new TarLimitError(path, `the ${h.typeflag === 'x' || h.typeflag === 'g' ? 'PAX' : 'GNU long-name'} header at byte ${pos} declares ${h.size} bytes (limit ${MAX_META_BYTES})`);
      }
      const data = Buffer.from(await reader.bytes(dataStart, h.size));
      if (data.length < h.size) {
        const fileSize = reader.size();
        truncated = true;
        issues.push({ code: 'truncated', severity: 'error', offset: fileSize, message: `the archive ends at byte ${fileSize}, inside an extended header that starts at byte ${pos}` });
        end = fileSize;
        break;
      }
      pending ??= { start };
      if (h.typeflag === 'L' || h.typeflag === 'K') {
        const nul = data.indexOf(0);
        const text = data.toString('utf8', 0, nul < 0 ? data.length : nul);
        if (h.typeflag === 'L') pending.path = text;
        else pending.linkpath = text;
      } else {
        const rec = parsePax(data);
        if (!rec) {
          issues.push({ code: 'bad-header', severity: 'error', offset: pos, message: `the PAX header at byte ${pos} is malformed; nothing after it can be read` });
          end = pos;
          await reader.rest(pos, 0);
          break;
        }
        // Global headers ('g') would apply to every later entry; path and size never make sense there.
        if (h.typeflag === 'x') {
          const p = rec.get('path');
          if (p !== undefined) pending.path = p;
          const l = rec.get('linkpath');
          if (l !== undefined) pending.linkpath = l;
          const s = rec.get('size');
          if (s !== undefined) {
            if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) {
              issues.push({ code: 'bad-header', severity: 'error', offset: pos, message: `the PAX header at byte ${pos} has an invalid size "${s}"` });
              end = pos;
              await reader.rest(pos, 0);
              break;
            }
            pending.size = Number(s);
          }
        }
      }
      pos = dataStart + padded(h.size);
      continue;
    }

    if (entries.length >= maxEntries) {
      throw new TarLimitError(path, `more than ${maxEntries} entries`);
    }
    const rawName = pending?.path ?? h.name;
    const size = pending?.size ?? h.size;
    const linkName = pending?.linkpath ?? h.linkName;
    pending = undefined;
    let type: TarEntryType = TYPES[h.typeflag] ?? 'unsupported';
    if (type === 'file' && rawName.endsWith('/')) type = 'directory'; // old writers mark directories by the slash only
    const { name, unsafe } = normalizeEntryName(rawName);
    const entry: TarEntry = { name, rawName, type, typeflag: h.typeflag, headerOffset: start, offset: dataStart, size };
    if (type === 'symlink' || type === 'hardlink') entry.linkName = linkName;
    entries.push(entry);

    if (unsafe) {
      issues.push({ code: 'unsafe-path', severity: 'error', offset: start, entry: rawName, message: `entry "${rawName}" ${unsafe}: extracting it would write outside the target directory` });
    }
    if (type === 'symlink' || type === 'hardlink') {
      issues.push({ code: 'link', severity: 'error', offset: start, entry: rawName, message: `entry "${rawName}" is a ${type === 'symlink' ? 'symbolic' : 'hard'} link to "${linkName}"; a bundle holds regular files only` });
    } else if (type === 'char-device' || type === 'block-device' || type === 'fifo') {
      issues.push({ code: 'special-file', severity: 'error', offset: start, entry: rawName, message: `entry "${rawName}" is a ${type.replace('-', ' ')}; a bundle holds regular files only` });
    } else if (type === 'unsupported') {
      issues.push({ code: 'unsupported-type', severity: 'error', offset: start, entry: rawName, message: `entry "${rawName}" has tar type "${h.typeflag}" (${h.typeflag === 'S' ? 'a GNU sparse file' : 'not a regular file'}); a bundle holds regular files only` });
    }
    const prev = seen.get(name);
    if (prev && !(prev.type === 'directory' && type === 'directory')) {
      issues.push({
        code: 'duplicate',
        severity: 'error',
        offset: start,
        entry: rawName,
        message: `entry "${rawName}" appears twice (at bytes ${prev.headerOffset} and ${start}); tools disagree on which copy counts`,
      });
    }
    seen.set(name, entry);
    if (type === 'file') files.set(name, entry);

    // Links, directories and devices carry no data even if a (hostile) header says otherwise.
    const dataSize = type === 'file' || type === 'unsupported' ? size : 0;
    const present = await reader.data(entry, dataStart, dataSize);
    if (present < dataSize) {
      const fileSize = reader.size();
      truncated = true;
      entry.truncated = true;
      issues.push({
        code: 'truncated',
        severity: 'error',
        offset: fileSize,
        entry: rawName,
        message: `the archive ends at byte ${fileSize}, inside entry ${rawName} (${fileSize - dataStart} of its ${size} bytes present)`,
      });
      end = fileSize;
      break;
    }
    pos = dataStart + padded(dataSize);
  }
  out.fileSize = reader.size();
  out.end = end;
  out.truncated = truncated;
  return out;
}

/** Bytes after the end-of-archive marker: zero padding is normal (GNU tar pads to 10 KiB); data is not. */
async function checkTrailing(reader: TarBytes, from: number, issues: TarIssue[]): Promise<void> {
  if (await reader.endsBy(from)) return;
  if (await reader.rest(from, 1024 * 1024)) {
    const fileSize = reader.size();
    issues.push({
      code: 'trailing-data',
      severity: 'warning',
      offset: from,
      message: `${fileSize - from} bytes follow the end-of-archive marker at byte ${from}; tar readers ignore them (two archives concatenated?)`,
    });
  }
}
