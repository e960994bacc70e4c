/**
 * Deterministic tar headers for the bundle writer: POSIX ustar, one regular file per entry, fixed
 * mode/owner/time, and a PAX `path` record only when a name does not fit ustar's name/prefix fields.
 * Sizes beyond ustar's 11 octal digits (8 GiB) use the base-256 form GNU tar, Go and tar-stream read.
 */

export const TAR_BLOCK = 512;
/** Two zero blocks end an archive. */
export const TAR_END_SIZE = 2 * TAR_BLOCK;

const MAX_OCTAL_SIZE = 0o77777777777;

export interface TarHeaderFields {
  name: string;
  size: number;
  /** seconds since the epoch */
  mtime: number;
  /** default 0o644 */
  mode?: number;
}

/** Bytes of zero padding after `size` bytes of data, up to the next block boundary. */
export function tarPadding(size: number): number {
  const r = size % TAR_BLOCK;
  return r === 0 ? 0 : TAR_BLOCK - r;
}

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const b = Buffer.from(value, 'utf8');
  if (b.byteLength > length) throw new RangeError(`tar field of ${length} bytes cannot hold "${value}"`);
  b.copy(buf, offset);
}

/** Zero-padded octal with a trailing NUL, filling the field (ustar's numeric format). */
function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  writeString(buf, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/** Base-256 (GNU) for values too large for octal: high bit of the first byte set, big-endian. */
function writeBase256(buf: Buffer, offset: number, length: number, value: number): void {
  let v = BigInt(value);
  for (let i = offset + length - 1; i > offset; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[offset] = 0x80;
}

/** Split a name into ustar's prefix (155) and name (100) at a '/', or undefined when impossible. */
function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest) return { prefix, name: rest };
  }
  return undefined;
}

function ustarBlock(fields: { name: string; prefix: string; size: number; mtime: number; mode: number; type: string }): Buffer {
  const h = Buffer.alloc(TAR_BLOCK);
  writeString(h, 0, 100, fields.name);
  writeOctal(h, 100, 8, fields.mode);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  if (fields.size > MAX_OCTAL_SIZE) writeBase256(h, 124, 12, fields.size);
  else writeOctal(h, 124, 12, fields.size);
  writeOctal(h, 136, 12, fields.mtime);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  writeString(h, 156, 1, fields.type);
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  // uname/gname stay empty; devmajor/devminor as zero octal like GNU and Go write them
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  writeString(h, 345, 155, fields.prefix);
  let sum = 0;
  for (const byte of h) sum += byte;
  writeString(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** One PAX record "<len> key=value\n", where len counts the whole record including itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/**
 * The header bytes of one regular-file entry: 512 bytes, or more when a PAX extended header is
 * needed for a long name. The data follows, then tarPadding(size) zero bytes.
 */
export function encodeTarHeader(f: TarHeaderFields): Buffer {
  if (!Number.isSafeInteger(f.size) || f.size < 0) throw new RangeError(`invalid tar entry size ${f.size}`);
  if (!Number.isSafeInteger(f.mtime) || f.mtime < 0 || f.mtime > 0o77777777777) throw new RangeError(`invalid tar mtime ${f.mtime}`);
  if (!f.name || f.name.startsWith('/') || f.name.split('/').includes('..')) throw new RangeError(`invalid tar entry name "${f.name}"`);
  const mode = f.mode ?? 0o644;
  const split = splitUstarName(f.name);
  if (split) return ustarBlock({ ...split, size: f.size, mtime: f.mtime, mode, type: '0' });
  const pax = Buffer.from(paxRecord('path', f.name), 'utf8');
  const base = f.name.slice(f.name.lastIndexOf('/') + 1);
  const paxName = `PaxHeaders/${base}`.slice(0, 100);
  const shortName = base.slice(0, 100);
  return Buffer.concat([
    ustarBlock({ name: paxName, prefix: '', size: pax.byteLength, mtime: f.mtime, mode, type: 'x' }),
    pax,
    Buffer.alloc(tarPadding(pax.byteLength)),
    ustarBlock({ name: shortName, prefix: '', size: f.size, mtime: f.mtime, mode, type: '0' }),
  ]);
}

/** The length encodeTarHeader would return for this name, without building it. */
export function tarHeaderSize(name: string): number {
  if (splitUstarName(name)) return TAR_BLOCK;
  const pax = Buffer.byteLength(paxRecord('path', name));
  return TAR_BLOCK + pax + tarPadding(pax) + TAR_BLOCK;
}
