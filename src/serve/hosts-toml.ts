import { renderHostsToml } from '../node/containerd/hosts-toml.js';

export interface HostsTomlOptions {
  /** the mirror's base URL, e.g. http://127.0.0.1:5000 */
  mirror: string;
  /** the serve --prefix, if any */
  prefix?: string;
  /** PEM file containerd should trust for an https mirror */
  ca?: string;
}

/**
 * The hosts.toml that makes containerd pull `registry`'s images from `airgap serve`, in the same
 * repository layout load pushes (`/v2/<registry>/<path>`): the node layer's text, so a load'ed node
 * registry and serve are configured alike. It goes in `<config_path>/<registry>/hosts.toml`.
 */
export function hostsToml(registry: string, opts: HostsTomlOptions): string {
  return renderHostsToml(
    registry,
    { url: opts.mirror, ...(opts.prefix ? { pathPrefix: opts.prefix } : {}), ...(opts.ca ? { caFile: opts.ca } : {}) },
    [`# Pulls of ${registry}/… are served by airgap serve; the server below is only a fallback.`],
  );
}
