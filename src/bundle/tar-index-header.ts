/**
 * The pieces of a tar header we need to index an archive without reading its data: ustar fields,
 * GNU base-256 sizes, PAX records. Pure functions over 512-byte blocks.
 */

export const BLOCK = 512;

/** Round a data size up to the next block boundary. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

export interface RawHeader {
  name: string;
  size: number;
  typeflag: string;
  linkName: string;
  mode: number;
  /** "ustar" (POSIX), "gnu" (old GNU, whose prefix field holds times), or "v7" (no magic) */
  format: 'ustar' | 'gnu' | 'v7';
}

export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * The header checksum matches: the unsigned byte sum with the checksum field read as spaces.
 * Some old writers used signed bytes; both are accepted, as GNU tar and Go do.
 */
export function checksumOk(b: Uint8Array): boolean {
  const stored = parseOctal(b, 148, 8);
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

function cString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString('utf8');
}

/** An octal field (space or NUL terminated, leading spaces allowed); undefined when malformed. */
export function parseOctal(b: Uint8Array, off: number, len: number): number | undefined {
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) {
    // an all-blank field is zero (some writers leave unused fields empty)
    i++;
  }
  if (i === end) return 0;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) return undefined;
  return digits > 0 && Number.isSafeInteger(v) ? v : undefined;
}

/** A numeric field: octal, or GNU base-256 (high bit of the first byte set) for values over 8 GiB. */
export function parseNumeric(b: Uint8Array, off: number, len: number): number | undefined {
  const first = b[off]!;
  if (first & 0x80) {
    if (first === 0xff) return undefined; // negative: never valid for a size
    let v = first & 0x7f;
    for (let i = off + 1; i < off + len; i++) {
      v = v * 256 + b[i]!;
      if (!Number.isSafeInteger(v)) return undefined;
    }
    return v;
  }
  return parseOctal(b, off, len);
}

/** Decode the fields of a header block whose checksum was already checked; undefined when a field is malformed. */
export function parseHeader(b: Uint8Array): RawHeader | undefined {
  const size = parseNumeric(b, 124, 12);
  if (size === undefined) return undefined;
  const mode = parseOctal(b, 100, 8) ?? 0;
  const typeflag = b[156] === 0 ? '0' : String.fromCharCode(b[156]!);
  const magic = cString(b, 257, 6);
  const version = Buffer.from(b.buffer, b.byteOffset + 263, 2).toString('latin1');
  let format: RawHeader['format'] = 'v7';
  if (magic === 'ustar' && version === '00') format = 'ustar';
  else if (magic === 'ustar ' || (magic === 'ustar' && version !== '00')) format = 'gnu';
  let name = cString(b, 0, 100);
  if (format === 'ustar') {
    const prefix = cString(b, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return { name, size, typeflag, linkName: cString(b, 157, 100), mode, format };
}

/** PAX extended header records ("<len> <key>=<value>\n"); undefined when malformed. */
export function parsePax(data: Buffer): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // NUL padding after the last record
    const space = data.indexOf(0x20, pos);
    if (space < 0) return undefined;
    const lenText = data.toString('latin1', pos, space);
    if (!/^[0-9]+$/.test(lenText)) return undefined;
    const len = Number(lenText);
    if (len <= space - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) return undefined;
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) return undefined;
    out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}
