import { AirgapError, type AirgapErrorOptions } from '../errors.js';

/** Malformed OCI data: a reference, digest, platform, descriptor or manifest that breaks the rules. */
export class InvalidReferenceError extends AirgapError {
  constructor(readonly input: string, reason: string, opts: AirgapErrorOptions = {}) {
    super('ERR_INVALID_REFERENCE', 'usage', `invalid image reference "${input}": ${reason}`, {
      hint: opts.hint ?? 'write it as [registry/]repository[:tag][@sha256:<64 hex>], e.g. registry.k8s.io/pause:3.9',
      details: { reference: input, reason, ...opts.details },
      cause: opts.cause,
    });
  }
}

export class InvalidDigestError extends AirgapError {
  constructor(readonly input: string, reason: string) {
    super('ERR_INVALID_DIGEST', 'usage', `invalid digest "${input}": ${reason}`, {
      hint: 'a digest is sha256:<64 lowercase hex> or sha512:<128 lowercase hex>',
      details: { digest: input, reason },
    });
  }
}

export class InvalidPlatformError extends AirgapError {
  constructor(readonly input: string, reason: string) {
    super('ERR_INVALID_PLATFORM', 'usage', `invalid platform "${input}": ${reason}`, {
      hint: 'write os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8, several separated by commas, or "all"',
      details: { platform: input, reason },
    });
  }
}

/** A manifest or descriptor whose JSON does not follow the OCI / Docker v2 schema 2 rules. */
export class InvalidManifestError extends AirgapError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('ERR_INVALID_MANIFEST', 'check', `invalid manifest: ${reason}`, { details: { reason, ...details } });
  }
}

/** A media type we do not handle (Docker schema 1, or something that is not an image at all). */
export class UnsupportedMediaTypeError extends AirgapError {
  constructor(readonly mediaType: string, hint?: string, details: Record<string, unknown> = {}) {
    super('ERR_UNSUPPORTED_MEDIA_TYPE', 'check', `unsupported manifest media type "${mediaType}"`, {
      hint: hint ?? 'only OCI and Docker v2 schema 2 manifests and indexes are supported',
      details: { mediaType, ...details },
    });
  }
}
