import { FileError } from '../errors.js';

/** The file is not a tar archive at all (compressed, empty, text…): nothing we can read (exit 3). */
export class NotATarError extends FileError {
  constructor(readonly path: string, readonly what: string, hint: string) {
    super('ERR_NOT_A_TAR', `${path} is ${what}, not a tar archive`, { hint, details: { path, what } });
  }
}

/** The path is a directory, a pipe or a device: the index needs random access to a regular file. */
export class NotARegularFileError extends FileError {
  constructor(readonly path: string, what: string) {
    super('ERR_NOT_A_FILE', `${path} is ${what}, not a bundle file`, {
      hint: what === 'a directory'
        ? 'pass the bundle .tar; to check an OCI layout directory, tar it first (tar -cf bundle.tar -C DIR .)'
        : 'save the bundle to a regular file first; verify reads it at random offsets',
      details: { path, what },
    });
  }
}

/** The archive exceeds a bound we keep to stay within memory (hostile or absurd input). */
export class TarLimitError extends FileError {
  constructor(readonly path: string, reason: string) {
    super('ERR_TAR_LIMIT', `${path}: ${reason}`, {
      hint: 'a bundle has at most a few thousand entries; this file is not one airgap can read',
      details: { path, reason },
    });
  }
}
