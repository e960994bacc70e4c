import { AirgapError, type AirgapErrorOptions } from '../errors.js';
import { show } from './show.js';

/** Malformed OCI data: a reference, digest, platform, descriptor or manifest that breaks the rules. */
export class InvalidReferenceError extends AirgapError {
  constructor(readonly input: string, reason: string, opts: AirgapErrorOptions = {}) {
    super('ERR_INVALID_REFERENCE', 'usage', `invalid image reference ${show(input, 200)}: ${reason}`, {
      hint: opts.hint ?? 'write it as [registry/]repository[:tag][@sha256:<64 hex>], e.g. registry.k8s.io/pause:3.9',
      details: { reference: input, reason, ...opts.details },
      cause: opts.cause,
    });
  }
}

export class InvalidDigestError extends AirgapError {
  constructor(readonly input: string, reason: string) {
    super('ERR_INVALID_DIGEST', 'usage', `invalid digest ${show(input, 200)}: ${reason}`, {
      hint: 'a digest is sha256:<64 lowercase hex> or sha512:<128 lowercase hex>',
      details: { digest: input, reason },
    });
  }
}

export class InvalidPlatformError extends AirgapError {
  constructor(readonly input: string, reason: string) {
    super('ERR_INVALID_PLATFORM', 'usage', `invalid platform ${show(input, 200)}: ${reason}`, {
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

const SCHEMA1 = /^application\/vnd\.docker\.distribution\.manifest\.v1\+(?:json|prettyjws)$/;

const SCHEMA1_HINT =
  'Docker schema 1 was deprecated in 2017 and current containerd (2.x) and Docker releases no longer pull it; ' +
  're-push the image with a current client (`skopeo copy` or `docker pull` + `docker push` convert it to schema 2) and use that';

/**
 * A media type we do not handle (Docker schema 1, or something that is not an image at all). A
 * schema 1 type gets its own message and hint whoever constructs the error.
 */
export class UnsupportedMediaTypeError extends AirgapError {
  /** `message` replaces the generic one when there is more to say. */
  constructor(readonly mediaType: string, hint?: string, details: Record<string, unknown> = {}, message?: string) {
    const schema1 = SCHEMA1.test((typeof mediaType === 'string' ? mediaType : '').split(';')[0]!.trim().toLowerCase());
    super(
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      'check',
      message ??
        (schema1
          ? `image manifest is Docker schema 1 (${show(mediaType)}), which is not supported`
          : `unsupported manifest media type ${show(mediaType)}`),
      {
        hint: hint ?? (schema1 ? SCHEMA1_HINT : 'only OCI and Docker v2 schema 2 manifests and indexes are supported'),
        details: { mediaType, ...details },
      },
    );
  }
}
