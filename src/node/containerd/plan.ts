/**
 * Plans the containerd configuration for a node that pulls from the node registry:
 * - one hosts.toml per source registry under the hosts directory (config_path),
 * - config_path set (unless the user set one: then their directory is used),
 * - the sandbox (pause) image set to the bundle's.
 *
 * Where the two CRI keys go depends on how containerd merges `imports`:
 * - containerd 2.x merges key by key, so our drop-in (conf.d/airgap.toml) carries them and the
 *   user's files stay untouched (unless a file loaded after ours sets the sandbox image too).
 * - containerd 1.x replaces a plugin's whole table with the last file's, so a drop-in would wipe
 *   every other CRI setting of the user's (runtimes, SystemdCgroup, CNI dirs). When a user file
 *   defines the CRI table, the keys are set in that file with a minimal edit instead (one value
 *   replaced or one line added, with a backup); the drop-in is used only when no file does.
 *
 * Planning reads files and never writes; the result lists every change with its before/after text.
 */
import { dirname, join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { ChangeRole, FileChange } from '../file-change.js';
import { loadConfigChain, factsFor, effectiveOf, type Located, type Overrides } from './config-file.js';
import { renderDropIn, DROP_IN_MARKER } from './drop-in.js';
import { addImport, setStringKey } from './edit.js';
import { ContainerdConfigError } from './errors.js';
import { globMatches } from './glob.js';
import {
  HOSTS_MARKER,
  hostsDirName,
  mirrorHostUrl,
  normalizeMirrorUrl,
  normalizeRegistry,
  renderHostsToml,
  scanHostsDir,
  type MirrorSpec,
} from './hosts-toml.js';
import { describeKey, keysForVersion, type CriKeys } from './keys.js';
import { parseToml, tomlKeyPath } from './toml.js';
import {
  configVersionFor,
  detectContainerdVersion,
  mergesPluginTablesDeeply,
  parseVersionString,
  type ContainerdVersion,
} from './version.js';

export const DEFAULT_CONFIG_PATH = '/etc/containerd/config.toml';
export const DEFAULT_HOSTS_DIR = '/etc/containerd/certs.d';
export const RESTART_COMMAND = 'systemctl restart containerd';

/** containerd 2.2 and later have a config_path when none is set (a ':'-separated list); earlier ones have none. */
export function builtInConfigPath(v: ContainerdVersion | undefined): string | undefined {
  return v !== undefined && (v.major > 2 || (v.major === 2 && v.minor >= 2)) ? '/etc/containerd/certs.d:/etc/docker/certs.d' : undefined;
}

export interface ContainerdConfigRequest {
  /** containerd's main config (default /etc/containerd/config.toml; a missing file = defaults). */
  configPath?: string;
  /**
   * Where hosts.toml files go (default /etc/containerd/certs.d). When the configuration already
   * sets config_path, that directory is used; a different explicit hostsDir is refused.
   */
  hostsDir?: string;
  /** Our drop-in (default <config dir>/conf.d/airgap.toml). */
  dropInPath?: string;
  /** Source registries in the bundle: registry.k8s.io, docker.io, quay.io … */
  registries: string[];
  /** The node registry and the path layout load pushed with: <url>/v2/<pathPrefix/><registry>/<repo>. */
  mirror: MirrorSpec;
  /** The bundle's pause image, e.g. registry.k8s.io/pause:3.9 (unset: the sandbox image is left alone). */
  sandboxImage?: string;
  /** e.g. "1.7.27" or a detected version; detected when absent. */
  containerdVersion?: string | ContainerdVersion;
  /** A containerd socket to ask for the version (`ctr --address … version`). */
  containerdAddress?: string;
}

export type { ChangeRole, FileChange } from '../file-change.js';

export interface EffectiveSetting {
  value: string;
  /** The file that sets it (undefined: containerd's built-in default). */
  file?: string;
  line?: number;
}

export interface ConfigPlan {
  containerd: ContainerdVersion;
  /** The root config's version (what our drop-in uses). */
  configVersion: number;
  configPath: string;
  hostsDir: string;
  /** Where hostsDir came from. */
  hostsDirSource: 'configured' | 'requested' | 'default';
  dropInPath: string;
  registries: string[];
  mirrorUrl: string;
  /** Changes in the order they must be applied (hosts files, drop-in, then config files). */
  changes: FileChange[];
  /** Files already exactly as planned. */
  unchanged: string[];
  /** Sandbox image and config_path once applied (and containerd restarted). */
  effective: { sandboxImage?: EffectiveSetting; configPath?: EffectiveSetting };
  restartNeeded: boolean;
  restartReasons: string[];
  restartCommand: string;
  notes: string[];
  warnings: string[];
  /** Problems that make applying unsafe (e.g. legacy mirrors); applyConfigPlan refuses them. */
  errors: ContainerdConfigError[];
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ContainerdConfigError('ERR_CONTAINERD_CONFIG_READ', `cannot read ${path}: ${(err as Error).message}`, {
      kind: 'io',
      hint: 'run as root: the containerd configuration belongs to root',
      cause: err,
      details: { file: path },
    });
  }
}

async function resolveVersion(req: ContainerdConfigRequest): Promise<ContainerdVersion> {
  const given = req.containerdVersion;
  if (given === undefined) return detectContainerdVersion(req.containerdAddress !== undefined ? { address: req.containerdAddress } : {});
  if (typeof given !== 'string') return given;
  const v = parseVersionString(given);
  if (!v) {
    throw new ContainerdConfigError('ERR_CONTAINERD_CONFIG_VERSION', `not a containerd version: ${JSON.stringify(given)}`, {
      hint: 'give it as MAJOR.MINOR[.PATCH], e.g. 1.7.27 or 2.1.4',
    });
  }
  return v;
}

function where(l: { file?: string; line?: number }): string {
  return l.file === undefined ? "containerd's default" : `${l.file}${l.line ? ':' + l.line : ''}`;
}

function legacyMirrorError(mirrors: Located[], keys: CriKeys, hostsDir: string): ContainerdConfigError {
  const list = mirrors.map((m) => `${m.value} (${m.file}:${m.line})`).join(', ');
  const first = mirrors[0]!;
  return new ContainerdConfigError(
    'ERR_CONTAINERD_LEGACY_MIRRORS',
    `the containerd configuration has legacy registry mirrors: ${list}. containerd refuses \`mirrors\` next to \`config_path\` (the CRI plugin fails to load and no pod starts), so airgap will not add config_path`,
    {
      hint:
        `move each mirror into ${hostsDir}/<registry>/hosts.toml ([host."<endpoint>"] capabilities = ["pull", "resolve"]), ` +
        `delete the [${tomlKeyPath(keys.mirrors)}."<registry>"] tables from ${first.file}, then run airgap load --configure-containerd again`,
      details: { mirrors: mirrors.map((m) => ({ registry: m.value, file: m.file, line: m.line })) },
    },
  );
}

function legacyTlsError(tls: Located[], hostsDir: string): ContainerdConfigError {
  const list = tls.map((m) => `${m.value} (${m.file}:${m.line})`).join(', ');
  return new ContainerdConfigError(
    'ERR_CONTAINERD_LEGACY_MIRRORS',
    `the containerd configuration has legacy registry TLS settings (registry.configs.<host>.tls): ${list}. containerd 1.x refuses them next to \`config_path\``,
    {
      hint: `move them into ${hostsDir}/<registry>/hosts.toml (ca = "…", client = […], skip_verify = true), delete the .tls tables, then run again`,
      details: { tls: tls.map((m) => ({ registry: m.value, file: m.file, line: m.line })) },
    },
  );
}

/** Plan the containerd configuration. Reads files; never writes. */
export async function planContainerdConfig(req: ContainerdConfigRequest): Promise<ConfigPlan> {
  const configPath = resolve(req.configPath ?? DEFAULT_CONFIG_PATH);
  const dropInPath = resolve(req.dropInPath ?? join(dirname(configPath), 'conf.d', 'airgap.toml'));
  const containerd = await resolveVersion(req);
  const deep = mergesPluginTablesDeeply(containerd);
  const mirrorUrl = normalizeMirrorUrl(req.mirror.url);
  const registries = [...new Set(req.registries.map(normalizeRegistry))].sort();
  const notes: string[] = [];
  const warnings: string[] = [];
  const errors: ContainerdConfigError[] = [];

  // ---- the configuration as it is ----
  const chain = await loadConfigChain(configPath);
  const main = chain.files[0]!;
  for (const m of chain.missing) {
    warnings.push(`${m.importedBy} imports ${m.path}, which does not exist: containerd will not start until it exists or the import is removed`);
  }

  let configVersion: number;
  if (!main.exists) {
    configVersion = configVersionFor(containerd);
    notes.push(`${configPath} does not exist (containerd runs on its defaults); it will be created with version = ${configVersion} and one import`);
  } else if (main.version === undefined || main.version < 2) {
    throw new ContainerdConfigError(
      'ERR_CONTAINERD_CONFIG_V1',
      `${configPath} is a version 1 containerd configuration (${main.version === undefined ? 'it has no `version` line' : `version = ${main.version}`}); airgap only edits version 2 and 3 files`,
      {
        hint:
          containerd.major >= 2
            ? `convert it with \`containerd config migrate > ${configPath}.new\`, review, move it into place, then run again`
            : `rewrite it as version 2: start from \`containerd config default > ${configPath}.new\`, carry your settings over (plugin names become "io.containerd.grpc.v1.cri" …), move it into place, then run again`,
        details: { file: configPath },
      },
    );
  } else {
    configVersion = main.version;
    if (containerd.major < 2 && configVersion > 2) {
      throw new ContainerdConfigError(
        'ERR_CONTAINERD_CONFIG_VERSION',
        `${configPath} says version = ${configVersion}, but containerd ${containerd.raw} reads version 2 at most`,
        {
          hint: `use a version 2 configuration for containerd 1.x (\`containerd config default\`), or pass the right --containerd-version if ${containerd.raw} (${containerd.source}) is not the containerd that runs`,
          details: { file: configPath, configVersion, containerd: containerd.raw },
        },
      );
    }
    if (containerd.major >= 2 && configVersion === 2) {
      notes.push(`${configPath} is version 2: containerd ${containerd.raw} migrates it at every start (\`containerd config migrate\` converts it for good)`);
    }
  }
  const ourKeys = keysForVersion(configVersion);
  if (/\/var\/lib\/rancher\/(k3s|rke2)\//.test(configPath)) {
    warnings.push(`${configPath} is generated by k3s/RKE2 at every start and edits to it are lost: configure mirrors in /etc/rancher/<k3s|rke2>/registries.yaml (or a config.toml.tmpl) instead`);
  }

  // ---- where the hosts files go ----
  const factsNow = factsFor(chain, deep);
  const isOurs = (file: string) => file === dropInPath;
  // Our own drop-in (from an earlier run) does not count as the user's choice.
  const userFacts = factsNow.filter((f) => !isOurs(f.file.path));
  const configuredPath = effectiveOf(userFacts, deep, (f) => f.configPath);
  let hostsDir: string;
  let hostsDirSource: ConfigPlan['hostsDirSource'];
  let setConfigPath: string | undefined;
  if (configuredPath && configuredPath.value !== '') {
    const dirs = configuredPath.value.split(':').filter((d) => d !== '');
    hostsDir = resolve(dirs[0]!);
    hostsDirSource = 'configured';
    if (req.hostsDir !== undefined && resolve(req.hostsDir) !== hostsDir) {
      throw new ContainerdConfigError(
        'ERR_CONTAINERD_HOSTS_DIR_CONFLICT',
        `containerd's config_path is already ${configuredPath.value} (${where(configuredPath)}), not ${req.hostsDir}`,
        {
          hint: `leave out --hosts-dir to write the hosts.toml files into ${hostsDir}, or change config_path in ${configuredPath.file} first`,
          details: { configured: configuredPath.value, file: configuredPath.file, requested: req.hostsDir },
        },
      );
    }
    notes.push(`config_path is already set to ${configuredPath.value} (${where(configuredPath)}): hosts.toml files go to ${hostsDir}`);
    if (dirs.length > 1) notes.push(`config_path lists ${dirs.length} directories; containerd looks in them in order, so the first one (${hostsDir}) gets the files`);
  } else if (builtInConfigPath(containerd) !== undefined && (req.hostsDir === undefined || resolve(req.hostsDir) === DEFAULT_HOSTS_DIR)) {
    // containerd 2.2 and later read /etc/containerd/certs.d:/etc/docker/certs.d when config_path is unset.
    hostsDir = DEFAULT_HOSTS_DIR;
    hostsDirSource = 'default';
    notes.push(`containerd ${containerd.raw} reads hosts.toml files from ${builtInConfigPath(containerd)} by default: config_path is left unset, the files go to ${hostsDir}`);
  } else {
    hostsDir = resolve(req.hostsDir ?? DEFAULT_HOSTS_DIR);
    hostsDirSource = req.hostsDir !== undefined ? 'requested' : 'default';
    setConfigPath = hostsDir;
  }

  // ---- legacy registry settings ----
  const legacyFacts = deep ? userFacts : [...userFacts].reverse().filter((f) => f.definesPluginTable).slice(0, 1);
  const mirrors = legacyFacts.flatMap((f) => f.mirrors);
  const tls = legacyFacts.flatMap((f) => f.tlsConfigs);
  if (mirrors.length > 0) errors.push(legacyMirrorError(mirrors, legacyFacts.find((f) => f.mirrors.length > 0)!.keys, hostsDir));
  if (tls.length > 0) {
    if (deep) warnings.push(`legacy registry.configs.<host>.tls settings (${tls.map((t) => `${t.value} at ${t.file}:${t.line}`).join(', ')}) are deprecated; move them into ${hostsDir}/<registry>/hosts.toml`);
    else errors.push(legacyTlsError(tls, hostsDir));
  }

  // ---- the changes ----
  const changes: FileChange[] = [];
  const unchanged: string[] = [];
  const planned = new Map<string, string>();
  const propose = async (path: string, after: string, reason: string, role: ChangeRole) => {
    const existing = changes.find((c) => c.path === path);
    const before = existing ? existing.before : await readOptional(path);
    if (existing) {
      existing.after = after;
      existing.reason += `; ${reason}`;
    } else if (before === after) unchanged.push(path);
    else changes.push({ path, kind: before === null ? 'create' : 'update', before, after, reason, role });
    planned.set(path, after);
  };

  // hosts.toml files
  const scan = await scanHostsDir(hostsDir);
  for (const registry of registries) {
    const path = join(hostsDir, hostsDirName(registry), 'hosts.toml');
    const before = await readOptional(path);
    if (before !== null && !before.startsWith(HOSTS_MARKER)) {
      warnings.push(`${path} exists and was not written by airgap; it will be replaced (a backup is kept next to it)`);
    }
    await propose(path, renderHostsToml(registry, req.mirror), `pulls of ${registry} → ${mirrorHostUrl(req.mirror, registry)}`, 'hosts');
  }
  if (scan.defaultHosts !== undefined) {
    warnings.push(
      `${join(hostsDir, '_default')} applies to every registry without its own directory; the bundle's registries (${registries.join(', ')}) get their own hosts.toml and are not affected, all other registries keep going to what _default names`,
    );
  }
  for (const registry of registries) {
    // For host:port containerd looks in host_port_/ first: a directory there hides ours.
    const m = /^(.*):(\d+)$/.exec(registry);
    if (m && scan.entries.includes(`${m[1]}_${m[2]}_`)) {
      warnings.push(`${join(hostsDir, `${m[1]}_${m[2]}_`)} exists and containerd reads it before ${join(hostsDir, registry)}: remove it, or pulls of ${registry} will not use the node registry`);
    }
  }
  for (const w of scan.wildcards) {
    warnings.push(`${join(hostsDir, w)}: containerd does not expand wildcards in hosts directory names, this directory is ignored (use _default for a catch-all)`);
  }

  // config keys: sandbox image and config_path
  const wanted: { path: readonly string[]; value: string; what: string }[] = [];
  if (req.sandboxImage !== undefined) wanted.push({ path: ourKeys.sandboxImage, value: req.sandboxImage, what: `sandbox image → ${req.sandboxImage}` });
  if (setConfigPath !== undefined) wanted.push({ path: ourKeys.configPath, value: setConfigPath, what: `config_path → ${setConfigPath}` });

  const dropInBefore = await readOptional(dropInPath);
  const chainHasDropIn = chain.files.some((f) => f.path === dropInPath);
  const userOwner = deep ? undefined : [...userFacts].reverse().find((f) => f.definesPluginTable);
  const editInPlace = new Map<string, { text: string; reasons: string[]; role: ChangeRole }>();

  let dropIn: { sandboxImage?: string; configPath?: string } = {};
  if (!deep && userOwner) {
    // containerd 1.x: a drop-in would replace the user's whole CRI table; edit their file instead.
    const file = userOwner.file;
    let text = file.text;
    const reasons: string[] = [];
    for (const w of wanted) {
      const next = setStringKey(text, file.path, w.path, w.value);
      if (next !== text) reasons.push(w.what);
      text = next;
    }
    editInPlace.set(file.path, { text, reasons, role: file.path === configPath ? 'main-config' : 'user-config' });
    if (reasons.length > 0) notes.push(
      `containerd ${containerd.raw} replaces a plugin's whole table with an imported file's, so the CRI settings are set in ${file.path} (which defines the CRI table) rather than in a drop-in`,
    );
  } else {
    for (const w of wanted) {
      if (w.path === ourKeys.sandboxImage) dropIn.sandboxImage = w.value;
      else dropIn.configPath = w.value;
    }
  }
  const dropInNeeded = dropIn.sandboxImage !== undefined || dropIn.configPath !== undefined;
  if (!dropInNeeded) dropIn = {};
  if (dropInNeeded || dropInBefore !== null) {
    if (dropInBefore !== null && !dropInBefore.startsWith(DROP_IN_MARKER)) {
      warnings.push(`${dropInPath} exists and was not written by airgap; it will be replaced (a backup is kept next to it)`);
    }
    await propose(dropInPath, renderDropIn({ version: configVersion, ...dropIn }), dropInNeeded ? wanted.map((w) => w.what).join('; ') : 'no longer needed: emptied', 'drop-in');
    if (!chainHasDropIn && dropInNeeded) {
      const mainText = editInPlace.get(configPath)?.text ?? main.text;
      const base = main.exists ? mainText : `${DROP_IN_MARKER}\nversion = ${configVersion}\n`;
      const imported = main.imports.some((i) => globMatches(resolve(dirname(configPath), i), dropInPath));
      if (!imported) {
        const entry = editInPlace.get(configPath) ?? { text: base, reasons: [], role: 'main-config' as const };
        entry.text = addImport(main.exists ? entry.text : base, configPath, dropInPath);
        entry.reasons.push(`import ${dropInPath}`);
        editInPlace.set(configPath, entry);
      }
    }
  }

  // containerd 2.x: a user file loaded after our drop-in that sets the sandbox image would win.
  if (deep && dropIn.sandboxImage !== undefined) {
    const simulated = await loadConfigChain(configPath, new Map([...planned, ...[...editInPlace].map(([p, e]) => [p, e.text] as const)]));
    const order = simulated.files.map((f) => f.path);
    const ourIdx = order.indexOf(dropInPath);
    for (const f of ourIdx === -1 ? [] : factsFor(simulated, deep).slice(ourIdx + 1)) {
      if (f.sandboxImage && f.sandboxImage.value !== dropIn.sandboxImage) {
        const entry = editInPlace.get(f.file.path) ?? { text: f.file.text, reasons: [], role: 'user-config' as const };
        entry.text = setStringKey(entry.text, f.file.path, f.keys.sandboxImage, dropIn.sandboxImage);
        entry.reasons.push(`sandbox image → ${dropIn.sandboxImage} (this file is loaded after ${dropInPath} and would win)`);
        editInPlace.set(f.file.path, entry);
      }
    }
  }

  for (const [path, e] of editInPlace) {
    await propose(path, e.text, e.reasons.join('; ') || 'no change', e.role);
  }
  // Never leave a changed file that containerd could not parse.
  for (const c of changes) parseToml(c.after, c.path);

  // ---- the configuration as it will be ----
  const overrides: Overrides = new Map(changes.map((c) => [c.path, c.after] as const));
  const after = await loadConfigChain(configPath, overrides);
  const factsAfter = factsFor(after, deep);
  const effSandbox = effectiveOf(factsAfter, deep, (f) => f.sandboxImage);
  const effConfigPath = effectiveOf(factsAfter, deep, (f) => f.configPath);
  const effective: ConfigPlan['effective'] = {};
  if (effSandbox) effective.sandboxImage = { value: effSandbox.value, file: effSandbox.file, line: effSandbox.line };
  if (effConfigPath) effective.configPath = { value: effConfigPath.value, file: effConfigPath.file, line: effConfigPath.line };
  else if (builtInConfigPath(containerd) !== undefined) effective.configPath = { value: builtInConfigPath(containerd)! };
  if (req.sandboxImage !== undefined && effSandbox?.value !== req.sandboxImage) {
    throw new ContainerdConfigError(
      'ERR_CONTAINERD_CONFIG_LAYOUT',
      `could not arrange for the sandbox image to be ${req.sandboxImage}: containerd would use ${effSandbox ? `${effSandbox.value} (${where(effSandbox)})` : 'its default'}`,
      { hint: `set ${describeKey(ourKeys.sandboxImage)} = "${req.sandboxImage}" yourself, then run again`, details: { effective } },
    );
  }
  const effConfigPathValue = effConfigPath?.value ?? builtInConfigPath(containerd);
  if (effConfigPathValue === undefined || resolve(effConfigPathValue.split(':').find((d) => d !== '') ?? '') !== hostsDir) {
    throw new ContainerdConfigError(
      'ERR_CONTAINERD_CONFIG_LAYOUT',
      `could not arrange for config_path to be ${hostsDir}: containerd would use ${effConfigPath ? `${effConfigPath.value} (${where(effConfigPath)})` : 'none'}`,
      { hint: `set ${describeKey(ourKeys.configPath)} = "${hostsDir}" yourself, then run again`, details: { effective } },
    );
  }
  if (deep && req.sandboxImage !== undefined) {
    for (const f of factsNow) {
      if (f.sandboxImage && f.sandboxImage.value !== req.sandboxImage && !isOurs(f.file.path)) {
        notes.push(`${f.sandboxImage.file}:${f.sandboxImage.line} sets the sandbox image to ${f.sandboxImage.value}; ${dropInPath} overrides it`);
      }
    }
  }

  const configChanges = changes.filter((c) => c.role !== 'hosts');
  const restartReasons = configChanges.map((c) => `${c.path}: ${c.reason}`);
  return {
    containerd,
    configVersion,
    configPath,
    hostsDir,
    hostsDirSource,
    dropInPath,
    registries,
    mirrorUrl,
    changes: orderChanges(changes),
    unchanged,
    effective,
    restartNeeded: configChanges.length > 0,
    restartReasons,
    restartCommand: RESTART_COMMAND,
    notes,
    warnings,
    errors,
  };
}

/** hosts.toml first, then our drop-in, then edited user files, the main config last: an import
 *  never points at a file that is not there yet. */
function orderChanges(changes: FileChange[]): FileChange[] {
  const rank: Record<ChangeRole, number> = { hosts: 0, 'drop-in': 1, 'user-config': 2, 'main-config': 3, registries: 4 };
  return [...changes].sort((a, b) => rank[a.role] - rank[b.role]);
}
