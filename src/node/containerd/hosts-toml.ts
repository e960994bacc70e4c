/**
 * containerd's registry host configuration (docs/hosts.md): one `<hosts dir>/<registry>/hosts.toml`
 * per source registry, naming the node registry as a host trusted to pull and resolve, with the
 * path layout `airgap load` pushed with (`<mirror>/v2/<prefix/><registry>/<repo>`), so a pull of
 * `registry.k8s.io/pause:3.9` asks `<mirror>/v2/registry.k8s.io/pause/manifests/3.9`.
 */
import { registryNamespace } from '../../oci/registry-namespace.js';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ContainerdConfigError } from './errors.js';
import { tomlString } from './toml.js';

export interface MirrorSpec {
  /** The node registry (or `airgap serve`) base URL, e.g. http://127.0.0.1:5000 */
  url: string;
  /** Repository prefix load pushed under, e.g. "mirror" for <url>/v2/mirror/<registry>/<repo>. */
  pathPrefix?: string;
  /** CA certificate (PEM file) that signs the node registry's certificate. */
  caFile?: string;
  /** Do not verify the node registry's TLS certificate. */
  skipVerify?: boolean;
}

/** The first line of every hosts.toml we write; re-runs recognise their own files by it. */
export const HOSTS_MARKER = '# Written by airgap load --configure-containerd';

const REGISTRY_NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$|^\[[0-9a-f:]+\](:[0-9]{1,5})?$/;

/** Normalise and check a source registry name (host[:port], lowercase). */
export function normalizeRegistry(name: string): string {
  const n = name.trim().toLowerCase();
  if (!REGISTRY_NAME.test(n)) {
    throw new ContainerdConfigError('ERR_CONTAINERD_REGISTRY_NAME', `not a registry host name: ${JSON.stringify(name)}`, {
      hint: 'registries are host names with an optional port, e.g. registry.k8s.io or registry.local:5000',
      details: { registry: name },
    });
  }
  // Docker Hub's aliases all mean docker.io to containerd.
  return n === 'index.docker.io' || n === 'registry-1.docker.io' ? 'docker.io' : n;
}

/** The directory containerd looks up first for a registry (host:port is kept as is on Unix). */
export function hostsDirName(registry: string): string {
  return registry;
}

/** The upstream a registry namespace falls back to (Docker Hub's API lives elsewhere). */
export function upstreamServer(registry: string): string {
  return registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${registry}`;
}

/** Normalise the mirror URL: http(s), no query, no trailing slash, not ending in /v2. */
export function normalizeMirrorUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw mirrorUrlError(url, 'it is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw mirrorUrlError(url, 'only http:// and https:// registries can be mirrors');
  if (u.search !== '' || u.hash !== '') throw mirrorUrlError(url, 'it has a query or fragment');
  if (u.username !== '' || u.password !== '') throw mirrorUrlError(url, 'credentials do not belong in the URL');
  const path = u.pathname.replace(/\/+$/, '');
  if (/\/v2$/.test(path)) throw mirrorUrlError(url, 'give the base URL without /v2');
  return `${u.protocol}//${u.host}${path}`;
}

/** The URL for messages: any user:password part replaced, never echoed. */
function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}

function mirrorUrlError(url: string, why: string): ContainerdConfigError {
  const shown = redactUrl(url);
  return new ContainerdConfigError('ERR_CONTAINERD_MIRROR_URL', `cannot use ${JSON.stringify(shown)} as the node registry: ${why}`, {
    hint: 'pass the node registry as http://HOST:PORT or https://HOST:PORT',
    details: { url: shown },
  });
}

function cleanPrefix(prefix: string | undefined): string {
  return (prefix ?? '').replace(/^\/+|\/+$/g, '');
}

/** The `[host."…"]` URL for a registry: the API root containerd uses with override_path. */
export function mirrorHostUrl(mirror: MirrorSpec, registry: string): string {
  const prefix = cleanPrefix(mirror.pathPrefix);
  return `${normalizeMirrorUrl(mirror.url)}/v2/${prefix === '' ? '' : prefix + '/'}${registryNamespace(registry)}`;
}

/**
 * The hosts.toml text for one source registry. `header` replaces the comment lines load writes
 * (which re-runs recognise by HOSTS_MARKER), e.g. for the text `airgap serve` prints.
 */
export function renderHostsToml(registry: string, mirror: MirrorSpec, header?: string[]): string {
  const host = mirrorHostUrl(mirror, registry);
  const lines = [
    ...(header ?? [
      HOSTS_MARKER,
      `# Pulls of ${registry}/… are served by the node registry; the server below is only a fallback.`,
      '# Re-running airgap load rewrites this file and keeps a backup of what it replaced.',
    ]),
    `server = ${tomlString(upstreamServer(registry))}`,
    '',
    `[host.${tomlString(host)}]`,
    '  capabilities = ["pull", "resolve"]',
    '  # The path above is the API root: <host>/<repository>/manifests/<tag>, no extra /v2.',
    '  override_path = true',
  ];
  if (mirror.caFile !== undefined) lines.push(`  ca = ${tomlString(resolve(mirror.caFile))}`);
  if (mirror.skipVerify === true) lines.push('  skip_verify = true');
  return lines.join('\n') + '\n';
}

export interface HostsDirScan {
  /** Registry directories present (names). */
  entries: string[];
  /** `_default/hosts.toml` text, when present. */
  defaultHosts?: string;
  /** Directory names containing a `*` (containerd does not expand them; a k3s habit). */
  wildcards: string[];
}

/** What a hosts directory already holds (missing directory: empty). */
export async function scanHostsDir(dir: string): Promise<HostsDirScan> {
  let entries: string[] = [];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return { entries: [], wildcards: [] };
  }
  const scan: HostsDirScan = { entries, wildcards: entries.filter((e) => e.includes('*')) };
  if (entries.includes('_default')) {
    try {
      scan.defaultHosts = await readFile(join(dir, '_default', 'hosts.toml'), 'utf8');
    } catch {
      scan.defaultHosts = '';
    }
  }
  return scan;
}
