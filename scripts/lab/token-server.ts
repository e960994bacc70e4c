import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { timingSafeEqual } from 'node:crypto';
import { createSigner, randomId, type KeyHeaderStyle } from './jwt.js';

/** One request the token server saw (never the password or the token). */
export interface TokenRequestRecord {
  method: string;
  /** 'password' or 'refresh_token' for OAuth2 POSTs; undefined for the GET flow. */
  grantType: string | undefined;
  service: string | null;
  /** Every requested scope, e.g. 'repository:registry.k8s.io/pause:pull'. */
  scopes: string[];
  hadBasicAuth: boolean;
  /** The authenticated account, or null for anonymous/refused requests. */
  account: string | null;
  status: number;
  /** What the issued token grants, scope-formatted. */
  granted: string[];
}

export interface TokenServerOptions {
  service: string;
  issuer: string;
  keyPem: string;
  certPem: string;
  users: Record<string, string>;
  /** Anonymous requests get a token with pull access only; otherwise they are refused (401). */
  anonymousPull?: boolean;
  keyHeader?: KeyHeaderStyle;
  ttlSeconds?: number;
  /** Serve HTTPS with this cert (the same lab CA as the registry). */
  tls?: { certPem: string; keyPem: string };
}

export interface LabTokenServer {
  /** The realm URL the registry advertises (…/token). */
  url: string;
  requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** "repository:registry.k8s.io/pause:pull,push" -> parts; the name may itself hold ':' in theory. */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(',').filter(Boolean),
  };
}

const ALL_ACTIONS = new Set(['pull', 'push', 'delete', '*']);

function grant(scopes: string[], account: string | null): Access[] {
  const out: Access[] = [];
  for (const s of scopes) {
    const a = parseScope(s);
    if (!a) continue;
    let actions: string[];
    if (account === null) actions = a.type === 'repository' ? a.actions.filter((x) => x === 'pull') : [];
    else actions = a.actions.filter((x) => ALL_ACTIONS.has(x));
    if (actions.length > 0) out.push({ type: a.type, name: a.name, actions });
  }
  return out;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) req.destroy(new Error('token request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * A small Docker-token-spec server: GET /token with optional Basic auth, and the OAuth2 POST /token
 * (grant_type=password | refresh_token) that containerd tries first when it has credentials.
 */
export async function startTokenServer(opts: TokenServerOptions): Promise<LabTokenServer> {
  const signer = createSigner(opts.keyPem, opts.certPem, opts.keyHeader ?? 'x5c');
  const ttl = opts.ttlSeconds ?? 300;
  const requests: TokenRequestRecord[] = [];
  const refreshTokens = new Map<string, string>();

  const checkUser = (user: string, pass: string): string | null => {
    const want = opts.users[user];
    return want !== undefined && safeEqual(want, pass) ? user : null;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://lab');
    const record: TokenRequestRecord = {
      method: req.method ?? '',
      grantType: undefined,
      service: url.searchParams.get('service'),
      scopes: url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean),
      hadBasicAuth: false,
      account: null,
      status: 0,
      granted: [],
    };
    requests.push(record);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/token') return reply(404, { errors: [{ code: 'NOT_FOUND', message: 'no such endpoint' }] });

    let account: string | null = null;
    let wantRefresh = false;
    const authz = req.headers.authorization;
    if (authz?.toLowerCase().startsWith('basic ')) {
      record.hadBasicAuth = true;
      const decoded = Buffer.from(authz.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      account = colon < 0 ? null : checkUser(decoded.slice(0, colon), decoded.slice(colon + 1));
      if (account === null) {
        return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] }, {
          'www-authenticate': 'Basic realm="airgap-lab-token"',
        });
      }
    }

    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      record.grantType = form.get('grant_type') ?? undefined;
      record.service = form.get('service');
      record.scopes = form.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      wantRefresh = form.get('access_type') === 'offline';
      if (record.grantType === 'password') {
        account = checkUser(form.get('username') ?? '', form.get('password') ?? '');
        if (account === null) return reply(401, { error: 'invalid_grant', error_description: 'invalid username or password' });
      } else if (record.grantType === 'refresh_token') {
        account = refreshTokens.get(form.get('refresh_token') ?? '') ?? null;
        if (account === null) return reply(401, { error: 'invalid_grant', error_description: 'unknown refresh token' });
      } else {
        return reply(400, { error: 'unsupported_grant_type' });
      }
    } else if (req.method === 'GET') {
      wantRefresh = url.searchParams.get('offline_token') === 'true' && account !== null;
    } else {
      return reply(405, { errors: [{ code: 'UNSUPPORTED', message: 'GET or POST' }] });
    }

    if (record.service !== opts.service) {
      return reply(400, { errors: [{ code: 'INVALID_SERVICE', message: `unknown service ${JSON.stringify(record.service)}` }] });
    }
    if (account === null && !opts.anonymousPull) {
      return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, {
        'www-authenticate': 'Basic realm="airgap-lab-token"',
      });
    }
    record.account = account;
    const access = grant(record.scopes, account);
    record.granted = access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`);
    const now = Math.floor(Date.now() / 1000);
    const token = signer.sign({
      iss: opts.issuer,
      sub: account ?? '',
      aud: opts.service,
      exp: now + ttl,
      nbf: now - 1,
      iat: now,
      jti: randomId(),
      access,
    });
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: ttl,
      issued_at: new Date(now * 1000).toISOString(),
    };
    if (wantRefresh && account !== null) {
      const rt = randomId();
      refreshTokens.set(rt, account);
      body.refresh_token = rt;
    }
    reply(200, body);
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  };
  const server: Server = opts.tls
    ? createHttpsServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('token server has no TCP address');
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${addr.port}/token`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
