import { AirgapError, type ErrorKind } from '../errors.js';

/** Content whose bytes do not hash to the digest that names it. */
export class DigestMismatchError extends AirgapError {
  constructor(readonly expected: string, readonly actual: string, where: string, kind: ErrorKind = 'check') {
    super('ERR_DIGEST_MISMATCH', kind, `content from ${where} does not match its digest: expected ${expected}, got ${actual}`, {
      hint: 'the source is corrupt or was tampered with; fetch it again from a trusted source',
      details: { digest: expected, actual, where },
    });
  }
}

/** Content longer or shorter than its descriptor says. */
export class SizeMismatchError extends AirgapError {
  constructor(readonly digest: string, readonly expected: number, readonly actual: number, where: string, kind: ErrorKind = 'check') {
    super(
      'ERR_SIZE_MISMATCH',
      kind,
      `content ${digest} from ${where} is ${actual < expected ? 'truncated' : 'too long'}: expected ${expected} bytes, got ${actual}${actual > expected ? '+' : ''}`,
      { details: { digest, expected, actual, where } },
    );
  }
}

/** Content or a reference a target does not hold. */
export class NotFoundError extends AirgapError {
  constructor(readonly what: string, where: string, kind: ErrorKind = 'check', hint?: string) {
    super('ERR_NOT_FOUND', kind, `${what} not found in ${where}`, { hint, details: { what, where } });
  }
}
