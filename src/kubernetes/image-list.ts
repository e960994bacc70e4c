import { open } from 'node:fs/promises';
import { parseReference } from '../oci/reference.js';
import { quote } from './quote.js';
import { EmptyImageListError, ImageListFileError, InvalidImageListError } from './errors.js';

/** One image of a list file. */
export interface ListEntry {
  /** normalized: nginx -> docker.io/library/nginx:latest */
  ref: string;
  /** 1-based line number in the source */
  line: number;
  /** the reference as written, without comment and surrounding white space */
  text: string;
}

/** A list is a handful of lines; anything this big is the wrong file. */
export const MAX_IMAGE_LIST_BYTES = 16 * 1024 * 1024;
const MAX_REPORTED = 5;

interface BadLine {
  line: number;
  text: string;
  reason: string;
}

/**
 * Parse a plain image list: one reference a line; "#" starts a comment (a whole line, or after white
 * space); blank lines, CRLF, a BOM and surrounding white space are fine; duplicates (after
 * normalization) keep their first line. Every bad line is reported, the first few by line number.
 */
export function parseImageList(text: string, source: string): ListEntry[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const entries: ListEntry[] = [];
  const seen = new Set<string>();
  const bad: BadLine[] = [];
  const lines = body.split(/\r\n|\n|\r/);
  lines.forEach((raw, i) => {
    const written = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!written) return;
    let ref: string;
    try {
      ref = parseReference(written).toString();
    } catch (e) {
      const reason = (e as { details?: { reason?: unknown } }).details?.reason;
      bad.push({ line: i + 1, text: written, reason: typeof reason === 'string' ? reason : (e as Error).message });
      return;
    }
    if (seen.has(ref)) return;
    seen.add(ref);
    entries.push({ ref, line: i + 1, text: written });
  });

  if (bad.length > 0) {
    const first = bad[0] as BadLine;
    const more = bad.length > 1
      ? ` (and ${bad.length - 1} more invalid line${bad.length > 2 ? 's' : ''}: ${bad.slice(1, MAX_REPORTED + 1).map((b) => b.line).join(', ')}${bad.length > MAX_REPORTED + 1 ? ', …' : ''})`
      : '';
    throw new InvalidImageListError(`${source}:${first.line}: invalid image reference ${quote(first.text)}: ${first.reason}${more}`, {
      hint: 'write one image reference a line, e.g. registry.k8s.io/pause:3.9; start comments with "#"',
      details: { source, invalid: bad },
    });
  }
  if (entries.length === 0) throw new EmptyImageListError(source);
  return entries;
}

/** Decode a list file's bytes: UTF-8 (with or without BOM) or UTF-16 with a BOM, as PowerShell's ">" writes. */
export function decodeImageListBytes(bytes: Uint8Array, source: string): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  if (bytes.includes(0)) {
    throw new ImageListFileError('ERR_IMAGE_LIST_NOT_TEXT', source, 'it holds NUL bytes, so it is not a text file', {
      hint: 'pass a plain text file with one image reference a line (is this a bundle or an archive?)',
    });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (e) {
    throw new ImageListFileError('ERR_IMAGE_LIST_NOT_TEXT', source, 'it is not UTF-8 text', {
      hint: 'save the list as UTF-8 text with one image reference a line',
      cause: e,
    });
  }
}

function fileError(e: unknown, path: string): ImageListFileError {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return new ImageListFileError('ERR_IMAGE_LIST_NOT_FOUND', path, 'no such file', { hint: 'check the path given to --images-file', cause: e });
    case 'EISDIR':
      return new ImageListFileError('ERR_IMAGE_LIST_IS_DIRECTORY', path, 'it is a directory, expected a text file', {
        hint: 'point --images-file at the list file itself',
        cause: e,
      });
    case 'ENOTDIR':
      return new ImageListFileError('ERR_IMAGE_LIST_NOT_FOUND', path, 'a part of the path is not a directory', { cause: e });
    case 'EACCES':
    case 'EPERM':
      return new ImageListFileError('ERR_IMAGE_LIST_UNREADABLE', path, 'permission denied', {
        hint: 'make the file readable for this user',
        cause: e,
      });
    default:
      return new ImageListFileError('ERR_IMAGE_LIST_UNREADABLE', path, (e as Error).message, { cause: e, details: { errno: code } });
  }
}

async function readCapped(read: (buf: Buffer) => Promise<number>, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(64 * 1024);
    const n = await read(buf);
    if (n === 0) break;
    total += n;
    if (total > MAX_IMAGE_LIST_BYTES) {
      throw new ImageListFileError('ERR_IMAGE_LIST_TOO_LARGE', path, `it is larger than ${MAX_IMAGE_LIST_BYTES / 1024 / 1024} MiB, too large for an image list`, {
        hint: 'pass a plain text file with one image reference a line',
      });
    }
    chunks.push(buf.subarray(0, n));
  }
  return Buffer.concat(chunks, total);
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    total += b.length;
    if (total > MAX_IMAGE_LIST_BYTES) {
      throw new ImageListFileError('ERR_IMAGE_LIST_TOO_LARGE', '<stdin>', 'the input is too large for an image list');
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, total);
}

/** Read and parse a list file; "-" reads standard input. File problems are ImageListFileErrors (exit 3). */
export async function readImageList(path: string): Promise<ListEntry[]> {
  if (path === '-') return parseImageList(decodeImageListBytes(await readStdin(), '<stdin>'), '<stdin>');
  let bytes: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      // Opening a directory for reading succeeds on Linux; say so before the read fails vaguely.
      if ((await fh.stat()).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      bytes = await readCapped(async (buf) => (await fh.read(buf, 0, buf.length, null)).bytesRead, path);
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof ImageListFileError) throw e;
    throw fileError(e, path);
  }
  return parseImageList(decodeImageListBytes(bytes, path), path);
}
