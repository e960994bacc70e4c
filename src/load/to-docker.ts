import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { BundleReader } from '../bundle/reader.js';
import type { LoadImage } from '../bundle/images.js';
import { AirgapError } from '../errors.js';
import { isSocket } from '../node/containerd/ctr.js';
import type { Descriptor } from '../oci/descriptor.js';
import { isNonDistributableMediaType } from '../oci/media-type.js';
import { formatPlatform, hostPlatform, platformCompatible, platformMatches, type Platform } from '../oci/platform.js';
import { dockerArchive } from './docker-archive.js';
import { dockerRepoTag } from '../bundle/docker-manifest.js';
import { DockerError } from './errors.js';
import type { LoadEvent } from './events.js';

/**
 * load into Docker Engine (a node whose kubelet talks to cri-dockerd): every image, one platform,
 * into Docker's image store under its original name through the Engine API on its unix socket —
 * `POST /images/load` with a docker-archive made on the fly from the bundle. Docker's image ID is
 * the digest of the image's config, so an image whose name already has that ID is skipped.
 */

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** Levels of indexes above a manifest; deeper is hostile (as in bundle/images.ts). */
const MAX_DEPTH = 8;
const SMALL_REQUEST_TIMEOUT_MS = 30_000;
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export interface DockerImageResult {
  image: string;
  status: 'loaded' | 'present' | 'would-load' | 'failed';
  /** the image ID Docker gives it: the digest of the config of the platform loaded */
  imageId?: string;
  platform?: string;
  error?: AirgapError;
}

export interface DockerPhaseResult {
  socket: string;
  /** Docker Engine's version, e.g. "20.10.24+dfsg1" */
  version: string;
  apiVersion: string;
  images: DockerImageResult[];
}

export interface DockerPhaseOptions {
  bundle: BundleReader;
  images: readonly LoadImage[];
  /** default /var/run/docker.sock */
  socket?: string;
  /** the platform Docker runs (default this machine's) */
  platform?: Platform;
  dryRun: boolean;
  signal?: AbortSignal;
  emit(e: LoadEvent): void;
}

const startHint = (socket: string): string => socket === DEFAULT_DOCKER_SOCKET
  ? 'start Docker Engine (systemctl start docker), or name its socket: --docker /path/to/docker.sock'
  : `start Docker Engine (systemctl start docker) so that it listens on ${socket}, or name the socket it listens on: --docker SOCKET`;

/** The few Engine API calls load needs, over the unix socket (one connection per request). */
export class DockerEngine {
  constructor(readonly socket: string) {}

  /** The socket is there and Docker answers _ping; its version. */
  static async connect(socket: string): Promise<{ engine: DockerEngine; version: string; apiVersion: string }> {
    if (!(await isSocket(socket))) {
      throw new DockerError('ERR_DOCKER_NO_SOCKET', `no Docker Engine socket at ${socket}`, startHint(socket), { socket });
    }
    const engine = new DockerEngine(socket);
    const ping = await engine.call('GET', '/_ping');
    if (ping.status !== 200) throw engine.apiError('GET /_ping', ping);
    const v = await engine.call('GET', '/version');
    if (v.status !== 200) throw engine.apiError('GET /version', v);
    const doc = parseJson(v.body) as { Version?: unknown; ApiVersion?: unknown } | undefined;
    return { engine, version: typeof doc?.Version === 'string' ? doc.Version : 'unknown', apiVersion: typeof doc?.ApiVersion === 'string' ? doc.ApiVersion : 'unknown' };
  }

  /** The image ID a name (or an ID) has in Docker's store; undefined when Docker has no such image. */
  async imageId(name: string): Promise<string | undefined> {
    const r = await this.call('GET', `/images/${name}/json`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw this.apiError(`GET /images/${name}/json`, r);
    const id = (parseJson(r.body) as { Id?: unknown } | undefined)?.Id;
    if (typeof id !== 'string') throw this.apiError(`GET /images/${name}/json`, r, 'the answer has no Id');
    return id;
  }

  /**
   * POST /images/load with `archive` as the streamed body; the names Docker says it loaded. When the
   * archive fails (a blob does not match its digest) the upload is cut off before its end, so Docker
   * loads nothing of it, and the archive's error is thrown.
   */
  load(archive: Readable, signal?: AbortSignal): Promise<string[]> {
    return new Promise((resolve, reject) => {
      let archiveError: unknown;
      let settled = false;
      const finish = (err: unknown, names?: string[]): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (err !== undefined) reject(err);
        else resolve(names ?? []);
      };
      const req = httpRequest({
        socketPath: this.socket,
        method: 'POST',
        path: '/images/load?quiet=1',
        headers: { 'Content-Type': 'application/x-tar' },
        agent: false,
      });
      const onAbort = (): void => {
        archive.destroy();
        req.destroy();
        finish(signal?.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      archive.on('error', (e) => {
        archiveError = e;
        // No terminating chunk: Docker sees an unexpected EOF, not an archive.
        req.destroy(e);
        finish(e);
      });
      req.on('error', (e) => finish(archiveError ?? this.connectionError(e)));
      req.on('response', (res) => {
        // Docker answered before the archive ended (it refused it early): stop sending.
        if (!archive.readableEnded) {
          archive.unpipe(req);
          archive.destroy();
        }
        readAnswer(res).then((body) => {
          if (archiveError !== undefined) return finish(archiveError);
          try {
            finish(undefined, parseLoadAnswer(res.statusCode ?? 0, body, this.socket));
          } catch (e) {
            finish(e);
          }
        }, (e: unknown) => finish(archiveError ?? this.connectionError(e)));
      });
      archive.pipe(req);
    });
  }

  private call(method: string, path: string): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ socketPath: this.socket, method, path, agent: false, timeout: SMALL_REQUEST_TIMEOUT_MS });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer in ${SMALL_REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', (e) => reject(this.connectionError(e)));
      req.on('response', (res) => {
        readAnswer(res).then((body) => resolve({ status: res.statusCode ?? 0, body }), (e: unknown) => reject(this.connectionError(e)));
      });
      req.end();
    });
  }

  private connectionError(e: unknown): AirgapError {
    if (e instanceof AirgapError) return e;
    const code = (e as NodeJS.ErrnoException)?.code;
    const msg = (e as Error)?.message ?? String(e);
    if (code === 'EACCES' || code === 'EPERM') {
      return new DockerError('ERR_DOCKER_PERMISSION', `no permission to use Docker Engine's socket ${this.socket}`,
        'run as root (or as a member of the docker group)', { socket: this.socket }, e);
    }
    return new DockerError('ERR_DOCKER_NOT_ANSWERING', `Docker Engine does not answer on ${this.socket}: ${msg}`,
      `${startHint(this.socket)}; see its log: journalctl -u docker`, { socket: this.socket, errno: code }, e);
  }

  private apiError(what: string, r: { status: number; body: Buffer }, why?: string): DockerError {
    const message = why ?? errorMessage(r.body) ?? `HTTP ${r.status}`;
    return new DockerError('ERR_DOCKER_API', `Docker Engine on ${this.socket} answered ${what} with ${r.status}: ${message}`,
      'see Docker\'s log (journalctl -u docker)', { socket: this.socket, status: r.status });
  }
}

async function readAnswer(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    const b = c as Buffer;
    n += b.byteLength;
    if (n > MAX_ANSWER_BYTES) throw new Error(`the answer is over ${MAX_ANSWER_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks, n);
}

function parseJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** `{"message": …}`, the Engine API's error body. */
function errorMessage(b: Buffer): string | undefined {
  const m = (parseJson(b) as { message?: unknown } | undefined)?.message;
  if (typeof m === 'string') return m;
  const t = b.toString('utf8').trim();
  return t ? t.slice(0, 500) : undefined;
}

/**
 * /images/load answers 200 and then JSON lines: `{"stream":"Loaded image: X\n"}`, or — an error
 * after the answer began — `{"errorDetail":{"message":…},"error":…}`. Any other status carries
 * `{"message": …}`. The names Docker says it loaded.
 */
export function parseLoadAnswer(status: number, body: Buffer, socket: string): string[] {
  if (status !== 200) {
    throw new DockerError('ERR_DOCKER_LOAD', `Docker Engine on ${socket} refused the image archive (HTTP ${status}): ${errorMessage(body) ?? 'no reason given'}`,
      'see Docker\'s log (journalctl -u docker)', { socket, status });
  }
  const loaded: string[] = [];
  for (const line of body.toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    const doc = parseJson(Buffer.from(line)) as { stream?: unknown; error?: unknown; errorDetail?: { message?: unknown } } | undefined;
    if (!doc || typeof doc !== 'object') continue;
    if (doc.error !== undefined || doc.errorDetail !== undefined) {
      const m = typeof doc.errorDetail?.message === 'string' ? doc.errorDetail.message : typeof doc.error === 'string' ? doc.error : JSON.stringify(doc.error);
      throw new DockerError('ERR_DOCKER_LOAD', `Docker Engine on ${socket} could not load the image archive: ${m}`,
        'see Docker\'s log (journalctl -u docker)', { socket });
    }
    if (typeof doc.stream === 'string') {
      for (const s of doc.stream.split('\n')) {
        const m = /^Loaded image(?: ID)?: (\S+)/.exec(s.trim());
        if (m) loaded.push(m[1]!);
      }
    }
  }
  return loaded;
}

/** What to load for one image: the one manifest of the platform, its config and layers, its tag. */
export interface DockerPlan {
  image: LoadImage;
  /** registry.k8s.io/pause:3.9; undefined for a name by digest only (loaded untagged, found by image ID) */
  tag?: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  platformLabel: string;
}

/** The manifest Docker should get: the wanted platform's (exact match first, then what it runs), else the first platform, with a warning. */
export async function planDockerImage(reader: BundleReader, image: LoadImage, want: Platform, emit: (e: LoadEvent) => void): Promise<DockerPlan> {
  let desc: Descriptor = image.descriptor;
  let label: string | undefined;
  for (let depth = 0; ; depth++) {
    if (depth > MAX_DEPTH) throw new DockerError('ERR_DOCKER_NO_PLATFORM', `${image.name}: indexes nested deeper than ${MAX_DEPTH} levels`, 'repack the image', { image: image.name });
    const parsed = await reader.readManifest(desc);
    if (parsed.kind === 'manifest') {
      const m = parsed.manifest;
      for (const l of m.layers) {
        if (isNonDistributableMediaType(l.mediaType) && !(await reader.exists(l))) {
          throw new DockerError('ERR_DOCKER_FOREIGN_LAYER', `${image.name} has a foreign layer (${l.digest}) the bundle does not hold; a docker-archive cannot carry it`,
            'pull this image on the node from a registry that serves it', { image: image.name, digest: l.digest });
        }
      }
      if (label === undefined) {
        const c = JSON.parse((await reader.readBlob(m.config)).toString('utf8')) as { os?: unknown; architecture?: unknown; variant?: unknown };
        label = typeof c.os === 'string' && typeof c.architecture === 'string'
          ? formatPlatform({ os: c.os, architecture: c.architecture, ...(typeof c.variant === 'string' && c.variant ? { variant: c.variant } : {}) })
          : formatPlatform(want);
      }
      const tag = dockerRepoTag(image.ref);
      return {
        image,
        ...(tag ? { tag } : {}),
        manifest: desc,
        config: m.config,
        layers: m.layers,
        platformLabel: label,
      };
    }
    const held = image.graph.children.get(desc.digest) ?? [];
    let pick = held.find((c) => platformMatches(want, c.platform)) ?? held.find((c) => platformCompatible(want, c.platform));
    if (!pick) {
      pick = held.find((c) => c.platform && c.platform.os !== 'unknown');
      if (!pick) {
        throw new DockerError('ERR_DOCKER_NO_PLATFORM', `the bundle holds no image manifest for any platform of ${image.name}`,
          'pack the bundle with this node\'s platform (--platform linux/amd64)', { image: image.name });
      }
      emit({
        event: 'warning',
        code: 'NO_HOST_PLATFORM',
        image: image.name,
        message: `the bundle has no ${formatPlatform(want)} content for ${image.name}; loading ${formatPlatform(pick.platform!)} into Docker (pack the bundle with --platform ${formatPlatform(want)} for this node)`,
      });
    }
    label = pick.platform ? formatPlatform(pick.platform) : label;
    desc = pick;
  }
}

function asAirgapError(e: unknown): AirgapError {
  if (e instanceof AirgapError) return e;
  return new DockerError('ERR_DOCKER_LOAD', (e as Error)?.message ?? String(e), 'see Docker\'s log (journalctl -u docker)', {}, e);
}

export async function loadIntoDocker(opts: DockerPhaseOptions): Promise<DockerPhaseResult> {
  const socket = opts.socket ?? DEFAULT_DOCKER_SOCKET;
  const { engine, version, apiVersion } = await DockerEngine.connect(socket);
  opts.emit({ event: 'docker-engine', socket, version, apiVersion });
  const want = opts.platform ?? hostPlatform();
  const results = new Map<string, DockerImageResult>();
  // Each image's outcome is told as soon as it is known (a large image takes a while to load).
  const settle = (r: DockerImageResult): void => {
    results.set(r.image, r);
    opts.emit({
      event: 'docker-image',
      image: r.image,
      status: r.status,
      ...(r.imageId ? { imageId: r.imageId } : {}),
      ...(r.platform ? { platform: r.platform } : {}),
      ...(r.error ? { error: r.error.message } : {}),
    });
  };

  // Plan each image and ask Docker what its name has now.
  const toLoad: DockerPlan[] = [];
  for (const image of opts.images) {
    let plan: DockerPlan;
    try {
      plan = await planDockerImage(opts.bundle, image, want, opts.emit);
    } catch (e) {
      settle({ image: image.name, status: 'failed', error: asAirgapError(e) });
      continue;
    }
    const id = await engine.imageId(plan.tag ?? plan.config.digest);
    if (id === plan.config.digest) {
      settle({ image: image.name, status: 'present', imageId: id, platform: plan.platformLabel });
    } else {
      toLoad.push(plan);
    }
  }

  // One archive per Docker image: every name of the bundle that has the same config goes in its RepoTags.
  const groups = new Map<string, DockerPlan[]>();
  for (const p of toLoad) {
    const g = groups.get(p.config.digest);
    if (g) g.push(p);
    else groups.set(p.config.digest, [p]);
  }
  for (const [imageId, plans] of groups) {
    if (opts.dryRun) {
      for (const p of plans) settle({ image: p.image.name, status: 'would-load', imageId, platform: p.platformLabel });
      continue;
    }
    const first = plans[0]!;
    try {
      const archive = dockerArchive(opts.bundle, [{
        repoTags: plans.flatMap((p) => (p.tag ? [p.tag] : [])),
        config: first.config,
        layers: first.layers,
      }], opts.signal ? { signal: opts.signal } : {});
      await engine.load(archive, opts.signal);
      // What Docker holds now, not what it printed: each name must have the bundle's image ID.
      for (const p of plans) {
        const got = await engine.imageId(p.tag ?? imageId);
        settle(got === imageId
          ? { image: p.image.name, status: 'loaded', imageId, platform: p.platformLabel }
          : {
            image: p.image.name,
            status: 'failed',
            imageId,
            platform: p.platformLabel,
            error: new DockerError('ERR_DOCKER_LOAD_MISSING', `after the load, Docker ${got ? `names ${got} as ${p.tag ?? imageId}` : `has no image ${p.tag ?? imageId}`}, expected ${imageId}`,
              'see Docker\'s log (journalctl -u docker); check that nothing else retagged the image', { image: p.image.name, expected: imageId, got }),
          });
      }
    } catch (e) {
      const error = asAirgapError(e);
      for (const p of plans) settle({ image: p.image.name, status: 'failed', imageId, platform: p.platformLabel, error });
    }
    if (opts.signal?.aborted) break;
  }

  const images = opts.images.flatMap((i) => {
    const r = results.get(i.name);
    return r ? [r] : [];
  });
  return { socket, version, apiVersion, images };
}
