import { readFile, open, type FileHandle } from 'node:fs/promises';
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { BundleReader } from '../bundle/reader.js';
import { seekableArchive } from '../archive/cache.js';
import { dockerArchiveView } from '../archive/docker-save.js';
import { ArchiveInputError } from '../archive/errors.js';
import { DEFAULT_ADDR, parseListenAddress, urlHost, normalizePrefix } from './address.js';
import { ServeCatalog, type CatalogStats, type ServedImage } from './catalog.js';
import { ListenError, TlsConfigError, TlsFlagsError } from './errors.js';
import type { ServeEventHandler } from './events.js';
import { createHandler } from './handler.js';
import { hostsToml } from './hosts-toml.js';

export interface ServeOptions {
  /** the bundle file: an airgap bundle, an OCI layout tar or a docker-archive; compressed ones are decompressed once into a cache file beside it */
  bundle: string;
  /** progress of that one-time decompression (compressed bytes read, of the file's size) */
  onDecompress?(done: number, total: number): void;
  /** HOST:PORT to listen on (default 127.0.0.1:5000; port 0 picks a free one) */
  addr?: string;
  /** PEM files: serve HTTPS */
  tls?: { cert: string; key: string };
  /** serve every repository under this path: /v2/<prefix>/registry.k8s.io/pause (matches load --registry URL/<prefix>) */
  prefix?: string;
  /** how long close() lets responses in flight finish before cutting them (default 30 s) */
  shutdownTimeoutMs?: number;
  /** a socket idle (no bytes either way) this long is closed (default 120 s) */
  idleTimeoutMs?: number;
  onEvent?: ServeEventHandler;
}

export interface RunningServer {
  /** base URL clients use: http://127.0.0.1:5000 (a wildcard bind is reached through loopback) */
  readonly url: string;
  /** what was bound */
  readonly address: { host: string; port: number };
  readonly prefix: string;
  readonly images: readonly ServedImage[];
  readonly stats: CatalogStats;
  /** every upstream registry host the bundle has images of */
  readonly registries: readonly string[];
  /** the hosts.toml for one registry host, pointing containerd at this server */
  hostsToml(registry: string): string;
  /**
   * Stop accepting, let responses in flight finish (cut after `timeoutMs`, default the
   * shutdownTimeoutMs option), then close the bundle. Idempotent; resolves when all is closed.
   */
  close(opts?: { timeoutMs?: number }): Promise<void>;
  /** settles when the server has closed, whoever closed it */
  readonly closed: Promise<void>;
}

async function readTls(tls: { cert: string; key: string }): Promise<{ cert: Buffer; key: Buffer }> {
  if (!tls.cert || !tls.key) throw new TlsFlagsError();
  const read = async (what: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new TlsConfigError(`cannot read the TLS ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`,
        `give the PEM file with --tls-${what}`, true, e);
    }
  };
  return { cert: await read('cert', tls.cert), key: await read('key', tls.key) };
}

/**
 * A read-only OCI distribution registry over a bundle file, in place: no extraction, no copy.
 * The bundle's structure is checked at startup (strict open) and every manifest is verified once;
 * blobs are streamed from their byte ranges without re-hashing (`airgap verify` checks them).
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const startedAt = Date.now();
  const listen = parseListenAddress(opts.addr ?? DEFAULT_ADDR);
  const prefix = normalizePrefix(opts.prefix);
  const tls = opts.tls ? await readTls(opts.tls) : undefined;

  if (opts.bundle === '-') {
    throw new ArchiveInputError('ERR_ARCHIVE_NEEDS_FILE', 'serve needs the bundle as a file: it answers many pulls at random offsets, which standard input cannot give',
      'save the stream to a file first, then: airgap serve FILE', { path: '-' });
  }
  // A compressed archive is decompressed once into a cache file beside it (random access).
  const seekable = await seekableArchive(opts.bundle, opts.onDecompress ? { onProgress: opts.onDecompress } : {});
  if (seekable.cache) opts.onEvent?.({ event: 'notice', code: 'decompressed', message: `${opts.bundle} is ${seekable.compression}-compressed: serving ${seekable.path} (${seekable.cache === 'made' ? 'decompressed now' : 'decompressed by an earlier run'}; delete it when done)` });
  const reader = await BundleReader.open(seekable.path, { strict: true, docker: (tar, bytes) => dockerArchiveView(tar, bytes) });
  let file: FileHandle | undefined;
  try {
    for (const n of reader.docker?.notes ?? []) opts.onEvent?.({ event: 'notice', code: 'docker-archive', message: n });
    const catalog = await ServeCatalog.build(reader, { prefix });
    for (const w of catalog.warnings) opts.onEvent?.({ event: 'warning', code: w.code, message: w.message });
    // Our own handle: many concurrent positional reads, independent of the reader's.
    file = await open(reader.path, 'r');
    let closing = false;
    const handler = createHandler({ catalog, file, onEvent: opts.onEvent, closing: () => closing });

    let server: Server;
    if (tls) {
      try {
        server = createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
      } catch (e) {
        throw new TlsConfigError(`the TLS certificate and key cannot be used: ${(e as Error).message}`,
          'give a PEM certificate and its matching unencrypted PEM private key (--tls-cert, --tls-key)', false, e);
      }
    } else {
      server = createHttpServer(handler);
    }
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.setTimeout(opts.idleTimeoutMs ?? 120_000, (socket: Socket) => socket.destroy());

    const inFlight = new Set<ServerResponse>();
    server.on('request', (_req, res: ServerResponse) => {
      inFlight.add(res);
      res.once('close', () => {
        inFlight.delete(res);
        // Once closing, a connection whose answer is done has nothing left to do.
        if (closing) server.closeIdleConnections();
      });
    });

    const where = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const reason = e.code === 'EADDRINUSE' ? 'the address is in use'
          : e.code === 'EACCES' ? 'permission denied'
            : e.code === 'EADDRNOTAVAIL' ? 'not an address of this machine'
              : e.code === 'ENOTFOUND' ? 'the host name does not resolve' : e.message;
        reject(new ListenError(where, reason, e));
      };
      server.once('error', onError);
      server.listen({ host: listen.host, port: listen.port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const bound = server.address() as AddressInfo;
    const url = `${tls ? 'https' : 'http'}://${urlHost(listen.host, bound.port)}`;
    const stats = catalog.stats();

    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => {
      resolveClosed = r;
    });
    let closingPromise: Promise<void> | undefined;
    let forced = false;
    let cutCount = 0;
    let timer: NodeJS.Timeout | undefined;
    const cut = (): void => {
      forced = true;
      cutCount = inFlight.size;
      server.closeAllConnections();
    };
    const fh = file;
    const close = (o: { timeoutMs?: number } = {}): Promise<void> => {
      const timeoutMs = o.timeoutMs ?? opts.shutdownTimeoutMs ?? 30_000;
      if (closingPromise) {
        // Closing already: a shorter deadline (a second Ctrl-C) still applies.
        if (timeoutMs === 0 && inFlight.size) cut();
        return closingPromise;
      }
      closingPromise = (async () => {
        closing = true;
        const done = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        // Only now: whoever hears "closing" may rely on new connections being refused.
        opts.onEvent?.({ event: 'closing', inFlight: inFlight.size });
        if (timeoutMs === 0) cut();
        else timer = setTimeout(cut, timeoutMs);
        await done;
        clearTimeout(timer);
        await fh.close().catch(() => {});
        await reader.close().catch(() => {});
        opts.onEvent?.({ event: 'closed', forced, inFlight: cutCount });
        resolveClosed();
      })();
      return closingPromise;
    };

    opts.onEvent?.({
      event: 'ready',
      url,
      listen: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
      bundle: reader.path,
      prefix,
      tls: !!tls,
      stats,
      ms: Date.now() - startedAt,
    });

    return {
      url,
      address: { host: bound.address, port: bound.port },
      prefix,
      images: catalog.images,
      stats,
      registries: catalog.registries(),
      hostsToml: (registry: string) => hostsToml(registry, { mirror: url, prefix, ...(tls ? { ca: resolvePath(opts.tls!.cert) } : {}) }),
      close,
      closed,
    };
  } catch (e) {
    await file?.close().catch(() => {});
    await reader.close().catch(() => {});
    throw e;
  }
}
