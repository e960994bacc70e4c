import { registryNamespace } from '../oci/registry-namespace.js';
import { isIP } from 'node:net';
import { parseRegistryHost } from '../registry/mirrors.js';
import { InvalidRegistryUrlError } from './errors.js';

/**
 * The node registry as given with --registry, and where each image lands in it:
 * `<registry>[/<prefix>]/<source registry>/<repository>:<tag>`, e.g.
 * 127.0.0.1:5000/registry.k8s.io/pause:3.9 — the layout containerd's hosts.toml mirrors
 * (`override_path = true`, one host entry per source registry) expect.
 */

export interface NodeRegistry {
  /** scheme://host[:port] */
  origin: string;
  /** host[:port], normalized */
  host: string;
  /** repository prefix inside the registry ('' or e.g. "mirror") */
  prefix: string;
  /** origin + prefix, for messages and config */
  url: string;
  /** the scheme was given (else chosen: http for loopback, https otherwise) */
  explicitScheme: boolean;
  /**
   * Images under their repository alone, without the source registry (pause:3.9, not
   * registry.k8s.io/pause:3.9): the names Sealos's image-cri-shim asks its registry for.
   */
  flat?: boolean;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** Parse --registry: http(s)://host[:port][/prefix], or host[:port][/prefix] (http on loopback, else https). */
export function parseRegistryUrl(input: string): NodeRegistry {
  const text = input.trim();
  if (!text) throw new InvalidRegistryUrlError(input, 'it is empty');
  const explicitScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  if (explicitScheme && !/^https?:\/\//i.test(text)) throw new InvalidRegistryUrlError(input, 'the scheme must be http:// or https://');
  let url: URL;
  try {
    const firstPart = text.split('/')[0]!;
    url = new URL(explicitScheme ? text : `${isLoopback(firstPart.toLowerCase()) ? 'http' : 'https'}://${text}`);
  } catch {
    throw new InvalidRegistryUrlError(input, 'it is not a valid URL');
  }
  if (url.username || url.password) {
    throw new InvalidRegistryUrlError(input, 'credentials do not belong in the URL; pass them with --creds HOST=USER:PASSWORD');
  }
  if (url.search || url.hash) throw new InvalidRegistryUrlError(input, 'the URL must not have a query or fragment');
  const host = parseRegistryHost(url.host);
  if (!host) throw new InvalidRegistryUrlError(input, `"${url.host}" is not a registry host[:port]`);
  let parts = url.pathname.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  if (parts[0] === 'v2') parts = parts.slice(1); // a pasted API URL: /v2 is the API root, not a prefix
  for (const p of parts) {
    if (!PATH_COMPONENT.test(p)) {
      throw new InvalidRegistryUrlError(input, `path component "${p}" is not a valid repository name component (lowercase letters, digits, ".", "_", "-")`);
    }
  }
  const prefix = parts.join('/');
  const origin = `${url.protocol}//${url.host}`;
  return { origin, host, prefix, url: prefix ? `${origin}/${prefix}` : origin, explicitScheme };
}

/** The repository prefix for one source registry: "[prefix/]registry.k8s.io". */
export function mirrorPath(reg: NodeRegistry, sourceRegistry: string): string {
  if (reg.flat) return reg.prefix;
  const ns = registryNamespace(sourceRegistry);
  return reg.prefix ? `${reg.prefix}/${ns}` : ns;
}

/** `--registry-mirror`-style specs sending every source registry to its place in the node registry. */
export function mirrorSpecs(reg: NodeRegistry, sourceRegistries: Iterable<string>): string[] {
  return [...new Set(sourceRegistries)].map((src) => `${src}=${[reg.origin, mirrorPath(reg, src)].filter(Boolean).join('/')}`);
}

/** Where an image is served: 127.0.0.1:5000/registry.k8s.io/pause:3.9. */
export function destinationName(reg: NodeRegistry, registry: string, repository: string, identifier: string): string {
  const sep = identifier.includes(':') ? '@' : ':';
  return `${[reg.host, mirrorPath(reg, registry), repository].filter(Boolean).join('/')}${sep}${identifier}`;
}

export { registryNamespace };
