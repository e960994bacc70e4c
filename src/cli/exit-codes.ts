import type { ErrorKind } from '../errors.js';

/** The one place error kinds become exit codes. Documented in docs/exit-codes.md; a contract for CI scripts. */
export const ExitCode = {
  Ok: 0,
  /** a check failed: verification, list mismatch, digest mismatch */
  CheckFailed: 1,
  /** bad command line or input file */
  Usage: 2,
  /** a file or device could not be read or written */
  IO: 3,
  /** a registry or the network failed */
  Remote: 4,
  /** credentials missing or refused */
  Auth: 5,
  /** containerd or another local component failed */
  Runtime: 6,
  /** a bug in airgap */
  Internal: 70,
  /** interrupted (SIGINT) */
  Interrupted: 130,
} as const;

const BY_KIND: Record<ErrorKind, number> = {
  usage: ExitCode.Usage,
  io: ExitCode.IO,
  check: ExitCode.CheckFailed,
  remote: ExitCode.Remote,
  auth: ExitCode.Auth,
  runtime: ExitCode.Runtime,
  internal: ExitCode.Internal,
};

export function exitCodeFor(kind: ErrorKind): number {
  return BY_KIND[kind];
}
