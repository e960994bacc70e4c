import { createHash } from 'node:crypto';
import { encodeTarHeader, TAR_END_SIZE, tarHeaderSize, tarPadding } from './tar-header.js';

/**
 * A tar archive planned before any byte is written: every entry's size is known up front, so every
 * header and data offset is too. Writers can then put each entry's bytes straight at their final
 * place (in parallel, and resumably), or stream the entries in order.
 */

export interface TarEntryInput {
  name: string;
  size: number;
  /** file mode in the header (default 0644; 0755 for the executables a bundle carries) */
  mode?: number;
}

export interface TarLayoutEntry {
  readonly name: string;
  readonly size: number;
  readonly mode?: number;
  /** where the header (including any PAX header) starts */
  readonly headerOffset: number;
  readonly headerSize: number;
  /** where the entry's data starts */
  readonly dataOffset: number;
  /** the first byte after the data's padding: the next entry's headerOffset */
  readonly end: number;
}

export interface TarLayout {
  readonly entries: readonly TarLayoutEntry[];
  /** total archive size, end-of-archive blocks included */
  readonly size: number;
  /** Offset of the end-of-archive blocks. */
  readonly endOffset: number;
  /** mtime of every header */
  readonly mtime: number;
  /**
   * A short hash of every entry's name, size and data offset: two layouts with the same id put
   * the same content at the same place, so a partial file written for one is valid for the other.
   */
  readonly id: string;
}

export function planTarLayout(inputs: readonly TarEntryInput[], mtime: number): TarLayout {
  const entries: TarLayoutEntry[] = [];
  const names = new Set<string>();
  const idHash = createHash('sha256');
  let offset = 0;
  for (const e of inputs) {
    if (names.has(e.name)) throw new RangeError(`duplicate tar entry "${e.name}"`);
    names.add(e.name);
    const headerSize = tarHeaderSize(e.name);
    const dataOffset = offset + headerSize;
    const end = dataOffset + e.size + tarPadding(e.size);
    entries.push({ name: e.name, size: e.size, ...(e.mode !== undefined ? { mode: e.mode } : {}), headerOffset: offset, headerSize, dataOffset, end });
    idHash.update(`${e.name}\0${e.size}\0${dataOffset}\n`);
    offset = end;
  }
  idHash.update(`end ${offset}`);
  return { entries, size: offset + TAR_END_SIZE, endOffset: offset, mtime, id: idHash.digest('hex').slice(0, 32) };
}

/** The header bytes of one planned entry (deterministic: fixed mode, owner and mtime). */
export function layoutHeader(layout: TarLayout, entry: TarLayoutEntry): Buffer {
  const h = encodeTarHeader({ name: entry.name, size: entry.size, mtime: layout.mtime, ...(entry.mode !== undefined ? { mode: entry.mode } : {}) });
  if (h.byteLength !== entry.headerSize) throw new Error(`tar header of ${entry.name} is ${h.byteLength} bytes, planned ${entry.headerSize}`);
  return h;
}
