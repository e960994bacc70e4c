import type { CredentialStore, Credential } from '../credentials.js';
import { RegistryAuthError } from '../errors.js';
import type { EventSink } from '../events.js';
import { isInsecureHost } from '../mirrors.js';
import { redactUrl } from '../redact.js';
import type { ResponseHeaders, Transport } from '../transport.js';
import { parseChallenges, pickChallenge, type Challenge } from './challenge.js';
import { normalizeScopes } from './scope.js';
import { requestToken, type Token } from './token.js';

/** Who a request is for: the registry origin it goes to and the access it needs. */
export interface AuthContext {
  origin: string;
  /** Credentials key: docker.io or host[:port]. */
  credentialHost: string;
  scopes: string[];
  signal?: AbortSignal;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/**
 * Answers registry challenges. Learns each origin's challenge from its first 401, then
 * authorizes later requests up front; bearer tokens are cached per realm+service+scope and
 * fetched once even when many requests need them at the same moment.
 */
export class Authenticator {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, Token>();
  private readonly inflight = new Map<string, Promise<Token>>();
  /** How many token requests were made; for tests and --verbose summaries. */
  tokenRequests = 0;

  constructor(
    private readonly transport: Transport,
    private readonly credentials: CredentialStore,
    private readonly insecure: ReadonlySet<string>,
    private readonly emit: EventSink,
  ) {}

  /** The Authorization value for a request, from the origin's known challenge; undefined before any. */
  async authorize(ctx: AuthContext): Promise<string | undefined> {
    const ch = this.challenges.get(ctx.origin);
    if (!ch) return undefined;
    return this.answer(ch, ctx, normalizeScopes(ctx.scopes), undefined);
  }

  /**
   * A 401 came back. Learn its challenge and produce a better answer than `previous` (a fresh
   * token, or credentials where none were sent); throw when there is nothing better to offer.
   */
  async reauthorize(ctx: AuthContext, headers: ResponseHeaders, previous: string | undefined): Promise<string> {
    const ch = pickChallenge(parseChallenges(headers['www-authenticate']));
    const host = new URL(ctx.origin).host;
    if (!ch) {
      throw new RegistryAuthError(`${host} answered 401 Unauthorized without a Basic or Bearer challenge`, { registry: ctx.credentialHost, status: 401 });
    }
    this.challenges.set(ctx.origin, ch);
    const live = ch.params.scope ? [ch.params.scope] : [];
    const answer = await this.answer(ch, ctx, normalizeScopes([...ctx.scopes, ...live]), previous);
    if (answer === previous) {
      const cred = await this.credentials.get(ctx.credentialHost);
      throw new RegistryAuthError(`${host} refused ${cred ? `the credentials from ${cred.source}` : 'anonymous access'} (401 Unauthorized)`, {
        registry: ctx.credentialHost,
        status: 401,
      });
    }
    return answer;
  }

  /** The error for a registry that still says 401 after our best answer. */
  async refused(ctx: AuthContext, what: string, facts: { status?: number; errors?: { code: string; message?: string }[]; endpoint?: string }): Promise<RegistryAuthError> {
    const cred = await this.credentials.get(ctx.credentialHost).catch(() => undefined);
    const host = new URL(ctx.origin).host;
    return new RegistryAuthError(`${what}: ${host} refused ${cred ? `the credentials from ${cred.source}` : 'anonymous access'} (401 Unauthorized)`, {
      registry: ctx.credentialHost,
      ...facts,
    });
  }

  private async credential(ctx: AuthContext, sendTo: URL): Promise<Credential | undefined> {
    const cred = await this.credentials.get(ctx.credentialHost);
    // Cleartext is acceptable where the user chose it: a registry URL written with http://, a host
    // named insecure, or loopback. A realm elsewhere that downgrades to http is not.
    const chosen = ctx.origin.startsWith('http:') && new URL(ctx.origin).host === sendTo.host;
    if (cred && sendTo.protocol === 'http:' && !chosen && !isLoopback(sendTo.host) && !isInsecureHost(this.insecure, sendTo.host)) {
      throw new RegistryAuthError(`refusing to send the credentials for ${ctx.credentialHost} over plain HTTP to ${redactUrl(sendTo)}`, {
        registry: ctx.credentialHost,
      }, { hint: `use https, or name ${sendTo.host} with --insecure-registry if sending credentials in the clear is acceptable` });
    }
    return cred;
  }

  private async answer(ch: Challenge, ctx: AuthContext, scopes: string[], previous: string | undefined): Promise<string> {
    if (ch.scheme === 'basic') {
      const cred = await this.credential(ctx, new URL(ctx.origin));
      if (!cred || cred.kind !== 'basic') {
        const problem = this.credentials.problem(ctx.credentialHost);
        throw new RegistryAuthError(`${new URL(ctx.origin).host} requires a username and password and none were given`, {
          registry: ctx.credentialHost,
          status: 401,
        }, problem ? { hint: `${problem}; or pass --creds ${ctx.credentialHost}=USER:PASSWORD` } : {});
      }
      const value = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      if (value !== previous) this.emit({ type: 'auth', registry: ctx.credentialHost, scheme: 'basic', anonymous: false });
      return value;
    }
    const realm = ch.params.realm;
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm ?? '');
      if (realmUrl.protocol !== 'https:' && realmUrl.protocol !== 'http:') throw new Error('scheme');
    } catch {
      throw new RegistryAuthError(`${new URL(ctx.origin).host} sent a Bearer challenge without a usable realm URL`, { registry: ctx.credentialHost, status: 401 });
    }
    const service = ch.params.service;
    const key = `${realmUrl.href}|${service ?? ''}|${scopes.join(' ')}`;
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now() && `Bearer ${cached.value}` !== previous) return `Bearer ${cached.value}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = (async () => {
        const credential = await this.credential(ctx, realmUrl);
        this.tokenRequests++;
        this.emit({ type: 'auth', registry: ctx.credentialHost, scheme: 'bearer', realm: redactUrl(realmUrl), scope: scopes.join(' '), anonymous: !credential });
        const t = await requestToken(this.transport, {
          realm: realmUrl.href,
          service,
          scopes,
          credential,
          registry: ctx.credentialHost,
          signal: ctx.signal,
        });
        this.tokens.set(key, t);
        return t;
      })().finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const t = await p;
    return `Bearer ${t.value}`;
  }
}
