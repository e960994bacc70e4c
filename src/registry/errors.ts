import { NotFoundError } from '../content/errors.js';
import { AirgapError, UsageError, type AirgapErrorOptions, type ErrorKind } from '../errors.js';

/** One entry of a distribution-spec error body: {"errors":[{"code","message","detail"}]}. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

/** Parse a registry error body; anything that is not the spec shape yields an empty list. */
export function parseErrorBody(body: Buffer | string | undefined): RegistryErrorEntry[] {
  if (!body || body.length === 0) return [];
  try {
    const doc = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as unknown;
    if (typeof doc !== 'object' || doc === null) return [];
    const errors = (doc as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string')
      .slice(0, 10)
      .map((e) => {
        const entry: RegistryErrorEntry = { code: String(e.code) };
        if (typeof e.message === 'string') entry.message = e.message.slice(0, 300);
        if (e.detail !== undefined) entry.detail = e.detail;
        return entry;
      });
  } catch {
    return [];
  }
}

/** "MANIFEST_UNKNOWN: manifest unknown; …" for messages. */
export function describeErrorEntries(entries: RegistryErrorEntry[]): string {
  return entries.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ');
}

export interface RegistryErrorFacts {
  /** HTTP status of the last response, when there was one. */
  status?: number;
  /** The repository endpoint (redacted), e.g. http://127.0.0.1:5000/v2/registry.k8s.io/pause. */
  endpoint?: string;
  /** The image or digest the request was about. */
  reference?: string;
  errors?: RegistryErrorEntry[];
}

function factsDetails(f: RegistryErrorFacts): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  if (f.status !== undefined) d.status = f.status;
  if (f.endpoint) d.endpoint = f.endpoint;
  if (f.reference) d.reference = f.reference;
  if (f.errors && f.errors.length > 0) d.registryErrors = f.errors.map((e) => e.code);
  return d;
}

/** A registry answered, but not with what the protocol promises (unexpected status, bad headers). */
export class RegistryError extends AirgapError {
  readonly status: number | undefined;
  readonly registryErrors: RegistryErrorEntry[];
  constructor(code: string, kind: ErrorKind, message: string, facts: RegistryErrorFacts, opts: AirgapErrorOptions = {}) {
    super(code, kind, message, { ...opts, details: { ...factsDetails(facts), ...opts.details } });
    this.status = facts.status;
    this.registryErrors = facts.errors ?? [];
  }
}

/** An unexpected HTTP status that is not one of the classified failures below. */
export class RegistryResponseError extends RegistryError {
  constructor(what: string, facts: RegistryErrorFacts & { status: number }, opts: AirgapErrorOptions = {}) {
    const reg = facts.errors && facts.errors.length > 0 ? ` (${describeErrorEntries(facts.errors)})` : '';
    super('ERR_REGISTRY_RESPONSE', 'remote', `${what}: registry answered HTTP ${facts.status}${reg}`, facts, {
      hint: opts.hint ?? 'the registry refused the request; check the registry logs or try another mirror',
      ...opts,
    });
  }
}

/** A manifest, tag or repository the registry does not have. Also a content NotFoundError. */
export class ImageNotFoundError extends NotFoundError {
  readonly endpoint: string;
  constructor(reference: string, endpoint: string, facts: RegistryErrorFacts = {}) {
    const reg = facts.errors && facts.errors.length > 0 ? ` (${describeErrorEntries(facts.errors)})` : '';
    super(`image ${reference}`, `${endpoint}${reg}`, 'remote',
      'check the name and tag (registry.k8s.io/pause:3.9), and that the mirror holds this image under the expected repository prefix');
    (this as { code: string }).code = 'ERR_IMAGE_NOT_FOUND';
    this.endpoint = endpoint;
    Object.assign(this.details, factsDetails({ ...facts, endpoint, reference }));
  }
}

/** A blob (layer, config) the registry does not have. */
export class BlobNotFoundError extends NotFoundError {
  readonly endpoint: string;
  constructor(digest: string, endpoint: string, reference: string | undefined, facts: RegistryErrorFacts = {}) {
    const reg = facts.errors && facts.errors.length > 0 ? ` (${describeErrorEntries(facts.errors)})` : '';
    super(`blob ${digest}${reference ? ` of ${reference}` : ''}`, `${endpoint}${reg}`, 'remote',
      'the registry lost content its manifest points at, or a mirror holds the manifest without its blobs; re-push or re-sync the image');
    (this as { code: string }).code = 'ERR_BLOB_NOT_FOUND';
    this.endpoint = endpoint;
    Object.assign(this.details, factsDetails({ ...facts, endpoint, reference }), { digest });
  }
}

/** 401 / 403, or a token server that refused us. */
export class RegistryAuthError extends RegistryError {
  constructor(message: string, facts: RegistryErrorFacts & { registry: string; denied?: boolean }, opts: AirgapErrorOptions = {}) {
    const hint = opts.hint ?? (facts.denied
      ? `the credentials for ${facts.registry} lack permission for this; check the account's access to the repository`
      : `give credentials with --creds ${facts.registry}=USER:PASSWORD or run "docker login ${facts.registry}" (a private or missing repository also answers this way)`);
    super(facts.denied ? 'ERR_REGISTRY_DENIED' : 'ERR_REGISTRY_UNAUTHORIZED', 'auth', message, facts, {
      ...opts,
      hint,
      details: { registry: facts.registry, ...opts.details },
    });
  }
}

/** The TLS handshake failed: unknown CA, wrong host name, or a plain-HTTP server. */
export class RegistryTlsError extends RegistryError {
  constructor(host: string, reason: string, facts: RegistryErrorFacts = {}, cause?: unknown) {
    super('ERR_REGISTRY_TLS', 'remote', `TLS connection to ${host} failed: ${reason}`, facts, {
      hint: `if ${host} uses a private CA, pass it with --ca-file CA.pem; if it serves plain HTTP or a self-signed certificate you accept, name it with --insecure-registry ${host}`,
      details: { host, reason },
      cause,
    });
  }
}

/** The network or the registry kept failing after every retry (or failed in a way not worth retrying). */
export class RegistryUnavailableError extends RegistryError {
  readonly attempts: number;
  constructor(what: string, attempts: number, last: string, facts: RegistryErrorFacts = {}, opts: AirgapErrorOptions = {}) {
    super('ERR_REGISTRY_UNAVAILABLE', 'remote', `${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${last}`, facts, {
      hint: opts.hint ?? 'the registry or the network is unavailable; check connectivity and retry later (rerunning reuses what was already fetched)',
      details: { attempts, last, ...opts.details },
      cause: opts.cause,
    });
    this.attempts = attempts;
  }
}

/** A --registry-mirror value that cannot be used. */
export class InvalidMirrorError extends UsageError {
  constructor(input: string, reason: string) {
    super('ERR_INVALID_MIRROR', `invalid --registry-mirror "${input}": ${reason}`, {
      hint: 'write SOURCE=URL, e.g. registry.k8s.io=http://127.0.0.1:5000/registry.k8s.io (the URL path is a repository prefix)',
      details: { mirror: input, reason },
    });
  }
}

/** A --creds value that cannot be used; the password is never echoed. */
export class InvalidCredentialsError extends UsageError {
  constructor(registry: string, reason: string) {
    super('ERR_INVALID_CREDENTIALS', `invalid --creds value${registry ? ` for ${registry}` : ''}: ${reason}`, {
      hint: 'write REGISTRY=USER:PASSWORD, e.g. --creds harbor.corp=robot:secret',
      details: { registry, reason },
    });
  }
}

/** A --insecure-registry value that is not host[:port]. */
export class InvalidRegistryHostError extends UsageError {
  constructor(input: string, flag: string, reason: string) {
    super('ERR_INVALID_REGISTRY_HOST', `invalid ${flag} "${input}": ${reason}`, {
      hint: 'name a registry as host[:port], e.g. 127.0.0.1:5000 or harbor.corp',
      details: { value: input, reason },
    });
  }
}

/** A docker-credential-<name> helper that failed (missing binary, bad output). */
export class CredentialHelperError extends AirgapError {
  constructor(helper: string, server: string, reason: string, cause?: unknown) {
    super('ERR_CREDENTIAL_HELPER', 'auth', `credential helper docker-credential-${helper} failed for ${server}: ${reason}`, {
      hint: `install docker-credential-${helper} on PATH, fix the docker config's credsStore/credHelpers, or pass --creds ${server}=USER:PASSWORD`,
      details: { helper, server, reason },
      cause,
    });
  }
}

/** A CA file given with --ca-file that cannot be read or holds no certificate. */
export class CaFileError extends AirgapError {
  /** `unreadable`: the file could not be read at all (exit 3), rather than read and refused (exit 2). */
  constructor(path: string, reason: string, cause?: unknown, unreadable = false) {
    super('ERR_CA_FILE', unreadable ? 'io' : 'usage', `cannot use CA file ${path}: ${reason}`, {
      hint: unreadable
        ? 'check the path of --ca-file: it must be a readable PEM file'
        : 'pass a PEM file holding one or more "-----BEGIN CERTIFICATE-----" blocks',
      details: { path, reason },
      cause,
    });
  }
}
