import { createCipheriv, createHash } from 'node:crypto';

/**
 * Deterministic pseudo-random bytes: AES-256-CTR over zeros, keyed by sha256(seed, label). Fast
 * (GB/s, so big layers cost nothing to invent) and the same (seed, label) always gives the same
 * stream, which is what makes generated digests reproducible.
 */
export class Prng {
  private readonly cipher;

  constructor(seed: string, label: string) {
    const key = createHash('sha256').update(seed).update('\0').update(label).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  bytes(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }

  /** A uniform integer in [0, max). */
  int(max: number): number {
    return this.bytes(4).readUInt32BE() % max;
  }

  /** Printable words, compressible like real text files. */
  text(n: number): string {
    const words = ['kube', 'node', 'image', 'layer', 'pod', 'etcd', 'dns', 'proxy', 'sched', 'api', 'the', 'and', 'of', 'license', 'go', 'runtime'];
    let out = '';
    while (out.length < n) out += words[this.int(words.length)]! + (this.int(12) === 0 ? '\n' : ' ');
    return out.slice(0, n);
  }
}
