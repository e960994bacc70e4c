/**
 * Every error the product raises is an AirgapError with a stable `code` that callers branch on
 * (never the message), a `hint` that tells the user what to do, and the facts (`details`) a report
 * or `--json` output needs. The CLI alone maps codes to exit codes (src/cli/exit-codes.ts).
 */
export type ErrorKind =
  /** the user's input is wrong: a flag, a reference, a file's contents (exit 2) */
  | 'usage'
  /** a file or device could not be read or written (exit 3) */
  | 'io'
  /** a check failed: digest mismatch, list mismatch, incomplete bundle (exit 1) */
  | 'check'
  /** a registry or the network failed us (exit 4) */
  | 'remote'
  /** credentials missing or refused (exit 5) */
  | 'auth'
  /** containerd or another local component failed (exit 6) */
  | 'runtime'
  /** a bug: should never happen (exit 70) */
  | 'internal';

export interface AirgapErrorOptions {
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class AirgapError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: string, kind: ErrorKind, message: string, opts: AirgapErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = kind;
    this.hint = opts.hint;
    this.details = opts.details ?? {};
  }

  /** A plain object for --json output; never includes secrets because details never hold them. */
  toJSON(): Record<string, unknown> {
    return { code: this.code, kind: this.kind, message: this.message, hint: this.hint, ...this.details };
  }
}

/** Bad user input (a flag value, a reference, a list file). */
export class UsageError extends AirgapError {
  constructor(code: string, message: string, opts?: AirgapErrorOptions) {
    super(code, 'usage', message, opts);
  }
}

/** A file that cannot be read or written. */
export class FileError extends AirgapError {
  constructor(code: string, message: string, opts?: AirgapErrorOptions) {
    super(code, 'io', message, opts);
  }
}

/** Content that failed a check: wrong digest, wrong size, missing blob, list mismatch. */
export class CheckError extends AirgapError {
  constructor(code: string, message: string, opts?: AirgapErrorOptions) {
    super(code, 'check', message, opts);
  }
}

export function isAirgapError(e: unknown): e is AirgapError {
  return e instanceof AirgapError;
}
