import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digester } from '../oci/digest.js';
import type { PushOptions, Storage } from './target.js';

/**
 * A destination that can take a blob in pieces: it remembers how much of a blob it already holds
 * (from an interrupted attempt in this run, or a checkpoint of an earlier run), so a copy fetches
 * only the rest (a Range request) and the whole is still verified.
 */

/** Bytes [0, offset) of a blob are stored; `prefix` is their hash state. */
export interface IngestState {
  offset: number;
  prefix: Digester;
}

export interface ResumablePushOptions extends PushOptions {
  /** The content stream starts at this offset; bytes before it are already stored. */
  offset?: number;
  /** hash state of bytes [0, offset), so the whole blob is verified */
  prefix?: Digester;
}

export interface ResumableStorage extends Storage {
  /** What is already stored of desc, or undefined to start from 0. Each call returns a fresh copy. */
  ingestState(desc: Descriptor): Promise<IngestState | undefined>;
  push(desc: Descriptor, content: Readable, opts?: ResumablePushOptions): Promise<void>;
}

export function isResumableStorage(s: Storage): s is ResumableStorage {
  return typeof (s as Partial<ResumableStorage>).ingestState === 'function';
}
