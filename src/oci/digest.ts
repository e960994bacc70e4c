import { createHash, type Hash } from 'node:crypto';
import { InvalidDigestError } from './errors.js';
import { show } from './show.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

/** A validated "algorithm:hex" string. */
export type Digest = string & { readonly __digest: unique symbol };

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
/** The OCI descriptor grammar for an algorithm name; anything else cannot be a digest at all. */
const ALGORITHM_GRAMMAR = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/;

export function isSupportedAlgorithm(a: string): a is DigestAlgorithm {
  return a === 'sha256' || a === 'sha512';
}

/** Parse and validate a digest; unknown algorithms and malformed hex are refused with the reason. */
export function parseDigest(input: string): { algorithm: DigestAlgorithm; hex: string; digest: Digest } {
  if (typeof input !== 'string') throw new InvalidDigestError(String(input), `not a string but ${show(input)}`);
  if (input.length === 0) throw new InvalidDigestError(input, 'empty');
  const i = input.indexOf(':');
  if (i < 0) throw new InvalidDigestError(input, 'no ":" between the algorithm and the hex, e.g. sha256:<64 hex>');
  const algorithm = input.slice(0, i);
  const hex = input.slice(i + 1);
  if (!isSupportedAlgorithm(algorithm)) {
    if (isSupportedAlgorithm(algorithm.toLowerCase())) {
      throw new InvalidDigestError(input, `algorithm ${show(algorithm)} must be lowercase`);
    }
    if (!ALGORITHM_GRAMMAR.test(algorithm)) throw new InvalidDigestError(input, `algorithm ${show(algorithm)} is malformed`);
    throw new InvalidDigestError(input, `unsupported algorithm ${show(algorithm)} (supported: sha256, sha512)`);
  }
  const want = HEX_LENGTH[algorithm];
  const bad = /[^0-9a-f]/.exec(hex);
  if (bad) {
    const what = /[A-F]/.test(bad[0]) ? 'uppercase hex is not allowed' : `${show(bad[0])} is not a hex digit`;
    throw new InvalidDigestError(input, `${algorithm} needs ${want} lowercase hex characters; ${what}`);
  }
  if (hex.length !== want) {
    throw new InvalidDigestError(input, `${algorithm} needs exactly ${want} lowercase hex characters, got ${hex.length}`);
  }
  return { algorithm, hex, digest: input as Digest };
}

export function isDigest(input: unknown): input is Digest {
  if (typeof input !== 'string') return false;
  try {
    parseDigest(input);
    return true;
  } catch {
    return false;
  }
}

export function digestAlgorithm(d: string): DigestAlgorithm {
  return parseDigest(d).algorithm;
}

export function digestHex(d: string): string {
  return parseDigest(d).hex;
}

/** Digest of bytes held in memory (manifests, configs). */
export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

/** Incremental hasher for streamed content. */
export class Digester {
  private readonly hash: Hash;
  private bytes = 0;
  constructor(readonly algorithm: DigestAlgorithm = 'sha256') {
    this.hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
  }
  get size(): number {
    return this.bytes;
  }
  /** Finish; the digester cannot be used afterwards. */
  digest(): Digest {
    return `${this.algorithm}:${this.hash.digest('hex')}` as Digest;
  }
  /** A copy of the state so far, e.g. to checkpoint a resumable download. */
  copy(): Digester {
    const d = new Digester(this.algorithm);
    (d as unknown as { hash: Hash }).hash = this.hash.copy();
    d.bytes = this.bytes;
    return d;
  }
}
