import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digester } from '../oci/digest.js';

/**
 * The small interfaces every place images live implements: a remote registry repository, the
 * bundle being written, the bundle being read, a node registry, containerd. pack, load, verify and
 * serve are copies or walks between them (see copy-graph.ts).
 */

export interface FetchOptions {
  signal?: AbortSignal;
  /** Start at this byte offset (resume). The stream then yields bytes [offset, size). */
  offset?: number;
  /**
   * The hash state of bytes [0, offset), so a resumed stream can still verify the whole blob.
   * Without it, a stream that starts past 0 checks only the size.
   */
  prefix?: Digester;
}

export interface Fetcher {
  /**
   * The content a descriptor names, as a stream that is verified as it passes: it errors with
   * SizeMismatchError as soon as more than desc.size bytes arrive or it ends short, and with
   * DigestMismatchError at the end when the hash differs. It never ends cleanly on wrong bytes.
   */
  fetch(desc: Descriptor, opts?: FetchOptions): Promise<Readable>;
}

export interface ReadOnlyStorage extends Fetcher {
  /** What this is, for messages: "registry.k8s.io/pause (http://127.0.0.1:5000)", "bundle k8s.tar". */
  readonly description: string;
  exists(desc: Descriptor): Promise<boolean>;
}

export interface PushOptions {
  signal?: AbortSignal;
}

export interface Pusher {
  /**
   * Store content under desc. The content is verified where it lands (size, then digest) and only
   * made visible under its digest when it matched; a failure leaves nothing behind.
   */
  push(desc: Descriptor, content: Readable, opts?: PushOptions): Promise<void>;
}

export interface Storage extends ReadOnlyStorage, Pusher {}

export interface Resolver {
  /** A reference meaningful to the target (a tag, a digest, or a full image reference) -> the root descriptor. */
  resolve(reference: string, opts?: { signal?: AbortSignal }): Promise<Descriptor>;
}

export interface Tagger {
  /** Point a reference at content already stored. */
  tag(desc: Descriptor, reference: string, opts?: { signal?: AbortSignal }): Promise<void>;
}

export interface TagLister {
  tags(opts?: { signal?: AbortSignal }): Promise<string[]>;
}

export interface ReadOnlyTarget extends ReadOnlyStorage, Resolver {}

export interface Target extends Storage, Resolver, Tagger {}
