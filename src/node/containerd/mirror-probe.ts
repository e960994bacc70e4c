/**
 * Ask a mirror what containerd would ask it: `HEAD <host>/<repository>/manifests/<tag>?ns=<registry>`
 * (override_path hosts are the API root; others get /v2 added), and compare the digest it
 * resolves the tag to with the bundle's.
 */
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { MediaType } from '../../oci/media-type.js';
import type { HostEntry } from './hosts-file.js';

export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
].join(', ');

export interface ProbeResult {
  /** The URL asked (no credentials ever). */
  url: string;
  /** HTTP status, when the mirror answered. */
  status?: number;
  /** The digest the mirror resolved to. */
  digest?: string;
  /** Why there was no answer (connection refused, TLS, timeout). */
  error?: string;
}

export function manifestUrl(host: HostEntry, registry: string, repository: string, reference: string): string {
  const base = host.url.replace(/\/+$/, '');
  const root = host.overridePath ? base : /\/v2$/.test(base) ? base : `${base}/v2`;
  return `${root}/${repository}/manifests/${reference}?ns=${encodeURIComponent(registry)}`;
}

export async function dispatcherFor(host: HostEntry, timeoutMs: number): Promise<Agent> {
  const ca = await Promise.all(host.ca.map((f) => readFile(f, 'utf8').catch(() => undefined)));
  const pem = ca.filter((c): c is string => c !== undefined);
  return new Agent({
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { ...(pem.length > 0 ? { ca: pem } : {}), rejectUnauthorized: !host.skipVerify },
  });
}

function reason(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code ?? err.code;
  const msg = err.cause?.message ?? err.message ?? String(e);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/** `headers`: e.g. a registry's basic Authorization (never part of the result). */
export async function probeManifest(dispatcher: Agent, url: string, headers: Record<string, string> = {}): Promise<ProbeResult> {
  try {
    const r = await request(url, { method: 'HEAD', dispatcher, headers: { accept: MANIFEST_ACCEPT, 'user-agent': 'airgap-doctor', ...headers } });
    await r.body.dump();
    const digest = r.headers['docker-content-digest'];
    return { url, status: r.statusCode, ...(typeof digest === 'string' ? { digest } : {}) };
  } catch (e) {
    return { url, error: reason(e) };
  }
}
