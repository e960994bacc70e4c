import { createHash, type Hash } from 'node:crypto';
import { InvalidDigestError } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

/** A validated "algorithm:hex" string. */
export type Digest = string & { readonly __digest: unique symbol };

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isSupportedAlgorithm(a: string): a is DigestAlgorithm {
  return a === 'sha256' || a === 'sha512';
}

/** Parse and validate a digest; unknown algorithms and malformed hex are refused with the reason. */
export function parseDigest(input: string): { algorithm: DigestAlgorithm; hex: string; digest: Digest } {
  if (typeof input !== 'string' || input.length === 0) throw new InvalidDigestError(String(input), 'empty');
  if (!DIGEST_GRAMMAR.test(input)) throw new InvalidDigestError(input, 'not of the form algorithm:encoded');
  const i = input.indexOf(':');
  const algorithm = input.slice(0, i);
  const hex = input.slice(i + 1);
  if (!isSupportedAlgorithm(algorithm)) {
    throw new InvalidDigestError(input, `unsupported algorithm "${algorithm}" (supported: sha256, sha512)`);
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) {
    throw new InvalidDigestError(input, `${algorithm} needs exactly ${HEX_LENGTH[algorithm]} lowercase hex characters`);
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
