import { AirgapError } from '../errors.js';
import { eventStream } from './event-stream.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';

const IO_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ENOSPC', 'EROFS', 'EMFILE', 'EEXIST', 'EIO', 'EDQUOT']);

/**
 * Turn any thrown value into the words and the exit code the user sees. One line of message, one
 * of hint; never a stack trace unless AIRGAP_DEBUG is set.
 */
export function describeError(e: unknown): { exitCode: number; message: string; hint?: string; json: Record<string, unknown> } {
  if (e instanceof AirgapError) {
    return { exitCode: exitCodeFor(e.kind), message: e.message, hint: e.hint, json: e.toJSON() };
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && IO_CODES.has(err.code)) {
    const path = err.path ? ` ${err.path}` : '';
    const what: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      EISDIR: 'is a directory, expected a file',
      ENOTDIR: 'not a directory',
      ENOSPC: 'no space left on device',
      EROFS: 'read-only file system',
      EDQUOT: 'disk quota exceeded',
    };
    const message = `${err.syscall ?? 'I/O'}${path}: ${what[err.code] ?? err.code}`;
    return { exitCode: ExitCode.IO, message, json: { code: err.code, kind: 'io', message } };
  }
  if (err && (err.code === 'commander.unknownOption' || String(err.code ?? '').startsWith('commander.'))) {
    return { exitCode: ExitCode.Usage, message: err.message, json: { code: 'ERR_USAGE', kind: 'usage', message: err.message } };
  }
  const message = `internal error: ${(err && err.message) || String(e)}`;
  return {
    exitCode: ExitCode.Internal,
    message,
    hint: 'this is a bug in airgap; rerun with AIRGAP_DEBUG=1 and report the output',
    json: { code: 'ERR_INTERNAL', kind: 'internal', message },
  };
}

export function printError(e: unknown, json: boolean): number {
  const d = describeError(e);
  if (json) {
    eventStream().write(`${JSON.stringify({ event: 'error', ...d.json, exitCode: d.exitCode })}\n`);
  }
  process.stderr.write(`airgap: error: ${d.message}\n`);
  if (d.hint) process.stderr.write(`  hint: ${d.hint}\n`);
  if (process.env.AIRGAP_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return d.exitCode;
}
