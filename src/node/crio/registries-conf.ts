/**
 * containers-registries.conf(5), version 2, as CRI-O (and podman, skopeo: the containers/image
 * library) reads it: /etc/containers/registries.conf, then every *.conf in registries.conf.d in name
 * order, a later file's `[[registry]]` replacing an earlier one with the same prefix. One entry per
 * source registry: `prefix` and `location` the source registry, one `[[registry.mirror]]` whose
 * `location` is where load pushed that registry's images (<host>[/prefix]/<registry namespace>).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { registryNamespace } from '../../oci/registry-namespace.js';
import { isTable, parseToml, tomlString, type TomlValue } from '../containerd/toml.js';
import { normalizeMirrorUrl, type MirrorSpec } from '../containerd/hosts-toml.js';
import { readOptional } from '../file-change.js';

export const REGISTRIES_MARKER = '# Written by airgap load --configure: pulls of the bundle\'s registries go to the node registry.';

/** A mirror location as registries.conf names it: host[:port][/path], no scheme, no /v2. */
export function mirrorLocation(mirror: MirrorSpec, registry: string): string {
  const u = new URL(normalizeMirrorUrl(mirror.url));
  const prefix = (mirror.pathPrefix ?? '').replace(/^\/+|\/+$/g, '');
  const base = `${u.host}${u.pathname.replace(/\/+$/, '')}`;
  return `${base}${prefix === '' ? '' : `/${prefix}`}/${registryNamespace(registry)}`;
}

/** containers/image speaks plain http to a mirror (or skips TLS verification) only when it is `insecure`. */
export function mirrorInsecure(mirror: MirrorSpec): boolean {
  return normalizeMirrorUrl(mirror.url).startsWith('http:') || mirror.skipVerify === true;
}

/** The drop-in text: one [[registry]] per source registry, each with the node registry as its mirror. */
export function renderRegistriesConf(registries: readonly string[], mirror: MirrorSpec): string {
  const lines = [
    REGISTRIES_MARKER,
    '# CRI-O (containers/image) reads it after /etc/containers/registries.conf; a later file with the same prefix wins.',
    '# Re-running airgap load rewrites this file and keeps a backup of what it replaced.',
  ];
  const insecure = mirrorInsecure(mirror);
  for (const registry of registries) {
    lines.push('', '[[registry]]', `prefix = ${tomlString(registry)}`, `location = ${tomlString(registry)}`,
      '', '[[registry.mirror]]', `location = ${tomlString(mirrorLocation(mirror, registry))}`);
    if (insecure) lines.push('insecure = true');
  }
  return lines.join('\n') + '\n';
}

export interface RegistryMirror {
  location: string;
  insecure: boolean;
}

export interface RegistryEntry {
  prefix: string;
  location: string;
  blocked: boolean;
  mirrors: RegistryMirror[];
  /** The file the entry (the one that wins) comes from. */
  file: string;
}

export interface RegistriesFacts {
  /** The files read, in the order containers/image reads them. */
  files: string[];
  /** By prefix: the entry that wins. */
  entries: Map<string, RegistryEntry>;
  /** Files that do not parse (containers/image refuses to pull at all then). */
  errors: { file: string; error: string }[];
}

function str(v: TomlValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The entries of one file's text (throws on a syntax error). */
export function parseRegistriesConf(text: string, file: string): RegistryEntry[] {
  const doc = parseToml(text, file).root;
  const list = Array.isArray(doc.registry) ? doc.registry : [];
  const out: RegistryEntry[] = [];
  for (const r of list) {
    if (!isTable(r)) continue;
    const location = str(r.location) ?? '';
    const prefix = str(r.prefix) ?? location;
    if (prefix === '') continue;
    const mirrors = (Array.isArray(r.mirror) ? r.mirror : []).filter(isTable).map((m) => ({ location: str(m.location) ?? '', insecure: m.insecure === true }))
      .filter((m) => m.location !== '');
    out.push({ prefix, location: location || prefix, blocked: r.blocked === true, mirrors, file });
  }
  return out;
}

/** What containers/image ends up with under `etcContainers` (registries.conf, registries.conf.d/*.conf). */
export async function readRegistriesConf(etcContainers: string): Promise<RegistriesFacts> {
  const files = [join(etcContainers, 'registries.conf')];
  const dropIns = join(etcContainers, 'registries.conf.d');
  try {
    files.push(...(await readdir(dropIns)).filter((n) => n.endsWith('.conf')).sort().map((n) => join(dropIns, n)));
  } catch {
    // no drop-in directory
  }
  const facts: RegistriesFacts = { files: [], entries: new Map(), errors: [] };
  for (const file of files) {
    const text = await readOptional(file).catch(() => null);
    if (text === null) continue;
    facts.files.push(file);
    try {
      for (const e of parseRegistriesConf(text, file)) facts.entries.set(e.prefix, e);
    } catch (e) {
      facts.errors.push({ file, error: (e as Error).message });
    }
  }
  return facts;
}

/**
 * The entry containers/image uses for images of `registry`: the longest prefix that matches the
 * whole registry (a prefix naming only some repositories does not cover all of its images).
 */
export function entryFor(facts: RegistriesFacts, registry: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const e of facts.entries.values()) {
    const p = e.prefix;
    const matches = p === registry || (p.startsWith('*.') && registry.endsWith(p.slice(1)));
    if (matches && (best === undefined || p.length > best.prefix.length)) best = e;
  }
  return best;
}
