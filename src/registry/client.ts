import type { HashPool } from '../content/hash-pool.js';
import { parseReference, type ImageReference } from '../oci/reference.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { Authenticator } from './auth/authenticator.js';
import { CredentialStore } from './credentials.js';
import { safeEmit, type RegistryEvent } from './events.js';
import { parseInsecure, parseMirrors, resolveEndpoint, type Endpoint, type Mirror } from './mirrors.js';
import { Repository } from './repository.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import type { ClientContext } from './session.js';
import { discard, Transport } from './transport.js';

export interface RegistryClientOptions {
  /** "SRC=URL" strings as typed by the user; the URL path is a repository prefix. */
  mirrors?: string[];
  /** "REGISTRY=USER:PASSWORD" strings from --creds; they win over the docker config. */
  credentials?: string[];
  /** Path of a docker config.json; default $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
  dockerConfig?: string;
  /** Extra CA PEM files, trusted in addition to the system CAs. */
  caFiles?: string[];
  /** Registry hosts (host[:port]) allowed over plain http or without TLS verification. */
  insecure?: string[];
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number; maxRetryAfterMs?: number };
  /** A stalled body read (bodyIdleMs) is a retryable failure, resumed with Range. */
  timeouts?: { connectMs?: number; headersMs?: number; bodyIdleMs?: number };
  /** Keep-alive connections per registry, default 16 (resolution sends many small requests at once). */
  connectionsPerOrigin?: number;
  userAgent?: string;
  /** Blobs up to this size are pushed in one request (default 8 MiB); larger ones stream. */
  monolithicMaxBytes?: number;
  /** Blob downloads hash on this pool's thread (pack); without it, on the main thread. */
  hashPool?: HashPool;
  onEvent?: (e: RegistryEvent) => void;
}

export interface RepositoryOptions {
  /** Ask tokens for pull and push from the start (avoids a second token when pushing). */
  push?: boolean;
}

/**
 * The distribution-spec client: one per command. Holds the connection pools, the credentials,
 * the token cache and the mirror map; hands out Repository targets.
 */
export class RegistryClient {
  readonly mirrors: ReadonlyMap<string, Mirror>;
  private readonly insecure: ReadonlySet<string>;
  private readonly transport: Transport;
  private readonly auth: Authenticator;
  private readonly ctx: ClientContext;
  private readonly origins = new Map<string, Promise<string>>();

  constructor(opts: RegistryClientOptions = {}) {
    this.mirrors = parseMirrors(opts.mirrors);
    this.insecure = parseInsecure(opts.insecure);
    const emit = (e: RegistryEvent): void => safeEmit(opts.onEvent, e);
    const retry: RetryPolicy = {
      attempts: opts.retry?.attempts ?? DEFAULT_RETRY.attempts,
      baseDelayMs: opts.retry?.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
      maxDelayMs: opts.retry?.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
      maxRetryAfterMs: opts.retry?.maxRetryAfterMs ?? Math.max(DEFAULT_RETRY.maxRetryAfterMs, opts.retry?.maxDelayMs ?? 0),
    };
    const credentials = new CredentialStore({
      flags: opts.credentials,
      dockerConfig: opts.dockerConfig,
      onWarning: (registry, message) => emit({ type: 'credentials', registry, source: 'docker config', warning: message }),
    });
    this.transport = new Transport({
      caFiles: opts.caFiles,
      insecure: this.insecure,
      retry,
      timeouts: {
        connectMs: opts.timeouts?.connectMs ?? 10_000,
        headersMs: opts.timeouts?.headersMs ?? 60_000,
        bodyIdleMs: opts.timeouts?.bodyIdleMs ?? 30_000,
      },
      connectionsPerOrigin: opts.connectionsPerOrigin ?? 16,
      userAgent: opts.userAgent ?? `${TOOL_NAME}/${TOOL_VERSION}`,
      onEvent: opts.onEvent,
    });
    this.auth = new Authenticator(this.transport, credentials, this.insecure, emit);
    this.ctx = {
      transport: this.transport,
      auth: this.auth,
      emit,
      monolithicMaxBytes: opts.monolithicMaxBytes ?? 8 * 1024 * 1024,
      hashPool: opts.hashPool,
      originFor: (ep) => this.originFor(ep),
      endpointFor: (name) => this.endpoint(name),
    };
  }

  /** Where a repository's requests go, mirrors applied. */
  endpoint(ref: ImageReference | string): Endpoint {
    const r = typeof ref === 'string' ? parseReference(ref, { defaultTag: false }) : ref;
    return resolveEndpoint(r.registry, r.repository, this.mirrors, this.insecure);
  }

  /** The repository of a reference (its registry and repository; tag and digest are ignored). */
  repository(ref: ImageReference | string, opts: RepositoryOptions = {}): Repository {
    return new Repository(this.ctx, this.endpoint(ref), { pushIntent: opts.push ?? false });
  }

  /** Token requests made so far (for tests and summaries). */
  get tokenRequests(): number {
    return this.auth.tokenRequests;
  }

  /**
   * For an insecure registry named without a scheme: https (unverified) if it answers TLS, else
   * plain http — docker's rule. Probed once per host.
   */
  private originFor(ep: Endpoint): Promise<string> {
    const host = new URL(ep.origin).host;
    let p = this.origins.get(host);
    if (!p) {
      p = (async () => {
        const probe = async (origin: string): Promise<boolean> => {
          try {
            const res = await this.transport.send({ method: 'GET', url: `${origin}/v2/`, what: `probe ${origin}`, attempts: 1, followRedirects: false });
            await discard(res.body);
            return true;
          } catch {
            return false;
          }
        };
        if (await probe(`https://${host}`)) return `https://${host}`;
        if (await probe(`http://${host}`)) {
          safeEmit(this.ctx.emit, { type: 'fallback', what: 'https-to-http', registry: host, reason: 'no TLS answer; the registry is named insecure' });
          return `http://${host}`;
        }
        return `https://${host}`;
      })();
      this.origins.set(host, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
