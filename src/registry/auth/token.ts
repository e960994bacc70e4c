import { RegistryAuthError, RegistryResponseError, parseErrorBody } from '../errors.js';
import { redactUrl } from '../redact.js';
import { header, readLimited, type Transport } from '../transport.js';
import type { Credential } from '../credentials.js';

export interface Token {
  value: string;
  /** ms since epoch, already reduced by a safety margin. */
  expiresAt: number;
}

export interface TokenRequest {
  realm: string;
  service?: string;
  scopes: string[];
  credential?: Credential;
  /** The registry host the token is for, in messages. */
  registry: string;
  signal?: AbortSignal;
}

/** Tokens live 60 s unless the server says otherwise (distribution spec's minimum). */
const DEFAULT_EXPIRES_S = 60;

/**
 * Ask a token server for a bearer token (distribution "token authentication"): GET with Basic
 * credentials when we have a password, POST of the OAuth2 refresh-token grant for an identity
 * token, anonymous GET otherwise. Accepts `token` or `access_token`.
 */
export async function requestToken(transport: Transport, req: TokenRequest): Promise<Token> {
  const url = new URL(req.realm);
  const cred = req.credential;
  const what = `get a token from ${redactUrl(url)} for ${req.registry}`;
  let res;
  if (cred?.kind === 'identity-token') {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: 'airgap' });
    if (req.service) form.set('service', req.service);
    if (req.scopes.length) form.set('scope', req.scopes.join(' '));
    res = await transport.send({
      method: 'POST',
      url: url.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(form.toString()),
      what,
      signal: req.signal,
    });
  } else {
    if (req.service) url.searchParams.set('service', req.service);
    for (const s of req.scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    let authorization: { origin: string; value: string } | undefined;
    if (cred?.kind === 'basic') {
      url.searchParams.set('client_id', 'airgap');
      authorization = { origin: url.origin, value: `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}` };
    }
    res = await transport.send({ method: 'GET', url: url.toString(), headers, authorization, what, signal: req.signal });
  }
  const { data } = await readLimited(res.body, 1024 * 1024);
  if (res.status === 401 || res.status === 403) {
    const who = cred ? `the credentials from ${cred.source}` : 'anonymous access';
    throw new RegistryAuthError(`the token server ${redactUrl(req.realm)} refused ${who} for ${req.scopes.join(' ') || req.registry}`, {
      registry: req.registry,
      status: res.status,
      errors: parseErrorBody(data),
      endpoint: redactUrl(req.realm),
    });
  }
  if (res.status !== 200) {
    throw new RegistryResponseError(what, { status: res.status, errors: parseErrorBody(data), endpoint: redactUrl(req.realm) });
  }
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    doc = JSON.parse(data.toString('utf8')) as typeof doc;
  } catch {
    throw new RegistryResponseError(`${what}: the answer is not JSON (content-type ${header(res.headers, 'content-type') ?? 'none'})`, { status: res.status });
  }
  const value = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
  if (!value) throw new RegistryResponseError(`${what}: the answer has no token`, { status: res.status });
  const expiresIn = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_EXPIRES_S;
  // Renew a little early so a request never leaves with a token about to lapse.
  const margin = Math.min(10, expiresIn / 10);
  return { value, expiresAt: Date.now() + (expiresIn - margin) * 1000 };
}
