import { AirgapError, CheckError, UsageError } from '../errors.js';

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

/** An index.json entry whose name is not a full image reference (skopeo stores only "3.9"). */
export class ImageNameUnknownError extends UsageError {
  constructor(name: string | undefined, digest: string) {
    super('ERR_IMAGE_NAME_UNKNOWN', name
      ? `the bundle names image ${digest} only "${name}", not a full reference like registry.k8s.io/pause:3.9`
      : `the bundle does not name image ${digest}`, {
      hint: 'pass --base-name REPOSITORY (e.g. --base-name registry.k8s.io/pause) so "3.9" becomes registry.k8s.io/pause:3.9',
      details: { name, digest },
    });
  }
}

/** The bundle lacks content an image it lists needs (not a platform left out on purpose). */
export class BundleContentMissingError extends CheckError {
  constructor(image: string, digest: string, bundle: string) {
    super('ERR_BUNDLE_CONTENT_MISSING', `bundle ${bundle} lacks blob ${digest} of image ${image}`, {
      hint: `run "airgap verify ${bundle}" to see what else is missing; pack the bundle again`,
      details: { image, digest, bundle },
    });
  }
}

/** Indexes nested deeper than any real image (a hostile bundle); refused before anything is pushed. */
export class BundleGraphTooDeepError extends CheckError {
  constructor(image: string, digest: string, bundle: string, limit: number) {
    super('ERR_BUNDLE_GRAPH_TOO_DEEP', `bundle ${bundle}: image ${image} nests manifests more than ${limit} levels deep (at ${digest})`, {
      hint: 'real images are an index over manifests (2 levels); this bundle was not made by a registry or by airgap pack — get it from a trusted source',
      details: { image, digest, bundle, limit },
    });
  }
}

/** containerd, its socket or its ctr client failed (exit 6). */
export class ContainerdError extends AirgapError {
  constructor(code: string, message: string, hint: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, 'runtime', message, { hint, details, cause });
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
