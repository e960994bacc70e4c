import { AirgapError, FileError, UsageError, type AirgapErrorOptions } from '../errors.js';
import { quote } from './quote.js';

/** A version string that is not a Kubernetes version at all ("latest", "1.30.x", "v1"). */
export class InvalidKubernetesVersionError extends UsageError {
  constructor(readonly input: string, reason: string) {
    super('ERR_INVALID_KUBERNETES_VERSION', `invalid Kubernetes version ${quote(input)}: ${reason}`, {
      hint: 'write a release as v1.30.14, or a minor as v1.30 for its newest known patch',
      details: { version: input, reason },
    });
  }
}

/** A well-formed version that airgap's data does not cover: too old, too new, a pre-release, an unknown build. */
export class UnsupportedKubernetesVersionError extends UsageError {
  constructor(message: string, opts: AirgapErrorOptions) {
    super('ERR_UNSUPPORTED_KUBERNETES_VERSION', message, opts);
  }
}

export class UnknownDistributionError extends UsageError {
  constructor(readonly distribution: string, known: string[]) {
    super('ERR_UNKNOWN_DISTRIBUTION', `unknown Kubernetes distribution ${quote(distribution)}`, {
      hint: `choose one of: ${known.join(', ')}`,
      details: { distribution, known },
    });
  }
}

/** A bad --variant: unknown key, or a value the distribution does not offer. */
export class InvalidVariantError extends UsageError {
  constructor(message: string, hint: string, details: Record<string, unknown>) {
    super('ERR_INVALID_VARIANT', message, { hint, details });
  }
}

export class InvalidImageRepositoryError extends UsageError {
  constructor(readonly repository: string, reason: string) {
    super('ERR_INVALID_IMAGE_REPOSITORY', `invalid image repository ${quote(repository)}: ${reason}`, {
      hint: 'write a registry host with an optional path, e.g. registry.example.com:5000/k8s',
      details: { imageRepository: repository, reason },
    });
  }
}

/** One or more lines of an image list that are not image references. */
export class InvalidImageListError extends UsageError {
  constructor(message: string, opts: AirgapErrorOptions) {
    super('ERR_INVALID_IMAGE_LIST', message, opts);
  }
}

export class EmptyImageListError extends UsageError {
  constructor(readonly source: string) {
    super('ERR_EMPTY_IMAGE_LIST', `${source}: the image list holds no image references`, {
      hint: 'put one image reference a line, e.g. registry.k8s.io/pause:3.9; "#" starts a comment',
      details: { source },
    });
  }
}

/** The list file itself could not be read: missing, a directory, unreadable, not text. */
export class ImageListFileError extends FileError {
  constructor(code: string, readonly path: string, reason: string, opts: AirgapErrorOptions = {}) {
    super(code, `cannot read image list ${quote(path, 300)}: ${reason}`, {
      hint: opts.hint,
      details: { path, reason, ...opts.details },
      cause: opts.cause,
    });
  }
}

/** A data file under manifests/ breaks its own rules: a bug in airgap's data, not the user's input. */
export class InvalidManifestDataError extends AirgapError {
  constructor(readonly file: string, reason: string) {
    super('ERR_INVALID_MANIFEST_DATA', 'internal', `image data ${file} is invalid: ${reason}`, {
      hint: 'the manifests/ directory shipped with airgap is damaged or was edited; reinstall airgap or fix the file',
      details: { file, reason },
    });
  }
}
