import { AirgapError, UsageError } from '../errors.js';

export { BundleContentMissingError, BundleGraphTooDeepError, ImageNameUnknownError } from '../bundle/images-errors.js';
export { ContainerdError } from '../node/containerd/errors.js';

/** `airgap load` given nothing to do, or flags that contradict each other. */
export class LoadUsageError extends UsageError {
  constructor(code: string, message: string, hint: string, details: Record<string, unknown> = {}) {
    super(code, message, { hint, details });
  }
}

/** A --registry value that is not a registry URL. */
export class InvalidRegistryUrlError extends UsageError {
  constructor(input: string, reason: string) {
    super('ERR_INVALID_REGISTRY_URL', `invalid --registry "${input.replace(/\/\/[^@/]*@/, '//…@')}": ${reason}`, {
      hint: 'write the node registry as a URL, e.g. http://127.0.0.1:5000 or https://registry.local:5000/mirror (the path is a repository prefix)',
      details: { reason },
    });
  }
}

/** One or more images could not be loaded; the first failure is the cause (and sets the exit code). */
export class LoadFailedError extends AirgapError {
  constructor(readonly failures: { image: string; target: string; error: AirgapError }[]) {
    const first = failures[0]!;
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more image${failures.length === 2 ? '' : 's'})` : '';
    super(first.error.code, first.error.kind, `loading ${first.image} into ${first.target} failed: ${first.error.message}${more}`, {
      hint: first.error.hint,
      details: {
        ...first.error.details,
        failures: failures.map((f) => ({ image: f.image, target: f.target, code: f.error.code, message: f.error.message })),
      },
      cause: first.error,
    });
  }
}

/**
 * Docker Engine, its socket or its answer failed (exit 6). Codes: ERR_DOCKER_NO_SOCKET,
 * ERR_DOCKER_NOT_ANSWERING, ERR_DOCKER_PERMISSION, ERR_DOCKER_API (an unexpected answer),
 * ERR_DOCKER_LOAD (POST /images/load refused the archive), ERR_DOCKER_LOAD_MISSING (after the load,
 * the name does not name the bundle's image ID), ERR_DOCKER_NO_PLATFORM, ERR_DOCKER_FOREIGN_LAYER.
 */
export class DockerError extends AirgapError {
  constructor(code: string, message: string, hint: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, 'runtime', message, { hint, details, cause });
  }
}
