import type { HashPool } from '../content/hash-pool.js';
import type { Readable } from 'node:stream';
import type { Authenticator } from './auth/authenticator.js';
import { repositoryScope } from './auth/scope.js';
import {
  parseErrorBody, RegistryAuthError, RegistryResponseError, type RegistryErrorEntry,
} from './errors.js';
import type { AirgapError } from '../errors.js';
import type { EventSink } from './events.js';
import type { Endpoint } from './mirrors.js';
import { redactUrl } from './redact.js';
import { discard, readLimited, type HttpResponse, type Transport } from './transport.js';

/** What a repository shares with its client. */
export interface ClientContext {
  transport: Transport;
  auth: Authenticator;
  emit: EventSink;
  monolithicMaxBytes: number;
  hashPool?: HashPool | undefined;
  /** The origin to use for an endpoint (probes https -> http for insecure hosts once). */
  originFor(endpoint: Endpoint): Promise<string>;
  /** The endpoint another repository name maps to (for cross-repository mounts). */
  endpointFor(name: string): Endpoint;
}

export type Access = 'pull' | 'push';

export interface SessionRequest {
  method: string;
  /** Path under the repository's /v2/<name>/ ("manifests/3.9"), or an absolute URL (upload locations, Link pages). */
  path?: string;
  url?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  access: Access;
  /** More scopes the token needs (the source repository of a mount). */
  extraScopes?: string[];
  signal?: AbortSignal;
  what: string;
  attempts?: number;
  followRedirects?: boolean;
}

/** A response read for an error: status, registry error entries. */
export interface Failure {
  status: number;
  errors: RegistryErrorEntry[];
}

/**
 * Authorized requests to one repository endpoint: asks the authenticator up front, answers a 401
 * once with a fresh token or credentials, and sends Authorization to the registry's origin only.
 */
export class Session {
  private origin: string;
  constructor(private readonly ctx: ClientContext, readonly endpoint: Endpoint, private readonly pushIntent: boolean) {
    this.origin = endpoint.origin;
  }

  /** The repository's API root, e.g. http://127.0.0.1:5000/v2/registry.k8s.io/pause. */
  get base(): string {
    return `${this.origin}/v2/${this.endpoint.remoteName}`;
  }

  get emit(): EventSink {
    return this.ctx.emit;
  }

  get context(): ClientContext {
    return this.ctx;
  }

  async request(req: SessionRequest): Promise<HttpResponse> {
    if (this.endpoint.probeScheme) this.origin = await this.ctx.originFor(this.endpoint);
    const url = req.url ?? `${this.base}/${req.path ?? ''}`;
    const actions = req.access === 'push' || this.pushIntent ? ['pull', 'push'] : ['pull'];
    const actx = {
      origin: this.origin,
      credentialHost: this.endpoint.credentialHost,
      scopes: [repositoryScope(this.endpoint.remoteName, actions), ...(req.extraScopes ?? [])],
      signal: req.signal,
    };
    const send = (authorization: string | undefined): Promise<HttpResponse> =>
      this.ctx.transport.send({
        method: req.method,
        url,
        headers: req.headers,
        body: req.body,
        authorization: authorization ? { origin: this.origin, value: authorization } : undefined,
        signal: req.signal,
        what: req.what,
        attempts: req.attempts,
        followRedirects: req.followRedirects,
      });
    const first = await this.ctx.auth.authorize(actx);
    const res = await send(first);
    if (res.status !== 401 || new URL(res.url).origin !== this.origin) return res;
    if (req.body !== undefined && !Buffer.isBuffer(req.body)) {
      // A stream cannot be sent twice; uploads authorize on the POST that precedes them.
      const f = await this.failure(res);
      throw new RegistryAuthError(`${req.what}: ${new URL(this.origin).host} answered 401 Unauthorized during a streamed upload`, {
        registry: this.endpoint.credentialHost,
        ...f,
      });
    }
    await discard(res.body);
    const next = await this.ctx.auth.reauthorize(actx, res.headers, first);
    const again = await send(next);
    if (again.status === 401) {
      const f = await this.failure(again);
      throw await this.ctx.auth.refused(actx, req.what, { ...f, endpoint: this.source });
    }
    return again;
  }

  /** The endpoint as shown to users: no credentials, no query. */
  get source(): string {
    return redactUrl(this.base);
  }

  /** Read an error response's body (bounded) for its registry error codes. */
  async failure(res: HttpResponse): Promise<Failure> {
    const { data } = await readLimited(res.body, 64 * 1024).catch(() => ({ data: Buffer.alloc(0) }));
    return { status: res.status, errors: parseErrorBody(data) };
  }

  /**
   * The error for an unexpected response: 401/403 as auth errors, 404 through `notFound`, others
   * as response errors. Always consumes the body.
   */
  async error(res: HttpResponse, what: string, notFound?: (f: Failure) => AirgapError): Promise<AirgapError> {
    const f = await this.failure(res);
    const facts = { ...f, endpoint: this.source };
    if (new URL(res.url).origin !== this.origin) {
      // A redirect target (blob storage) failed, not the registry: no auth advice, it had none of ours.
      return new RegistryResponseError(`${what}: ${redactUrl(res.url)}, where the registry redirected, answered HTTP ${res.status}`, facts, {
        hint: 'the storage the registry redirects to refused the request; retry (each try gets a fresh redirect) or check the registry\'s storage',
      });
    }
    if (res.status === 401 || res.status === 403) {
      return new RegistryAuthError(`${what}: ${new URL(this.origin).host} answered ${res.status === 401 ? '401 Unauthorized' : '403 Forbidden'}`, {
        ...facts,
        registry: this.endpoint.credentialHost,
        denied: res.status === 403,
      });
    }
    if (res.status === 404 && notFound) return notFound(f);
    if (res.status === 405) {
      return new RegistryResponseError(what, facts, {
        hint: `${new URL(this.origin).host} does not allow this operation (a read-only registry or a pull-through cache?)`,
      });
    }
    return new RegistryResponseError(what, facts);
  }
}
