/**
 * An in-process distribution registry for edge cases the real one cannot produce: auth
 * challenges, faults (resets, 5xx, 429), redirects, servers that ignore Range or HEAD. Content is
 * held in memory; every request is logged (method, URL, headers) for assertions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoggedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

export type Hook = (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean | Promise<boolean>;

export interface FakeRegistryOptions {
  auth?: 'none' | 'basic' | 'bearer';
  username?: string;
  password?: string;
  /** Bearer: tokens expire after this many seconds (sent as expires_in). */
  tokenExpiresIn?: number;
  /** Bearer: return the token under access_token instead of token. */
  accessTokenField?: boolean;
  headNotAllowed?: boolean;
  ignoreRange?: boolean;
  /** Bearer: accept this OAuth2 refresh token (POST grant_type=refresh_token), as docker login's identity token. */
  refreshToken?: string;
  /** Page size for tags/list when the client gives no n. */
  tagPageSize?: number;
}

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Upload {
  repo: string;
  chunks: Buffer[];
}

export class FakeRegistry {
  readonly blobs = new Map<string, Buffer>();
  /** repo -> reference (tag or digest) -> manifest */
  readonly manifests = new Map<string, Map<string, { bytes: Buffer; mediaType: string }>>();
  readonly uploads = new Map<string, Upload>();
  readonly log: LoggedRequest[] = [];
  readonly hooks: Hook[] = [];
  tokenRequests: { url: string; authorization?: string; method?: string; form?: string }[] = [];
  /** Valid tokens -> the scopes they grant. */
  readonly tokens = new Map<string, string[]>();
  private server: Server | undefined;
  url = '';
  host = '';

  constructor(readonly opts: FakeRegistryOptions = {}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', () => res.destroy());
      req.on('end', () => {
        this.log.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
        this.handle(req, res, Buffer.concat(chunks)).catch((e: Error) => {
          if (!res.headersSent) res.writeHead(500).end(e.message);
          else res.destroy();
        });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as AddressInfo).port;
    this.host = `127.0.0.1:${port}`;
    this.url = `http://${this.host}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  /** Add a blob (every repository sees it: the fake does not isolate blobs by repository). */
  addBlob(data: Buffer | string): { digest: string; size: number } {
    const b = Buffer.from(data);
    const digest = sha256(b);
    this.blobs.set(digest, b);
    return { digest, size: b.byteLength };
  }

  addManifest(repo: string, tag: string | undefined, bytes: Buffer | string, mediaType: string): { digest: string; size: number } {
    const b = Buffer.from(bytes);
    const digest = sha256(b);
    const m = this.manifests.get(repo) ?? new Map();
    m.set(digest, { bytes: b, mediaType });
    if (tag) m.set(tag, { bytes: b, mediaType });
    this.manifests.set(repo, m);
    return { digest, size: b.byteLength };
  }

  requests(method: string, pathPart: string): LoggedRequest[] {
    return this.log.filter((r) => r.method === method && r.url.includes(pathPart));
  }

  private json(res: ServerResponse, status: number, doc: unknown, headers: Record<string, string> = {}): void {
    const body = JSON.stringify(doc);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }).end(body);
  }

  private error(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
    this.json(res, status, { errors: [{ code, message }] }, headers);
  }

  /** True when authorized; otherwise answers 401 with the challenge. */
  private authorize(req: IncomingMessage, res: ServerResponse, repo: string | undefined, action: 'pull' | 'push'): boolean {
    const mode = this.opts.auth ?? 'none';
    if (mode === 'none') return true;
    const h = req.headers.authorization ?? '';
    if (mode === 'basic') {
      const want = `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64')}`;
      if (h === want) return true;
      this.error(res, 401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': 'Basic realm="fake registry"' });
      return false;
    }
    const token = h.startsWith('Bearer ') ? h.slice(7) : '';
    const scopes = this.tokens.get(token);
    const need = repo ? `repository:${repo}:${action}` : undefined;
    const ok = scopes !== undefined && (!need || scopes.some((s) => {
      const i = s.lastIndexOf(':');
      return s.slice(0, i) === `repository:${repo}` && s.slice(i + 1).split(',').includes(action);
    }));
    if (ok) return true;
    const scope = repo ? `,scope="repository:${repo}:${action === 'push' ? 'pull,push' : 'pull'}"` : '';
    this.error(res, 401, 'UNAUTHORIZED', 'authentication required', {
      'www-authenticate': `Bearer realm="${this.url}/token",service="fake-registry"${scope}`,
    });
    return false;
  }

  private token(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const u = new URL(req.url ?? '/', this.url);
    this.tokenRequests.push({ url: u.pathname + u.search, authorization: req.headers.authorization, method: req.method, form: req.method === 'POST' ? body.toString() : undefined });
    if (req.method === 'POST') {
      const form = new URLSearchParams(body.toString());
      if (form.get('grant_type') !== 'refresh_token' || !this.opts.refreshToken || form.get('refresh_token') !== this.opts.refreshToken) {
        this.error(res, 401, 'UNAUTHORIZED', 'bad refresh token');
        return;
      }
      const token = randomBytes(12).toString('hex');
      this.tokens.set(token, (form.get('scope') ?? '').split(' ').filter(Boolean));
      this.json(res, 200, { access_token: token, expires_in: 300 });
      return;
    }
    if (this.opts.username) {
      const want = `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        this.error(res, 401, 'UNAUTHORIZED', 'bad credentials');
        return;
      }
    }
    const token = randomBytes(12).toString('hex');
    this.tokens.set(token, u.searchParams.getAll('scope'));
    const field = this.opts.accessTokenField ? 'access_token' : 'token';
    const doc: Record<string, unknown> = { [field]: token };
    if (this.opts.tokenExpiresIn !== undefined) doc.expires_in = this.opts.tokenExpiresIn;
    this.json(res, 200, doc);
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    for (const hook of this.hooks) if (await hook(req, res, body)) return;
    const u = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    if (u.pathname === '/token') return this.token(req, res, body);
    if (u.pathname === '/v2/' || u.pathname === '/v2') {
      if (!this.authorize(req, res, undefined, 'pull')) return;
      return this.json(res, 200, {});
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.*)$/.exec(u.pathname);
    if (!m) return this.error(res, 404, 'NOT_FOUND', 'no route');
    const [, repo, kind, rest] = m as unknown as [string, string, string, string];
    const write = method === 'PUT' || method === 'POST' || method === 'PATCH' || method === 'DELETE';
    if (!this.authorize(req, res, repo, write ? 'push' : 'pull')) return;

    if (kind === 'tags') {
      const tags = [...(this.manifests.get(repo)?.keys() ?? [])].filter((t) => !t.startsWith('sha256:')).sort();
      if (!this.manifests.has(repo)) return this.error(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
      const n = Number(u.searchParams.get('n') ?? this.opts.tagPageSize ?? 0);
      const last = u.searchParams.get('last');
      let list = last ? tags.filter((t) => t > last) : tags;
      const headers: Record<string, string> = {};
      if (n > 0 && list.length > n) {
        list = list.slice(0, n);
        headers.link = `</v2/${repo}/tags/list?n=${n}&last=${encodeURIComponent(list[list.length - 1]!)}>; rel="next"`;
      }
      return this.json(res, 200, { name: repo, tags: list }, headers);
    }

    if (kind === 'manifests') {
      const ref = decodeURIComponent(rest);
      if (method === 'PUT') {
        const mt = req.headers['content-type'] ?? 'application/octet-stream';
        const d = this.addManifest(repo, ref.startsWith('sha256:') ? undefined : ref, body, mt);
        if (ref.startsWith('sha256:') && ref !== d.digest) return this.error(res, 400, 'DIGEST_INVALID', 'digest mismatch');
        res.writeHead(201, { 'docker-content-digest': d.digest, location: `/v2/${repo}/manifests/${d.digest}`, 'content-length': 0 }).end();
        return;
      }
      const found = this.manifests.get(repo)?.get(ref);
      if (method === 'HEAD' && this.opts.headNotAllowed) {
        res.writeHead(405, { 'content-length': 0 }).end();
        return;
      }
      if (!found) {
        if (method === 'HEAD') return void res.writeHead(404, { 'content-length': 0 }).end();
        return this.error(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      }
      const headers = { 'content-type': found.mediaType, 'content-length': String(found.bytes.byteLength), 'docker-content-digest': sha256(found.bytes) };
      res.writeHead(200, headers);
      res.end(method === 'HEAD' ? undefined : found.bytes);
      return;
    }

    // blobs
    if (rest === 'uploads/' || rest === 'uploads') {
      if (method !== 'POST') return this.error(res, 405, 'UNSUPPORTED', 'method');
      const mount = u.searchParams.get('mount');
      if (mount && u.searchParams.get('from') && this.blobs.has(mount)) {
        res.writeHead(201, { location: `/v2/${repo}/blobs/${mount}`, 'docker-content-digest': mount, 'content-length': 0 }).end();
        return;
      }
      const id = randomBytes(8).toString('hex');
      this.uploads.set(id, { repo, chunks: [] });
      res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/${id}?_state=abc`, range: '0-0', 'content-length': 0 }).end();
      return;
    }
    if (rest.startsWith('uploads/')) {
      const id = rest.slice('uploads/'.length);
      const up = this.uploads.get(id);
      if (!up) return this.error(res, 404, 'BLOB_UPLOAD_UNKNOWN', 'upload unknown');
      if (method === 'DELETE') {
        this.uploads.delete(id);
        return void res.writeHead(204).end();
      }
      if (body.length) up.chunks.push(body);
      if (method === 'PATCH') {
        const size = up.chunks.reduce((a, c) => a + c.length, 0);
        res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/${id}?_state=def`, range: `0-${size - 1}`, 'content-length': 0 }).end();
        return;
      }
      if (method === 'PUT') {
        const data = Buffer.concat(up.chunks);
        const digest = u.searchParams.get('digest');
        if (digest !== sha256(data)) return this.error(res, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content');
        this.blobs.set(digest, data);
        this.uploads.delete(id);
        res.writeHead(201, { location: `/v2/${repo}/blobs/${digest}`, 'docker-content-digest': digest, 'content-length': 0 }).end();
        return;
      }
      return this.error(res, 405, 'UNSUPPORTED', 'method');
    }
    const digest = decodeURIComponent(rest);
    const blob = this.blobs.get(digest);
    if (!blob) {
      if (method === 'HEAD') return void res.writeHead(404, { 'content-length': 0 }).end();
      return this.error(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !this.opts.ignoreRange && method === 'GET') {
      const start = Number(range[1]);
      const part = blob.subarray(start);
      res.writeHead(206, { 'content-type': 'application/octet-stream', 'content-length': part.byteLength, 'content-range': `bytes ${start}-${blob.byteLength - 1}/${blob.byteLength}`, 'docker-content-digest': digest });
      res.end(part);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.byteLength, 'docker-content-digest': digest });
    res.end(method === 'HEAD' ? undefined : blob);
  }
}

/** A second, plain server (e.g. the storage host a blob GET redirects to). */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; log: LoggedRequest[]; stop(): Promise<void> }> {
  const log: LoggedRequest[] = [];
  const server = createServer((req, res) => {
    log.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
