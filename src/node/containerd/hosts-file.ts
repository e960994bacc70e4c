/**
 * containerd's view of one registry's hosts directory: which directory it picks (host_port_/,
 * then host:port/, then _default/ — the first that exists wins) and the hosts.toml there.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isTable, parseToml, type TomlValue } from './toml.js';

export interface HostEntry {
  url: string;
  capabilities: string[];
  overridePath: boolean;
  ca: string[];
  skipVerify: boolean;
}

export interface RegistryHosts {
  registry: string;
  /** The directory containerd uses for this registry (undefined: none, so it goes upstream). */
  dir?: string;
  /** The directory is _default (the registry has none of its own). */
  viaDefault: boolean;
  /** hosts.toml exists in dir. */
  hasFile: boolean;
  server?: string;
  hosts: HostEntry[];
  /** A hosts.toml that does not parse. */
  error?: string;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The directories containerd tries for a registry, in order (remotes/docker/config hostPaths). */
export function hostDirCandidates(hostsDir: string, registry: string): string[] {
  const out: string[] = [];
  const i = registry.lastIndexOf(':');
  if (i > 0 && !registry.endsWith(']')) out.push(join(hostsDir, `${registry.slice(0, i)}_${registry.slice(i + 1)}_`));
  out.push(join(hostsDir, registry), join(hostsDir, '_default'));
  return out;
}

const strings = (v: TomlValue | undefined): string[] =>
  typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

export function parseHostsToml(text: string, source: string): { server?: string; hosts: HostEntry[] } {
  const doc = parseToml(text, source);
  const out: { server?: string; hosts: HostEntry[] } = { hosts: [] };
  if (typeof doc.root.server === 'string') out.server = doc.root.server;
  const host = doc.root.host;
  if (isTable(host)) {
    for (const [url, t] of Object.entries(host)) {
      if (!isTable(t)) continue;
      out.hosts.push({
        url,
        capabilities: t.capabilities === undefined ? ['pull', 'resolve', 'push'] : strings(t.capabilities),
        overridePath: t.override_path === true,
        ca: strings(t.ca),
        skipVerify: t.skip_verify === true,
      });
    }
  }
  return out;
}

export async function registryHosts(hostsDir: string, registry: string): Promise<RegistryHosts> {
  for (const dir of hostDirCandidates(hostsDir, registry)) {
    if (!(await isDir(dir))) continue;
    const out: RegistryHosts = { registry, dir, viaDefault: dir.endsWith('/_default'), hasFile: false, hosts: [] };
    let text: string;
    try {
      text = await readFile(join(dir, 'hosts.toml'), 'utf8');
    } catch {
      return out;
    }
    out.hasFile = true;
    try {
      const parsed = parseHostsToml(text, join(dir, 'hosts.toml'));
      out.hosts = parsed.hosts;
      if (parsed.server !== undefined) out.server = parsed.server;
    } catch (e) {
      out.error = (e as Error).message;
    }
    return out;
  }
  return { registry, viaDefault: false, hasFile: false, hosts: [] };
}
