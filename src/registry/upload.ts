import { pipeline, type Readable } from 'node:stream';
import { isCheckedFor, readAll, VerifyingStream } from '../content/verify-stream.js';
import type { Descriptor } from '../oci/descriptor.js';
import { RegistryResponseError } from './errors.js';
import { redactUrl } from './redact.js';
import type { Session } from './session.js';
import { discard, header, type HttpResponse } from './transport.js';

/** Content checked as it is read: a wrong source fails the upload before the registry commits it. */
export function verified(content: Readable, desc: Descriptor, where: string): Readable {
  // Already checked against this very blob (read from a bundle, say): hashing it twice buys nothing.
  if (isCheckedFor(content, desc)) return content;
  const v = new VerifyingStream(desc, { where });
  pipeline(content, v, () => {
    /* the error surfaces on v */
  });
  return v;
}

export function location(res: HttpResponse, what: string): URL {
  const loc = header(res.headers, 'location');
  if (!loc) throw new RegistryResponseError(`${what}: the registry sent no Location for the upload`, { status: res.status, endpoint: redactUrl(res.url) });
  return new URL(loc, res.url);
}

/** Start an upload session (POST …/blobs/uploads/), optionally as a mount; returns the response. */
export async function startUpload(session: Session, query: Record<string, string>, what: string, signal: AbortSignal | undefined, extraScopes?: string[]): Promise<HttpResponse> {
  const qs = new URLSearchParams(query).toString();
  return session.request({
    method: 'POST',
    path: `blobs/uploads/${qs ? `?${qs}` : ''}`,
    headers: { 'content-length': '0' },
    access: 'push',
    extraScopes,
    signal,
    what,
  });
}

/** Best effort: tell the registry to drop an upload session we are abandoning. */
export async function cancelUpload(session: Session, url: URL): Promise<void> {
  try {
    const res = await session.request({ method: 'DELETE', url: url.toString(), access: 'push', what: 'cancel upload', attempts: 1 });
    await discard(res.body);
  } catch {
    /* the registry expires abandoned sessions by itself */
  }
}

/**
 * Push a blob: POST opens an upload session, one PUT …?digest= carries the whole blob and closes
 * it (the spec's monolithic upload, as containerd pushes). Small blobs are read (and verified)
 * into memory first, so their PUT can be retried; larger ones stream, verified as they are read,
 * and a failure is retried by the caller from a fresh source. One request per blob instead of
 * PATCH + PUT: a round trip and a registry upload-state write fewer.
 */
export async function uploadBlob(session: Session, desc: Descriptor, content: Readable, signal?: AbortSignal): Promise<void> {
  const what = `push blob ${desc.digest} to ${session.endpoint.registry}/${session.endpoint.repository}`;
  const where = `push to ${session.source}`;
  const small = desc.size <= session.context.monolithicMaxBytes;
  // Read small content before opening the session so a bad source leaves nothing behind.
  const data = small ? await readAll(verified(content, desc, where), desc.size) : undefined;

  const started = await startUpload(session, {}, what, signal);
  if (started.status !== 202) throw await session.error(started, what);
  await discard(started.body);
  const loc = location(started, what);
  try {
    const put = new URL(loc);
    put.searchParams.set('digest', desc.digest);
    const res = await session.request({
      method: 'PUT',
      url: put.toString(),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      body: data ?? verified(content, desc, where),
      access: 'push',
      signal,
      what,
    });
    if (res.status !== 201 && res.status !== 204) throw await session.error(res, what);
    const got = header(res.headers, 'docker-content-digest');
    await discard(res.body);
    if (got && got !== desc.digest) {
      throw new RegistryResponseError(`${what}: the registry stored it as ${got}`, { status: res.status, endpoint: session.source });
    }
  } catch (e) {
    await cancelUpload(session, loc);
    throw e;
  }
}
