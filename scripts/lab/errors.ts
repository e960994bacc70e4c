/**
 * Failures of the test lab itself (a daemon that does not start, a missing tool, an unsafe
 * environment). Not an AirgapError: the lab is test infrastructure, not product, but it still says
 * what broke and what to do, with a stable code tests can match.
 */
export class LabError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(opts.hint ? `${message}\n  hint: ${opts.hint}` : message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LabError';
    this.code = code;
    this.hint = opts.hint;
  }
}
