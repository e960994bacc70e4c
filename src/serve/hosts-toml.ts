import { registryNamespace } from '../oci/registry-namespace.js';
import { DOCKER_HUB } from '../oci/reference.js';

/** containerd's `server` for a registry host: Docker Hub's API lives at registry-1.docker.io. */
export function upstreamServer(registry: string): string {
  return registry === DOCKER_HUB ? 'https://registry-1.docker.io' : `https://${registry}`;
}

export interface HostsTomlOptions {
  /** the mirror's base URL, e.g. http://127.0.0.1:5000 */
  mirror: string;
  /** the serve --prefix, if any */
  prefix?: string;
  /** PEM file containerd should trust for an https mirror */
  ca?: string;
}

/**
 * The hosts.toml that makes containerd pull `registry`'s images from the mirror, in the same
 * repository layout load pushes (`/v2/<registry>/<path>`), so the file works for a load'ed node
 * registry and for `airgap serve` alike. It goes in `<config_path>/<registry>/hosts.toml`
 * (`/etc/containerd/certs.d/registry.k8s.io/hosts.toml`).
 */
export function hostsToml(registry: string, opts: HostsTomlOptions): string {
  const path = ['v2', opts.prefix, registryNamespace(registry)].filter(Boolean).join('/');
  const lines = [
    `server = "${upstreamServer(registry)}"`,
    '',
    `[host."${opts.mirror.replace(/\/+$/, '')}/${path}"]`,
    '  capabilities = ["pull", "resolve"]',
    '  override_path = true',
  ];
  if (opts.ca) {
    lines.push("  # the mirror's certificate when it is self-signed, else the CA that issued it");
    lines.push(`  ca = "${opts.ca}"`);
  }
  return `${lines.join('\n')}\n`;
}
