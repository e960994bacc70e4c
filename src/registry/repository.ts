import type { Readable } from 'node:stream';
import { DigestMismatchError, SizeMismatchError } from '../content/errors.js';
import type { FetchOptions, PushOptions, TagLister, Target } from '../content/target.js';
import { readAll } from '../content/verify-stream.js';
import type { Descriptor } from '../oci/descriptor.js';
import { digestAlgorithm, digestOf, isDigest, type Digest } from '../oci/digest.js';
import { UnsupportedMediaTypeError, InvalidManifestError } from '../oci/errors.js';
import { MAX_MANIFEST_BYTES, parseManifest, type ParsedManifest } from '../oci/manifest.js';
import { isManifestMediaType, isSchema1MediaType, manifestKind, MANIFEST_ACCEPT, normalizeMediaType } from '../oci/media-type.js';
import { parseReference } from '../oci/reference.js';
import { UsageError } from '../errors.js';
import { openBlobStream } from './blob-stream.js';
import { BlobNotFoundError, ImageNotFoundError, RegistryResponseError } from './errors.js';
import type { Endpoint } from './mirrors.js';
import { Session, type ClientContext } from './session.js';
import { discard, header, readLimited, type HttpResponse } from './transport.js';
import { cancelUpload, location, startUpload, uploadBlob, verified } from './upload.js';

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
  manifest: ParsedManifest;
}

const TAG = /^[\w][\w.-]{0,127}$/;
/** Manifest bytes kept after a push or fetch, so tag() needs no round trip. Bounded by count. */
const MANIFEST_CACHE_ENTRIES = 64;

/**
 * One repository of a registry (or of its mirror), as a content Target: resolve, fetch and push
 * manifests and blobs over the distribution API, verified as bytes pass.
 */
export class Repository implements Target, TagLister {
  /** The logical name: "registry.k8s.io/pause". */
  readonly name: string;
  private readonly session: Session;
  private readonly manifests = new Map<string, Buffer>();

  constructor(ctx: ClientContext, readonly endpoint: Endpoint, opts: { pushIntent?: boolean } = {}) {
    this.name = `${endpoint.registry}/${endpoint.repository}`;
    this.session = new Session(ctx, endpoint, opts.pushIntent ?? false);
  }

  /** For messages: "registry.k8s.io/pause (via http://127.0.0.1:5000/registry.k8s.io)". */
  get description(): string {
    const ep = this.endpoint;
    if (ep.mirror) return `${this.name} (via ${ep.mirror.display})`;
    // Plain HTTP is worth saying; https://<registry> (or Docker Hub's API host) goes without saying.
    const origin = new URL(this.session.base).origin;
    if (origin.startsWith('http:')) return `${this.name} (${origin})`;
    return this.name;
  }

  /** The repository's endpoint URL, e.g. "http://127.0.0.1:5000/v2/registry.k8s.io/pause". */
  get source(): string {
    return this.session.source;
  }

  /** A tag, a digest, or a full reference to this repository -> the tag or digest to ask for. */
  private identifier(reference: string): string {
    if (isDigest(reference) || TAG.test(reference)) return reference;
    const ref = parseReference(reference, { defaultTag: false });
    if (ref.registry !== this.endpoint.registry || ref.repository !== this.endpoint.repository) {
      throw new UsageError('ERR_REFERENCE_MISMATCH', `${reference} does not name repository ${this.name}`, {
        details: { reference, repository: this.name },
      });
    }
    return ref.identifier;
  }

  private label(id: string): string {
    return isDigest(id) ? `${this.name}@${id}` : `${this.name}:${id}`;
  }

  private manifestNotFound(id: string) {
    return (f: { status: number; errors: { code: string; message?: string }[] }) =>
      new ImageNotFoundError(this.label(id), this.source, { ...f });
  }

  private schema1(mediaType: string, id: string): never {
    try {
      manifestKind(mediaType);
    } catch (e) {
      if (e instanceof UnsupportedMediaTypeError) {
        throw new UnsupportedMediaTypeError(e.mediaType, e.hint, { reference: this.label(id), source: this.source });
      }
      throw e;
    }
    throw new UnsupportedMediaTypeError(mediaType);
  }

  /** HEAD the manifest (cheap, and not counted by Docker Hub's pull limits); GET when HEAD tells too little. */
  async resolve(reference: string, opts: RequestOptions = {}): Promise<Descriptor> {
    const id = this.identifier(reference);
    const what = `resolve ${this.label(id)}`;
    const res = await this.session.request({
      method: 'HEAD',
      path: `manifests/${id}`,
      headers: { accept: MANIFEST_ACCEPT },
      access: 'pull',
      signal: opts.signal,
      what,
    });
    await discard(res.body);
    if (res.status === 200) {
      const mediaType = normalizeMediaType(header(res.headers, 'content-type'));
      const sent = header(res.headers, 'docker-content-digest');
      const size = Number(header(res.headers, 'content-length') ?? NaN);
      if (isSchema1MediaType(mediaType)) this.schema1(mediaType, id);
      const digest = isDigest(id) ? id : sent && isDigest(sent) ? sent : undefined;
      if (isDigest(id) && sent && isDigest(sent) && digestAlgorithm(sent) === digestAlgorithm(id) && sent !== id) {
        throw new DigestMismatchError(id, sent, this.description, 'remote');
      }
      if (digest && isManifestMediaType(mediaType) && Number.isSafeInteger(size) && size > 0) {
        return { mediaType, digest: digest as Digest, size };
      }
      this.session.emit({ type: 'fallback', what: 'head-to-get', registry: this.endpoint.credentialHost, reason: 'HEAD lacked digest, type or length' });
    } else if (res.status === 404) {
      throw await this.session.error(res, what, this.manifestNotFound(id));
    } else if (res.status === 401 || res.status === 403) {
      throw await this.session.error(res, what);
    } else {
      this.session.emit({ type: 'fallback', what: 'head-to-get', registry: this.endpoint.credentialHost, reason: `HEAD answered ${res.status}` });
    }
    return (await this.fetchManifest(id, opts)).descriptor;
  }

  /** GET a manifest: bounded, digest-checked (against the digest asked for, else Docker-Content-Digest), parsed. */
  async fetchManifest(ref: string | Descriptor, opts: RequestOptions = {}): Promise<FetchedManifest> {
    const desc = typeof ref === 'string' ? undefined : ref;
    const id = desc ? desc.digest : this.identifier(ref as string);
    const what = `fetch manifest ${this.label(id)}`;
    const accept = desc && !MANIFEST_ACCEPT.includes(normalizeMediaType(desc.mediaType)) && desc.mediaType
      ? `${desc.mediaType}, ${MANIFEST_ACCEPT}`
      : MANIFEST_ACCEPT;
    const res = await this.session.request({ method: 'GET', path: `manifests/${id}`, headers: { accept }, access: 'pull', signal: opts.signal, what });
    if (res.status !== 200) throw await this.session.error(res, what, this.manifestNotFound(id));
    const contentType = normalizeMediaType(header(res.headers, 'content-type'));
    const limit = desc ? Math.min(desc.size, MAX_MANIFEST_BYTES) : MAX_MANIFEST_BYTES;
    const { data, truncated } = await readLimited(res.body, limit + 1);
    if (truncated || data.byteLength > limit) {
      if (desc && desc.size <= MAX_MANIFEST_BYTES) throw new SizeMismatchError(desc.digest, desc.size, data.byteLength, this.description, 'remote');
      throw new InvalidManifestError(`manifest ${this.label(id)} is over the ${MAX_MANIFEST_BYTES}-byte limit`, { reference: this.label(id) });
    }
    if (desc && data.byteLength !== desc.size) throw new SizeMismatchError(desc.digest, desc.size, data.byteLength, this.description, 'remote');
    let digest: Digest;
    const sent = header(res.headers, 'docker-content-digest');
    if (isDigest(id)) {
      digest = id;
    } else if (sent && isDigest(sent)) {
      digest = sent;
    } else {
      digest = digestOf(data);
    }
    const actual = digestOf(data, digestAlgorithm(digest));
    if (actual !== digest) throw new DigestMismatchError(digest, actual, this.description, 'remote');
    if (isSchema1MediaType(contentType)) this.schema1(contentType, id);
    let manifest: ParsedManifest;
    try {
      manifest = parseManifest(data, contentType);
    } catch (e) {
      if (e instanceof UnsupportedMediaTypeError) this.schema1(e.mediaType, id);
      throw e;
    }
    const descriptor: Descriptor = desc ?? { mediaType: manifest.mediaType, digest, size: data.byteLength };
    this.remember(digest, data);
    return { descriptor, bytes: data, manifest };
  }

  private remember(digest: string, bytes: Buffer): void {
    this.manifests.delete(digest);
    this.manifests.set(digest, bytes);
    if (this.manifests.size > MANIFEST_CACHE_ENTRIES) this.manifests.delete(this.manifests.keys().next().value!);
  }

  /** Manifests (by media type) or blobs as a verified stream; a dropped connection resumes with Range. */
  async fetch(desc: Descriptor, opts: FetchOptions = {}): Promise<Readable> {
    const isManifest = isManifestMediaType(desc.mediaType);
    const id = this.label(desc.digest);
    const what = `fetch ${isManifest ? 'manifest' : 'blob'} ${desc.digest} of ${this.name}`;
    const accept = isManifest
      ? (MANIFEST_ACCEPT.includes(normalizeMediaType(desc.mediaType)) ? MANIFEST_ACCEPT : `${desc.mediaType}, ${MANIFEST_ACCEPT}`)
      : undefined;
    return openBlobStream({
      desc,
      offset: opts.offset,
      prefix: opts.prefix,
      where: this.description,
      signal: opts.signal,
      policy: this.session.context.transport.retryPolicy,
      emit: this.session.emit,
      hashPool: isManifest ? undefined : this.session.context.hashPool,
      open: async (offset: number): Promise<HttpResponse> => {
        const headers: Record<string, string> = {};
        if (accept) headers.accept = accept;
        if (offset > 0) headers.range = `bytes=${offset}-`;
        const res = await this.session.request({
          method: 'GET',
          path: `${isManifest ? 'manifests' : 'blobs'}/${desc.digest}`,
          headers,
          access: 'pull',
          signal: opts.signal,
          what,
        });
        if (res.status === 200 || res.status === 206) return res;
        throw await this.session.error(res, what, (f) =>
          isManifest ? new ImageNotFoundError(id, this.source, f) : new BlobNotFoundError(desc.digest, this.source, this.name, f));
      },
    });
  }

  async exists(desc: Descriptor, opts: RequestOptions = {}): Promise<boolean> {
    const isManifest = isManifestMediaType(desc.mediaType);
    const what = `check ${isManifest ? 'manifest' : 'blob'} ${desc.digest} in ${this.name}`;
    const res = await this.session.request({
      method: 'HEAD',
      path: `${isManifest ? 'manifests' : 'blobs'}/${desc.digest}`,
      headers: isManifest ? { accept: MANIFEST_ACCEPT } : {},
      access: 'pull',
      signal: opts.signal,
      what,
    });
    await discard(res.body);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.session.error(res, what);
  }

  /** Push a blob, or a manifest (by digest) when the media type is a manifest type. */
  async push(desc: Descriptor, content: Readable, opts: PushOptions = {}): Promise<void> {
    if (isManifestMediaType(desc.mediaType)) {
      if (desc.size > MAX_MANIFEST_BYTES) throw new SizeMismatchError(desc.digest, MAX_MANIFEST_BYTES, desc.size, `push to ${this.source}`);
      const bytes = await readAll(verified(content, desc, `push to ${this.source}`), desc.size);
      await this.pushManifest(bytes, desc.mediaType, desc.digest, opts);
      return;
    }
    await uploadBlob(this.session, desc, content, opts.signal);
  }

  /**
   * Mount a blob from another repository of the same registry. True when mounted; false when the
   * registry cannot (other registry, no access, unknown blob) — the upload it opened instead is
   * cancelled, and the caller pushes the blob.
   */
  async mount(desc: Descriptor, from: string | Repository, opts: RequestOptions = {}): Promise<boolean> {
    const ctx = this.session.context;
    const src = typeof from === 'string' ? ctx.endpointFor(from) : from.endpoint;
    const originOf = (ep: Endpoint): Promise<string> => (ep.probeScheme ? ctx.originFor(ep) : Promise.resolve(ep.origin));
    if ((await originOf(src)) !== (await originOf(this.endpoint))) return false;
    if (src.remoteName === this.endpoint.remoteName) return this.exists(desc, opts);
    const what = `mount blob ${desc.digest} from ${src.registry}/${src.repository} into ${this.name}`;
    const res = await startUpload(this.session, { mount: desc.digest, from: src.remoteName }, what, opts.signal, [
      `repository:${src.remoteName}:pull`,
    ]);
    if (res.status === 201) {
      await discard(res.body);
      return true;
    }
    if (res.status === 202) {
      await discard(res.body);
      const loc = header(res.headers, 'location');
      if (loc) await cancelUpload(this.session, location(res, what));
      return false;
    }
    throw await this.session.error(res, what);
  }

  /** PUT a manifest under a tag or its digest; returns its descriptor. */
  async pushManifest(bytes: Buffer, mediaType: string, reference: string, opts: RequestOptions = {}): Promise<Descriptor> {
    const id = this.identifier(reference);
    if (!normalizeMediaType(mediaType)) throw new UsageError('ERR_MEDIA_TYPE_REQUIRED', `pushing a manifest to ${this.label(id)} needs its media type`);
    // The document's own mediaType wins over the caller's: an OCI layout may list a Docker manifest
    // list as an OCI index (skopeo needs that), and registries check the body against Content-Type.
    const mt = parseManifest(bytes, mediaType).mediaType;
    const digest = isDigest(id) ? digestOf(bytes, digestAlgorithm(id)) : digestOf(bytes);
    if (isDigest(id) && digest !== id) throw new DigestMismatchError(id, digest, `manifest pushed to ${this.label(id)}`);
    const what = `push manifest ${this.label(id)}`;
    const res = await this.session.request({
      method: 'PUT',
      path: `manifests/${id}`,
      headers: { 'content-type': mt, 'content-length': String(bytes.byteLength) },
      body: bytes,
      access: 'push',
      signal: opts.signal,
      what,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 204) throw await this.session.error(res, what);
    const sent = header(res.headers, 'docker-content-digest');
    await discard(res.body);
    if (sent && isDigest(sent) && digestAlgorithm(sent) === digestAlgorithm(digest) && sent !== digest) {
      throw new RegistryResponseError(`${what}: the registry stored it as ${sent}, not ${digest}`, { status: res.status, endpoint: this.source });
    }
    this.remember(digest, bytes);
    return { mediaType: mt, digest, size: bytes.byteLength };
  }

  /** Point a tag at a manifest already in the repository (re-PUT of its bytes, as the spec requires). */
  async tag(desc: Descriptor, tag: string, opts: RequestOptions = {}): Promise<void> {
    const t = this.identifier(tag);
    if (isDigest(t)) throw new UsageError('ERR_INVALID_TAG', `"${tag}" is a digest, not a tag`);
    const bytes = this.manifests.get(desc.digest) ?? (await this.fetchManifest(desc, opts)).bytes;
    await this.pushManifest(bytes, desc.mediaType, t, opts);
  }

  /** Every tag, following Link pagination. */
  async tags(opts: RequestOptions = {}): Promise<string[]> {
    const out: string[] = [];
    const seen = new Set<string>();
    let url: string | undefined = `${this.session.base}/tags/list`;
    const origin = new URL(url).origin;
    const what = `list tags of ${this.name}`;
    while (url) {
      if (seen.has(url) || seen.size >= 10_000) break; // a registry whose pages loop
      seen.add(url);
      const res = await this.session.request({ method: 'GET', url, headers: { accept: 'application/json' }, access: 'pull', signal: opts.signal, what });
      if (res.status !== 200) {
        throw await this.session.error(res, what, (f) => new ImageNotFoundError(this.name, this.source, f));
      }
      const { data } = await readLimited(res.body, 16 * 1024 * 1024);
      let doc: { tags?: unknown };
      try {
        doc = JSON.parse(data.toString('utf8')) as typeof doc;
      } catch {
        throw new RegistryResponseError(`${what}: the answer is not JSON`, { status: res.status, endpoint: this.source });
      }
      if (Array.isArray(doc.tags)) for (const t of doc.tags) if (typeof t === 'string') out.push(t);
      url = nextLink(header(res.headers, 'link'), res.url);
      if (url && new URL(url).origin !== origin) url = undefined; // never follow pagination off the registry
    }
    return out;
  }
}

/** The rel="next" target of a Link header, resolved against the page URL. */
export function nextLink(link: string | undefined, base: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?next"?/i.test(m[2]!)) return new URL(m[1]!, base).toString();
  }
  return undefined;
}
