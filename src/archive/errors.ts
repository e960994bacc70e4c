import { FileError } from '../errors.js';

/** An archive that cannot be read as given: damaged compression, a stream that ended early, a docker-archive that contradicts itself (exit 3). */
export class ArchiveInputError extends FileError {
  constructor(code: string, message: string, hint: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { hint, details, ...(cause === undefined ? {} : { cause }) });
  }
}

/** Content of a streamed archive asked for after the stream passed it (a bug in the caller's order, or content the archive never had). */
export class StreamPassedError extends FileError {
  constructor(readonly where: string, readonly entry: string) {
    super('ERR_ARCHIVE_PASSED', `${where}: ${entry} was asked for after the stream had passed it`, {
      hint: 'read the archive from a file (decompress it first) so it can be read more than once',
      details: { where, entry },
    });
  }
}
