/**
 * Sealos's image-cri-shim: a CRI proxy between kubelet (its image service endpoint) and containerd
 * that rewrites each image kubelet pulls to the node registry — `registry.k8s.io/pause:3.9` becomes
 * `sealos.hub:5000/pause:3.9` (the source registry dropped) when that registry has it, else the
 * original name goes on to containerd. Its configuration, /etc/image-cri-shim.yaml:
 *
 *   shim: /var/run/image-cri-shim.sock      # where it listens
 *   cri: /run/containerd/containerd.sock    # the runtime behind it
 *   address: http://sealos.hub:5000         # the node registry
 *   auth: admin:passw0rd                    # user:password for it
 *   registries: [{ address, auth }]         # further registries, tried after address
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { socketPath } from '../runtime.js';

export const DEFAULT_SHIM_CONFIG = '/etc/image-cri-shim.yaml';
export const DEFAULT_SHIM_SOCKET = '/var/run/image-cri-shim.sock';
/** The node registry Sealos runs. */
export const SEALOS_REGISTRY = 'sealos.hub:5000';

/** user:password; the password is read to ask the registry, and never printed. */
export interface ShimCredentials {
  username: string;
  password: string;
}

export interface ShimRegistry {
  /** As written: http://sealos.hub:5000, sealos.hub:5000 (https then), docker.io */
  address: string;
  auth?: ShimCredentials;
}

export interface ShimConfig {
  file: string;
  /** The socket the shim listens on (`shim`, default /var/run/image-cri-shim.sock). */
  shim: string;
  /** The runtime socket behind it (`cri`), when set. */
  cri?: string;
  /** The node registry (`address`), when set. */
  registry?: ShimRegistry;
  registries: ShimRegistry[];
}

/** What reading the file gave: nothing there, a config, or why it could not be read. */
export type ShimConfigRead = { file: string; found: false } | { file: string; found: true; config: ShimConfig } | { file: string; found: true; error: string };

/** "user:password" (the first ":" splits; a password may hold more). */
export function parseShimAuth(auth: unknown): ShimCredentials | undefined {
  if (typeof auth !== 'string' || auth === '') return undefined;
  const i = auth.indexOf(':');
  return i < 0 ? { username: auth, password: '' } : { username: auth.slice(0, i), password: auth.slice(i + 1) };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function registryOf(address: unknown, auth: unknown): ShimRegistry | undefined {
  const a = str(address);
  if (a === undefined) return undefined;
  const creds = parseShimAuth(auth);
  return { address: a, ...(creds ? { auth: creds } : {}) };
}

/** The shim's YAML; throws (with the YAML library's message) when it does not parse or is not a mapping. */
export function parseShimConfig(text: string, file: string): ShimConfig {
  const doc = parseYaml(text) as unknown;
  if (doc === null || doc === undefined) return { file, shim: DEFAULT_SHIM_SOCKET, registries: [] };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('it is not a YAML mapping of shim, cri, address, auth, registries');
  const o = doc as Record<string, unknown>;
  const registry = registryOf(o.address, o.auth);
  const cri = str(o.cri);
  const list = Array.isArray(o.registries) ? o.registries : [];
  const registries = list.flatMap((r) => {
    if (r === null || typeof r !== 'object') return [];
    const e = registryOf((r as Record<string, unknown>).address, (r as Record<string, unknown>).auth);
    return e ? [e] : [];
  });
  return { file, shim: str(o.shim) ?? DEFAULT_SHIM_SOCKET, ...(cri ? { cri } : {}), ...(registry ? { registry } : {}), registries };
}

export async function readShimConfig(file: string = DEFAULT_SHIM_CONFIG): Promise<ShimConfigRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { file, found: false };
    return { file, found: true, error: (e as Error).message };
  }
  try {
    return { file, found: true, config: parseShimConfig(text, file) };
  } catch (e) {
    return { file, found: true, error: (e as Error).message.split('\n')[0]! };
  }
}

/** The registry's base URL (no credentials, no trailing slash); a bare host:port is https, as the shim takes it. */
export function registryBaseUrl(address: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `https://${address}`;
  const u = new URL(withScheme);
  return `${u.protocol}//${u.host}`;
}

/** host[:port] of a registry address. */
export function registryHost(address: string): string {
  return new URL(registryBaseUrl(address)).host;
}

/** kubelet's image endpoint is the shim's: the configured socket, or a socket named image-cri-shim. */
export function isShimEndpoint(endpoint: string | undefined, shimSocket: string = DEFAULT_SHIM_SOCKET): boolean {
  if (endpoint === undefined) return false;
  const sock = socketPath(endpoint);
  if (sock === undefined) return false;
  const norm = (p: string): string => p.replace(/^\/var\/run\//, '/run/');
  return norm(sock) === norm(shimSocket) || /image-cri-shim/.test(basename(sock));
}
