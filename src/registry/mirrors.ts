import { DOCKER_HUB } from '../oci/reference.js';
import { InvalidMirrorError, InvalidRegistryHostError } from './errors.js';

/** Where Docker Hub's API lives; `docker.io` itself serves no /v2/. */
export const DOCKER_HUB_API = 'https://registry-1.docker.io';

const HOST_PORT = /^(?:\[[0-9a-f:]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(?::\d{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** `--registry-mirror SRC=URL`: requests for registry SRC go to URL, whose path is a repository prefix. */
export interface Mirror {
  /** The registry it stands in for, normalized (docker.io, registry.k8s.io, 10.0.0.1:5000). */
  source: string;
  /** scheme://host[:port] of the mirror. */
  origin: string;
  /** Repository prefix inside the mirror ('' or e.g. "registry.k8s.io", "k8s-proxy"). */
  prefix: string;
  /** The URL as shown in messages: origin + prefix. */
  display: string;
}

/** docker.io's aliases all mean Docker Hub. */
export function normalizeRegistryHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h === 'index.docker.io' || h === 'registry-1.docker.io' || h === 'registry.hub.docker.com') return DOCKER_HUB;
  return h;
}

/**
 * A registry as the user types it: host[:port], forgiving a scheme and trailing slash, which
 * people paste from URLs. Returns the normalized host or undefined when it is not one.
 */
export function parseRegistryHost(input: string): string | undefined {
  let s = input.trim().toLowerCase();
  s = s.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (s === 'https://index.docker.io/v1' || s === 'index.docker.io/v1') return DOCKER_HUB;
  if (s.endsWith('/v1') || s.endsWith('/v2')) s = s.slice(0, -3);
  if (!HOST_PORT.test(s)) return undefined;
  const port = /:(\d+)$/.exec(s);
  if (port && Number(port[1]) > 65535) return undefined;
  return normalizeRegistryHost(s);
}

export function parseMirror(spec: string): Mirror {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new InvalidMirrorError(spec, 'missing "=" between the source registry and the mirror URL');
  const srcText = spec.slice(0, eq).trim();
  const urlText = spec.slice(eq + 1).trim();
  if (!srcText) throw new InvalidMirrorError(spec, 'the source registry before "=" is empty');
  if (!urlText) throw new InvalidMirrorError(spec, 'the mirror URL after "=" is empty');
  const source = parseRegistryHost(srcText);
  if (!source) throw new InvalidMirrorError(spec, `"${srcText}" is not a registry host[:port]`);
  if (!/^https?:\/\//i.test(urlText)) {
    throw new InvalidMirrorError(spec, `the mirror URL must start with http:// or https:// (got "${urlText.replace(/\/\/[^@/]*@/, '//…@')}")`);
  }
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new InvalidMirrorError(spec.replace(/\/\/[^@/]*@/, '//…@'), 'the mirror URL is not a valid URL');
  }
  if (url.username || url.password) {
    // Never echo the secret part back.
    throw new InvalidMirrorError(`${srcText}=${url.protocol}//…@${url.host}${url.pathname}`, 'credentials do not belong in the URL; pass them with --creds HOST=USER:PASSWORD');
  }
  if (url.search || url.hash) throw new InvalidMirrorError(spec, 'the mirror URL must not have a query or fragment');
  let parts = url.pathname.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  // containerd hosts.toml style (".../v2/registry.k8s.io"): the API root is always /v2, so a leading v2 is that, not a prefix.
  if (parts[0] === 'v2') parts = parts.slice(1);
  for (const p of parts) {
    if (!PATH_COMPONENT.test(p)) {
      throw new InvalidMirrorError(spec, `path component "${p}" is not a valid repository name component (lowercase letters, digits, ".", "_", "-")`);
    }
  }
  const prefix = parts.join('/');
  const origin = `${url.protocol}//${url.host}`;
  return { source, origin, prefix, display: prefix ? `${origin}/${prefix}` : origin };
}

/** Parse every --registry-mirror; a source named twice is an error, not a silent override. */
export function parseMirrors(specs: readonly string[] = []): Map<string, Mirror> {
  const out = new Map<string, Mirror>();
  for (const spec of specs) {
    const m = parseMirror(spec);
    const prev = out.get(m.source);
    if (prev) throw new InvalidMirrorError(spec, `a mirror for ${m.source} is already given (${prev.display})`);
    out.set(m.source, m);
  }
  return out;
}

/** --insecure-registry values: host[:port]; a bare host matches every port on it. */
export function parseInsecure(values: readonly string[] = []): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    const h = parseRegistryHost(v);
    if (!h) throw new InvalidRegistryHostError(v, '--insecure-registry', 'not a host[:port]');
    out.add(h);
  }
  return out;
}

export function isInsecureHost(insecure: ReadonlySet<string>, host: string): boolean {
  const h = host.toLowerCase();
  if (insecure.has(h)) return true;
  const bare = h.replace(/:\d+$/, '');
  return bare !== h && insecure.has(bare);
}

/** Where one repository's API lives. */
export interface Endpoint {
  /** The logical registry and repository (from the image reference). */
  registry: string;
  repository: string;
  /** scheme://host[:port] the requests go to. */
  origin: string;
  /** The repository name in the endpoint's /v2/ namespace (prefix applied). */
  remoteName: string;
  /** The mirror in use, if any. */
  mirror?: Mirror;
  /** Whether TLS certificates of this host go unverified (the user named it insecure). */
  insecure: boolean;
  /** No scheme was given and the host is insecure: try https, fall back to http (docker's behaviour). */
  probeScheme: boolean;
  /** The key credentials are looked up by (docker.io for Docker Hub, else host[:port]). */
  credentialHost: string;
}

export function resolveEndpoint(
  registry: string,
  repository: string,
  mirrors: ReadonlyMap<string, Mirror>,
  insecure: ReadonlySet<string>,
): Endpoint {
  const reg = normalizeRegistryHost(registry);
  const mirror = mirrors.get(reg);
  if (mirror) {
    const host = new URL(mirror.origin).host;
    return {
      registry,
      repository,
      origin: mirror.origin,
      remoteName: mirror.prefix ? `${mirror.prefix}/${repository}` : repository,
      mirror,
      insecure: isInsecureHost(insecure, host),
      probeScheme: false,
      credentialHost: normalizeRegistryHost(host),
    };
  }
  if (reg === DOCKER_HUB) {
    return { registry, repository, origin: DOCKER_HUB_API, remoteName: repository, insecure: false, probeScheme: false, credentialHost: DOCKER_HUB };
  }
  const insecureHost = isInsecureHost(insecure, reg);
  return {
    registry,
    repository,
    origin: `https://${reg}`,
    remoteName: repository,
    insecure: insecureHost,
    probeScheme: insecureHost,
    credentialHost: reg,
  };
}
