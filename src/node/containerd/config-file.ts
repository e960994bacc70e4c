/**
 * Reads containerd's configuration as containerd does: the main file, then every file its
 * `imports` name (globs expanded, relative paths against the importing file's directory), breadth
 * first, each file once. For each file it extracts what we care about: version, imports, the CRI
 * image keys (sandbox image, config_path) and legacy registry settings.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { ContainerdConfigError } from './errors.js';
import { expandGlob, hasGlobMeta } from './glob.js';
import { keysForVersion, V2_KEYS, type CriKeys } from './keys.js';
import { getPath, hasPrefix, isTable, parseToml, type TomlDocument, type TomlPair } from './toml.js';

export interface ConfigFile {
  path: string;
  exists: boolean;
  /** '' when the file does not exist. */
  text: string;
  doc: TomlDocument;
  /** The `version` key, when present. */
  version: number | undefined;
  /** The `imports` entries as written. */
  imports: string[];
  /** The file whose imports brought this one in (undefined for the main file). */
  importedBy?: string;
}

export interface Located {
  value: string;
  file: string;
  line: number;
}

/** What one file sets, read with the keys of its own config version. */
export interface FileFacts {
  file: ConfigFile;
  keys: CriKeys;
  /** The file defines (any part of) the plugin table holding the CRI image keys. */
  definesPluginTable: boolean;
  sandboxImage?: Located;
  configPath?: Located;
  /** Registries with a legacy `registry.mirrors` entry. */
  mirrors: Located[];
  /** Registries with a legacy `registry.configs.<host>.tls` table. */
  tlsConfigs: Located[];
}

/**
 * File contents the plan will write: path -> text (null = will not exist). Used to read the chain
 * as it will be after applying, and to include planned files in glob matches.
 */
export type Overrides = ReadonlyMap<string, string | null>;

export async function readConfigFile(path: string, overrides?: Overrides): Promise<ConfigFile> {
  let text: string | null;
  if (overrides?.has(path)) text = overrides.get(path) ?? null;
  else {
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') text = null;
      else
        throw new ContainerdConfigError('ERR_CONTAINERD_CONFIG_READ', `cannot read ${path}: ${(err as Error).message}`, {
          kind: 'io',
          hint: 'run as root (the containerd configuration is only readable by root), or pass --containerd-config',
          cause: err,
          details: { file: path },
        });
    }
  }
  const doc = parseToml(text ?? '', path);
  const version = doc.root.version;
  const imports = doc.root.imports;
  if (version !== undefined && (typeof version !== 'number' || !Number.isInteger(version))) {
    throw new ContainerdConfigError('ERR_CONTAINERD_CONFIG_VERSION', `${path}: version must be an integer, found ${JSON.stringify(version)}`, {
      hint: 'set version = 2 (containerd 1.x) or version = 3 (containerd 2.x)',
      details: { file: path },
    });
  }
  if (imports !== undefined && !(Array.isArray(imports) && imports.every((i) => typeof i === 'string'))) {
    throw new ContainerdConfigError('ERR_CONTAINERD_CONFIG_LAYOUT', `${path}: imports must be an array of strings`, {
      hint: 'write imports = ["/etc/containerd/conf.d/*.toml"]',
      details: { file: path },
    });
  }
  return {
    path,
    exists: text !== null,
    text: text ?? '',
    doc,
    version: version as number | undefined,
    imports: (imports as string[] | undefined) ?? [],
  };
}

/** containerd's resolveImports: clean, make relative paths absolute against the parent, glob. */
export async function resolveImports(parent: string, imports: string[], overrides?: Overrides): Promise<string[]> {
  const planned = overrides ? [...overrides].filter(([, v]) => v !== null).map(([k]) => k) : [];
  const out: string[] = [];
  for (const raw of imports) {
    let p = normalize(raw);
    if (!isAbsolute(p)) p = join(dirname(parent), p);
    if (hasGlobMeta(p)) out.push(...(await expandGlob(p, planned)));
    else out.push(p);
  }
  return out;
}

export interface ConfigChain {
  /** Files in the order containerd merges them (main first). Missing imports are left out. */
  files: ConfigFile[];
  /** Imports that name a file that does not exist (containerd fails to start on those). */
  missing: { path: string; importedBy: string }[];
}

/** Load the main config and everything it imports, in containerd's merge order. */
export async function loadConfigChain(mainPath: string, overrides?: Overrides): Promise<ConfigChain> {
  const files: ConfigFile[] = [];
  const missing: ConfigChain['missing'] = [];
  const seen = new Set<string>();
  const pending: { path: string; importedBy?: string }[] = [{ path: mainPath }];
  while (pending.length > 0) {
    const { path, importedBy } = pending.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const file = await readConfigFile(path, overrides);
    if (importedBy !== undefined) {
      if (!file.exists) {
        missing.push({ path, importedBy });
        continue;
      }
      file.importedBy = importedBy;
    }
    files.push(file);
    for (const p of await resolveImports(path, file.imports, overrides)) pending.push({ path: p, importedBy: path });
  }
  return { files, missing };
}

function pairAt(doc: TomlDocument, path: readonly string[]): TomlPair | undefined {
  return doc.pairs.find((p) => p.path.length === path.length && hasPrefix(p.path, path));
}

/** The first line where anything under `prefix` is defined (a header or a pair). */
export function firstLineUnder(doc: TomlDocument, prefix: readonly string[]): number | undefined {
  const lines = [
    ...doc.headers.filter((h) => hasPrefix(h.path, prefix)).map((h) => h.line),
    ...doc.pairs.filter((p) => hasPrefix(p.path, prefix)).map((p) => p.line),
  ];
  return lines.length > 0 ? Math.min(...lines) : undefined;
}

/** Read one file's facts with the keys of `keys` (the file's own config version by default). */
export function factsOf(file: ConfigFile, keys: CriKeys = keysForVersion(file.version)): FileFacts {
  const { doc } = file;
  const located = (path: readonly string[]): Located | undefined => {
    const v = getPath(doc.root, path);
    if (typeof v !== 'string') return undefined;
    return { value: v, file: file.path, line: pairAt(doc, path)?.line ?? firstLineUnder(doc, path) ?? 0 };
  };
  const mirrors: Located[] = [];
  const mirrorTable = getPath(doc.root, keys.mirrors);
  if (isTable(mirrorTable)) {
    for (const name of Object.keys(mirrorTable)) {
      mirrors.push({ value: name, file: file.path, line: firstLineUnder(doc, [...keys.mirrors, name]) ?? 0 });
    }
  }
  const tlsConfigs: Located[] = [];
  const configs = getPath(doc.root, keys.configs);
  if (isTable(configs)) {
    for (const [name, cfg] of Object.entries(configs)) {
      if (isTable(cfg) && cfg.tls !== undefined) {
        tlsConfigs.push({ value: name, file: file.path, line: firstLineUnder(doc, [...keys.configs, name, 'tls']) ?? 0 });
      }
    }
  }
  const facts: FileFacts = {
    file,
    keys,
    definesPluginTable: firstLineUnder(doc, keys.plugin) !== undefined,
    mirrors,
    tlsConfigs,
  };
  const sandbox = located(keys.sandboxImage);
  if (sandbox) facts.sandboxImage = sandbox;
  const configPath = located(keys.configPath);
  if (configPath) facts.configPath = configPath;
  return facts;
}

/** Every file's facts, read as this containerd reads them (`deep`: 2.x). */
export function factsFor(chain: ConfigChain, deep: boolean): FileFacts[] {
  // containerd 1.x knows only the version 2 keys; 2.x reads each file with its own version's keys.
  return chain.files.map((f) => (deep ? factsOf(f) : factsOf(f, V2_KEYS)));
}

/**
 * The value containerd will use, reading the chain with the merge rule of this containerd: with
 * `deep` (2.x merges key by key) the value set last; else (1.x) the last file defining the table's.
 */
export function effectiveOf(
  facts: FileFacts[],
  deep: boolean,
  pick: (f: FileFacts) => Located | undefined,
): Located | undefined {
  if (deep) {
    let found: Located | undefined;
    for (const f of facts) found = pick(f) ?? found;
    return found;
  }
  const owner = [...facts].reverse().find((f) => f.definesPluginTable);
  return owner ? pick(owner) : undefined;
}
