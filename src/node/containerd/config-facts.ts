/**
 * The containerd configuration as containerd reads it from disk: `containerd --config FILE config
 * dump` when the binary is here (containerd's own merge of every import, with its defaults filled
 * in), else our reading of the import chain with containerd's merge rule and its default sandbox
 * image for that version.
 */
import { execa } from 'execa';
import { effectiveOf, factsFor, loadConfigChain, type ConfigChain, type FileFacts, type Located } from './config-file.js';
import { keysForVersion } from './keys.js';
import { getPath, parseToml } from './toml.js';
import type { ContainerdVersion } from './version.js';

export interface ConfigFacts {
  configPath: string;
  /** The main file exists (a missing one means containerd runs on its defaults). */
  exists: boolean;
  /** The main file's `version` key. */
  version: number | undefined;
  chain?: ConfigChain;
  /** Why the files could not be read, when they could not. */
  error?: string;
  /** Sandbox image on disk (after merging; containerd's default when nothing sets it). */
  sandboxImage?: { value: string; where: string };
  /** config_path on disk ('' or unset: hosts.toml files are not read). */
  registryConfigPath?: { value: string; where: string };
  /** Legacy `registry.mirrors` entries (containerd refuses them next to config_path). */
  mirrors: Located[];
  /** Imports naming files that do not exist. */
  missingImports: { path: string; importedBy: string }[];
  /** Where the merged view came from. */
  source: 'containerd config dump' | 'files';
}

/** containerd's built-in sandbox image per minor (used when nothing sets one and no dump is possible). */
export function defaultSandboxImage(v: ContainerdVersion | undefined): string | undefined {
  if (!v) return undefined;
  if (v.major === 1 && v.minor <= 5) return 'k8s.gcr.io/pause:3.5';
  if (v.major === 1 && v.minor === 6) return 'registry.k8s.io/pause:3.6';
  if (v.major === 1 && v.minor === 7) return 'registry.k8s.io/pause:3.8';
  if (v.major >= 2) return 'registry.k8s.io/pause:3.10';
  return undefined;
}

function at(l: Located): string {
  return `${l.file}${l.line ? `:${l.line}` : ''}`;
}

async function dump(configPath: string): Promise<{ sandbox?: string; configPath?: string } | undefined> {
  const r = await execa('containerd', ['--config', configPath, 'config', 'dump'], { reject: false, stdin: 'ignore', timeout: 10_000 });
  if (r.exitCode !== 0 || typeof r.stdout !== 'string' || r.stdout === '') return undefined;
  try {
    const doc = parseToml(r.stdout, 'containerd config dump');
    const version = doc.root.version;
    const keys = keysForVersion(typeof version === 'number' ? version : undefined);
    const sandbox = getPath(doc.root, keys.sandboxImage);
    const cp = getPath(doc.root, keys.configPath);
    return { ...(typeof sandbox === 'string' ? { sandbox } : {}), ...(typeof cp === 'string' ? { configPath: cp } : {}) };
  } catch {
    return undefined;
  }
}

export async function readConfigFacts(configPath: string, version: ContainerdVersion | undefined): Promise<ConfigFacts> {
  const deep = (version?.major ?? 1) >= 2;
  const out: ConfigFacts = { configPath, exists: false, version: undefined, mirrors: [], missingImports: [], source: 'files' };
  let facts: FileFacts[] = [];
  try {
    const chain = await loadConfigChain(configPath);
    out.chain = chain;
    out.exists = chain.files[0]!.exists;
    out.version = chain.files[0]!.version;
    out.missingImports = chain.missing;
    facts = factsFor(chain, deep);
  } catch (e) {
    out.error = (e as Error).message;
  }
  const sandbox = effectiveOf(facts, deep, (f) => f.sandboxImage);
  const cp = effectiveOf(facts, deep, (f) => f.configPath);
  const legacy = deep ? facts : [...facts].reverse().filter((f) => f.definesPluginTable).slice(0, 1);
  out.mirrors = legacy.flatMap((f) => f.mirrors);

  const dumped = out.error === undefined && out.missingImports.length === 0 ? await dump(configPath) : undefined;
  if (dumped) {
    out.source = 'containerd config dump';
    if (dumped.sandbox !== undefined) {
      out.sandboxImage = { value: dumped.sandbox, where: sandbox && sandbox.value === dumped.sandbox ? at(sandbox) : "containerd's default" };
    }
    if (dumped.configPath !== undefined) out.registryConfigPath = { value: dumped.configPath, where: cp && cp.value === dumped.configPath ? at(cp) : "containerd's default" };
    return out;
  }
  if (sandbox) out.sandboxImage = { value: sandbox.value, where: at(sandbox) };
  else {
    const d = defaultSandboxImage(version);
    if (d) out.sandboxImage = { value: d, where: `containerd ${version!.raw}'s default` };
  }
  if (cp) out.registryConfigPath = { value: cp.value, where: at(cp) };
  return out;
}
