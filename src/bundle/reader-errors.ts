import { CheckError, FileError } from '../errors.js';

/** A complete tar archive that holds no OCI image layout (exit 3: there is no bundle to check). */
export class NotABundleError extends FileError {
  constructor(readonly path: string, readonly what: string, hint: string) {
    super('ERR_NOT_A_BUNDLE', `${path} is ${what}, not an image bundle`, { hint, details: { path, what } });
  }
}

/**
 * A bundle whose structure is damaged or unsafe (truncated, links, duplicate entries, unreadable
 * index.json). Opening strictly (load, serve) refuses it; verify opens leniently and names each problem.
 */
export class BundleDamagedError extends CheckError {
  constructor(readonly path: string, readonly problems: string[]) {
    const shown = problems.slice(0, 3).join('; ');
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
    super('ERR_BUNDLE_DAMAGED', `bundle ${path} is damaged: ${shown}${more}`, {
      hint: `run "airgap verify ${path}" for the full report; pack or copy the bundle again`,
      details: { path, problems },
    });
  }
}
