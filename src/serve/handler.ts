import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { cutChunk, releaseChunk, retireSlab, SLAB_BYTES, takeSlab } from '../content/slab-pool.js';
import { isDigest } from '../oci/digest.js';
import { acceptRefusal } from './accept.js';
import type { Repository, ServeCatalog } from './catalog.js';
import type { ServeEventHandler } from './events.js';
import { CATALOG_DEFAULT_PAGE, PageNumberError, paginate } from './pagination.js';
import { parseRange } from './range.js';
import { specErrorBody, SpecError, type SpecErrorCode } from './spec-errors.js';

/**
 * Read size per positional read of a blob: a pooled 1 MiB slab while few downloads run (few
 * syscalls, no fresh memory per MiB: serve's throughput), 128 KiB each once many do, so that
 * memory stays flat (one chunk read ahead and one in the socket per download).
 */
export const SERVE_CHUNK = SLAB_BYTES;
export const SERVE_CHUNK_MANY = 128 * 1024;
/** Downloads in flight up to which each gets SERVE_CHUNK: ~2 MiB each, ~8 MiB in all. */
const LARGE_CHUNK_DOWNLOADS = 4;

const TAG = /^[\w][\w.-]{0,127}$/;
const READ_ONLY_DETAIL = 'airgap serve is read-only: it serves the images of one bundle; push to a registry with airgap load';

export interface HandlerContext {
  catalog: ServeCatalog;
  /** the bundle file, read with positional reads shared by every request */
  file: FileHandle;
  onEvent?: ServeEventHandler;
  /** true once shutdown began: answers then close their connection */
  closing(): boolean;
}

interface RequestState {
  bytes: number;
  error?: string;
  note?: string;
}

type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'upload'; name: string }
  | { kind: 'tags'; name: string }
  | { kind: 'none' };

function route(path: string): Route {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  if (!path.startsWith('/v2/')) return { kind: 'none' };
  let m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
  if (m) return { kind: 'manifest', name: m[1]!, reference: m[2]! };
  m = /^\/v2\/(.+)\/blobs\/uploads(?:\/.*)?$/.exec(path);
  if (m) return { kind: 'upload', name: m[1]! };
  m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path);
  if (m) return { kind: 'blob', name: m[1]!, digest: m[2]! };
  m = /^\/v2\/(.+)\/tags\/list$/.exec(path);
  if (m) return { kind: 'tags', name: m[1]! };
  return { kind: 'none' };
}

/** ETag lists as If-None-Match carries them: `"a", W/"b"` or `*`. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || v === etag;
  });
}

/** Counts the bytes that pass and fails at the end when the bundle file gave fewer than promised. */
/**
 * Copy bytes [offset, offset + length) of the bundle to the response: positional reads, each
 * written before the next is read (one chunk in the socket, one being read: flat memory however
 * many downloads run). A read that fills a pooled slab gives it back once the socket has the bytes
 * (src/content/slab-pool.ts): no fresh memory per MiB served. Fails if the bundle ends early.
 */
async function sendRange(fh: FileHandle, offset: number, length: number, chunk: number, res: ServerResponse, onBytes: (n: number) => void): Promise<void> {
  for (let pos = 0; pos < length;) {
    const want = Math.min(chunk, length - pos);
    const slab = want === SLAB_BYTES ? takeSlab() : undefined;
    const buf = slab ? slab.buf : Buffer.allocUnsafe(want);
    let n: number;
    try {
      n = (await fh.read(buf, 0, want, offset + pos)).bytesRead;
    } catch (e) {
      if (slab) retireSlab(slab);
      throw e;
    }
    const piece = slab ? cutChunk(slab, 0, n) : buf.subarray(0, n);
    if (slab) retireSlab(slab);
    if (n === 0) throw new Error(`the bundle file ended ${length - pos} bytes early (was it truncated or replaced while serving?)`);
    pos += n;
    onBytes(n);
    if (res.destroyed) throw Object.assign(new Error('client closed the connection'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    if (!res.write(piece, () => releaseChunk(piece))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end();
}

export function createHandler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  const { catalog } = ctx;
  /** blob bodies being sent now */
  let downloads = 0;

  const send = (req: IncomingMessage, res: ServerResponse, st: RequestState, status: number, headers: OutgoingHttpHeaders, body?: Buffer): void => {
    if (body) headers['content-length'] = body.length;
    res.writeHead(status, headers);
    if (body && req.method !== 'HEAD') {
      st.bytes += body.length;
      res.end(body);
    } else {
      res.end();
    }
  };

  const json = (req: IncomingMessage, res: ServerResponse, st: RequestState, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void => {
    send(req, res, st, status, { 'content-type': 'application/json; charset=utf-8', ...headers }, Buffer.from(JSON.stringify(value)));
  };

  const fail = (req: IncomingMessage, res: ServerResponse, st: RequestState, code: SpecErrorCode, message?: string, detail?: unknown, headers: OutgoingHttpHeaders = {}): void => {
    st.error = code;
    if (message) st.note = message;
    json(req, res, st, SpecError[code].status, specErrorBody(code, message, detail), { 'x-content-type-options': 'nosniff', ...headers });
  };

  const repository = (req: IncomingMessage, res: ServerResponse, st: RequestState, name: string, query: URLSearchParams): Repository | undefined => {
    const ns = query.get('ns') ?? undefined;
    const repo = catalog.lookup(name, ns);
    if (!repo) fail(req, res, st, 'NAME_UNKNOWN', undefined, { name });
    return repo;
  };

  const manifest = (req: IncomingMessage, res: ServerResponse, st: RequestState, name: string, reference: string, query: URLSearchParams): void => {
    const repo = repository(req, res, st, name, query);
    if (!repo) return;
    let digest: string | undefined;
    if (reference.includes(':')) {
      if (!isDigest(reference)) return fail(req, res, st, 'DIGEST_INVALID', `${reference} is not a valid digest`, { digest: reference });
      digest = reference;
      if (!repo.content.has(digest)) return fail(req, res, st, 'MANIFEST_UNKNOWN', repo.absent.get(digest), { name: repo.name, digest });
    } else {
      digest = TAG.test(reference) ? repo.tags.get(reference) : undefined;
      if (!digest) return fail(req, res, st, 'MANIFEST_UNKNOWN', undefined, { name: repo.name, Tag: reference });
      // A damaged bundle may name an image whose manifest it lacks (warned about at startup).
      if (!repo.content.has(digest)) return fail(req, res, st, 'MANIFEST_UNKNOWN', repo.absent.get(digest), { name: repo.name, Tag: reference, digest });
    }
    const m = catalog.manifest(digest);
    if (!m) return fail(req, res, st, 'MANIFEST_UNKNOWN', `${digest} is not a manifest`, { name: repo.name, digest });
    const etag = `"${m.digest}"`;
    const headers: OutgoingHttpHeaders = { 'docker-content-digest': m.digest, etag };
    if (etagMatches(req.headers['if-none-match'], etag)) return send(req, res, st, 304, headers);
    const refusal = acceptRefusal(req.headers.accept, m.mediaType);
    if (refusal) return fail(req, res, st, 'MANIFEST_UNKNOWN', refusal, { name: repo.name, digest, mediaType: m.mediaType });
    send(req, res, st, 200, { ...headers, 'content-type': m.mediaType }, m.bytes);
  };

  const blob = (req: IncomingMessage, res: ServerResponse, st: RequestState, name: string, digest: string, query: URLSearchParams): void => {
    const repo = repository(req, res, st, name, query);
    if (!repo) return;
    if (!isDigest(digest)) return fail(req, res, st, 'DIGEST_INVALID', `${digest} is not a valid digest`, { digest });
    const where = repo.content.has(digest) ? catalog.blob(digest) : undefined;
    if (!where) return fail(req, res, st, 'BLOB_UNKNOWN', repo.absent.get(digest), { digest });
    const etag = `"${digest}"`;
    const headers: OutgoingHttpHeaders = {
      'docker-content-digest': digest,
      etag,
      'accept-ranges': 'bytes',
      // Content-addressed: a digest's bytes never change.
      'cache-control': 'max-age=31536000',
    };
    if (etagMatches(req.headers['if-none-match'], etag)) return send(req, res, st, 304, headers);
    const ifRange = req.headers['if-range'];
    const range = parseRange(req.headers.range, where.size, { ifRange: typeof ifRange === 'string' ? ifRange : undefined, etag });
    if (range.kind === 'unsatisfiable') {
      st.error = 'RANGE_NOT_SATISFIABLE';
      return send(req, res, st, 416, { ...headers, 'content-range': `bytes */${where.size}`, 'content-type': 'text/plain; charset=utf-8' },
        Buffer.from(`requested range not satisfiable: ${String(req.headers.range)} of a ${where.size}-byte blob\n`));
    }
    const start = range.kind === 'partial' ? range.start : 0;
    const length = range.kind === 'partial' ? range.end - range.start + 1 : where.size;
    headers['content-type'] = 'application/octet-stream';
    headers['content-length'] = length;
    if (range.kind === 'partial') headers['content-range'] = `bytes ${range.start}-${range.end}/${where.size}`;
    const status = range.kind === 'partial' ? 206 : 200;
    const cached = catalog.manifest(digest);
    if (req.method === 'HEAD' || cached || length === 0) {
      return send(req, res, st, status, headers, cached ? cached.bytes.subarray(start, start + length) : undefined);
    }
    res.writeHead(status, headers);
    downloads++;
    const chunk = downloads <= LARGE_CHUNK_DOWNLOADS ? SERVE_CHUNK : SERVE_CHUNK_MANY;
    sendRange(ctx.file, where.offset + start, length, chunk, res, (n) => {
      st.bytes += n;
    }).finally(() => {
      downloads--;
    }).catch((err: Error) => {
      // The status line is gone: the only honest signal left is to cut the connection.
      st.note ??= (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' ? 'client closed the connection' : err.message;
      res.destroy();
    });
  };

  const tags = (req: IncomingMessage, res: ServerResponse, st: RequestState, name: string, query: URLSearchParams): void => {
    const repo = repository(req, res, st, name, query);
    if (!repo) return;
    try {
      const page = paginate([...repo.tags.keys()].sort(), query, `/v2/${repo.name}/tags/list`);
      json(req, res, st, 200, { name: repo.name, tags: page.items }, page.link ? { link: page.link } : {});
    } catch (e) {
      if (!(e instanceof PageNumberError)) throw e;
      fail(req, res, st, 'PAGINATION_NUMBER_INVALID', e.message, { n: query.get('n') });
    }
  };

  const catalogList = (req: IncomingMessage, res: ServerResponse, st: RequestState, query: URLSearchParams): void => {
    try {
      const page = paginate([...catalog.repositories.keys()], query, '/v2/_catalog', CATALOG_DEFAULT_PAGE);
      json(req, res, st, 200, { repositories: page.items }, page.link ? { link: page.link } : {});
    } catch (e) {
      if (!(e instanceof PageNumberError)) throw e;
      fail(req, res, st, 'PAGINATION_NUMBER_INVALID', e.message, { n: query.get('n') });
    }
  };

  return (req, res) => {
    const started = process.hrtime.bigint();
    const st: RequestState = { bytes: 0 };
    res.once('close', () => {
      if (!res.writableFinished) st.note ??= 'client closed the connection';
      ctx.onEvent?.({
        event: 'request',
        method: req.method ?? '?',
        path: req.url ?? '',
        status: res.statusCode,
        bytes: st.bytes,
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        remote: req.socket.remoteAddress ?? '',
        ...(st.error ? { error: st.error } : {}),
        ...(st.note ? { note: st.note } : {}),
      });
    });
    res.setHeader('docker-distribution-api-version', 'registry/2.0');
    if (ctx.closing()) res.setHeader('connection', 'close');

    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    let path: string;
    try {
      path = decodeURIComponent(q < 0 ? raw : raw.slice(0, q));
    } catch {
      path = '';
    }
    const r = route(path);
    if (r.kind === 'none') {
      st.error = 'NOT_FOUND';
      return send(req, res, st, 404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }, Buffer.from('404 page not found\n'));
    }
    if ((req.method !== 'GET' && req.method !== 'HEAD') || r.kind === 'upload') {
      // Connection: close, so an upload body we will never read does not hold the connection.
      return fail(req, res, st, 'UNSUPPORTED', undefined, READ_ONLY_DETAIL, { allow: 'GET, HEAD', connection: 'close' });
    }
    try {
      switch (r.kind) {
        case 'base':
          return json(req, res, st, 200, {});
        case 'catalog':
          return catalogList(req, res, st, query);
        case 'manifest':
          return manifest(req, res, st, r.name, r.reference, query);
        case 'blob':
          return blob(req, res, st, r.name, r.digest, query);
        case 'tags':
          return tags(req, res, st, r.name, query);
      }
    } catch (e) {
      st.note = (e as Error).message;
      if (!res.headersSent) {
        st.error = 'UNKNOWN';
        json(req, res, st, 500, { errors: [{ code: 'UNKNOWN', message: 'unknown error', detail: (e as Error).message }] });
      } else {
        res.destroy();
      }
    }
  };
}
