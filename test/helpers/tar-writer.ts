/**
 * A small tar writer for tests, independent of the product's writer so the reader is tested
 * against the format rather than against our own writer — and able to write what no sane writer
 * would: links, devices, "../" paths, duplicate entries, lying sizes, GNU long names.
 */

export type TestEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char-device' | 'block-device' | 'fifo';

const TYPEFLAG: Record<TestEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  'char-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

export interface TestTarEntry {
  name: string;
  data?: Buffer;
  type?: TestEntryType;
  /** A raw type flag, overriding `type` (e.g. "S" for a GNU sparse file). */
  typeflag?: string;
  linkName?: string;
  /** Long names: a PAX `path` record (default) or a GNU "L" entry. */
  longNames?: 'pax' | 'gnu';
  /** Extra PAX records for this entry. */
  pax?: Record<string, string>;
  mtime?: number;
}

export interface WrittenEntry {
  name: string;
  headerOffset: number;
  dataOffset: number;
  size: number;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

export function header(name: string, size: number, typeflag: string, linkName = '', mtime = 0): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(mtime, 12), 136, 'latin1');
  h.fill(0x20, 148, 156);
  h.write(typeflag, 156, 'latin1');
  h.write(linkName, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Build a tar in memory; `end: false` leaves out the end-of-archive marker. */
export function buildTar(entries: TestTarEntry[], opts: { end?: boolean } = {}): { buffer: Buffer; entries: WrittenEntry[] } {
  const parts: Buffer[] = [];
  const written: WrittenEntry[] = [];
  let pos = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    pos += b.length;
  };
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const typeflag = e.typeflag ?? TYPEFLAG[e.type ?? 'file'];
    const headerOffset = pos;
    let name = e.name;
    const records: string[] = Object.entries(e.pax ?? {}).map(([k, v]) => paxRecord(k, v));
    if (Buffer.byteLength(name) > 100) {
      if (e.longNames === 'gnu') {
        const long = Buffer.from(`${name}\0`);
        push(header('././@LongLink', long.length, 'L'));
        push(long);
        push(pad(long.length));
      } else {
        records.push(paxRecord('path', name));
      }
      name = name.slice(0, 100);
    }
    if (records.length) {
      const body = Buffer.from(records.join(''));
      push(header(`PaxHeaders/${name.slice(0, 80)}`, body.length, 'x'));
      push(body);
      push(pad(body.length));
    }
    const carriesData = typeflag === '0' || typeflag === 'S';
    push(header(name, carriesData ? data.length : 0, typeflag, e.linkName ?? '', e.mtime ?? 0));
    const dataOffset = pos;
    if (carriesData) {
      push(data);
      push(pad(data.length));
    }
    written.push({ name: e.name, headerOffset, dataOffset, size: carriesData ? data.length : 0 });
  }
  if (opts.end ?? true) push(Buffer.alloc(1024));
  return { buffer: Buffer.concat(parts), entries: written };
}
