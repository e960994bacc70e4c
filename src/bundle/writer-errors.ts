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

/** fdatasync of the partial bundle failed: what was written may not be on disk. */
export class OutputSyncError extends FileError {
  constructor(readonly path: string, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException | null)?.code;
    super('ERR_OUTPUT_SYNC', `cannot flush ${path} to disk: ${errno ?? (cause instanceof Error ? cause.message : String(cause))}`, {
      hint: 'check the disk (free space, dmesg for I/O errors), then run the same command again: it resumes from the last checkpoint',
      details: { path, ...(errno ? { errno } : {}) },
      cause,
    });
  }
}

/** A file planned into the bundle (an executable) is not what it was when the bundle was planned. */
export class SourceFileChangedError extends FileError {
  constructor(readonly path: string, readonly entry: string, planned: { size: number; digest: string }, found: { size: number; digest?: string }) {
    // Without a digest the file was found longer than planned, and read no further.
    const now = found.digest ? `${found.digest} (${found.size} bytes)` : `at least ${found.size} bytes`;
    super('ERR_SOURCE_FILE_CHANGED', `${path} changed while it was being packed as ${entry}: planned ${planned.digest} (${planned.size} bytes), now ${now}`, {
      hint: 'something replaced or rebuilt it meanwhile (npm run build:exe?); let that finish, then run the same command again',
      details: { path, entry, planned, found },
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
