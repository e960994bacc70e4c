import { AirgapError, FileError } from '../errors.js';

/** Another pack is writing the same output right now. */
export class OutputBusyError extends FileError {
  constructor(readonly output: string, readonly pid: number, lockFile: string) {
    super('ERR_OUTPUT_BUSY', `${output} is being written by another airgap process (pid ${pid})`, {
      hint: `wait for it to finish, or choose another -o; if no such process is running, remove ${lockFile}`,
      details: { output, pid, lockFile },
    });
  }
}

export class NotEnoughSpaceError extends FileError {
  constructor(readonly dir: string, readonly needed: number, readonly available: number) {
    super('ERR_NO_SPACE', `not enough space in ${dir} for the bundle: ${needed} more bytes needed, ${available} available`, {
      hint: 'free some space, or write the bundle elsewhere with -o (or stream it with -o -)',
      details: { dir, needed, available },
    });
  }
}

/** The stdout stream failed (reader gone) or took bytes that can no longer be taken back. */
export class OutputBrokenError extends FileError {
  constructor(reason: string, opts: { cause?: unknown } = {}) {
    super('ERR_OUTPUT_BROKEN', `the bundle stream broke: ${reason}`, {
      hint: 'the output is incomplete and must be discarded; run pack again',
      cause: opts.cause,
    });
  }
}

/** A writer was asked for something its plan does not hold, or to finish before all blobs came: a bug. */
export class WriterStateError extends AirgapError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_WRITER_STATE', 'internal', message, { details });
  }
}
