/**
 * A k0s node. k0s runs its own containerd (/run/k0s/containerd.sock) on /etc/k0s/containerd.toml,
 * which it writes itself while that file is "k0s managed" (absent, or carrying the
 * `# k0s_managed=true` line). Settings go in drop-ins in /etc/k0s/containerd.d/: one with a CRI
 * plugin section is merged into k0s's own CRI configuration (k0s 1.27 – 1.35, containerd 1.7,
 * config version 2); with containerd 2.x containerd merges the import itself (version 3).
 * Replacing containerd.toml wholesale breaks k0s's defaults — the field report where containerd fell
 * back to its built-in pause:3.8 while the bundle held pause:3.9 — so airgap never writes it.
 * Archives in /var/lib/k0s/images/ are imported at start.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckResult } from '../check.js';
import type { NodeCheckContext } from '../check-context.js';
import { HOSTS_MARKER, normalizeRegistry, renderHostsToml, mirrorHostUrl, normalizeMirrorUrl } from '../containerd/hosts-toml.js';
import { keysForVersion } from '../containerd/keys.js';
import { parseToml, tomlKeyPath, tomlString } from '../containerd/toml.js';
import { configVersionFor, detectContainerdVersion, parseVersionString, type ContainerdVersion } from '../containerd/version.js';
import { NodeConfigError, needMirror } from '../errors.js';
import { proposeChange, readOptional, type FileChange } from '../file-change.js';
import type { ImagesDir, NodeConfigPlan, NodeConfigRequest, NodeKind } from '../node.js';
import { k0sChecks } from './checks.js';

export const K0S_MANAGED_MARKER = '# k0s_managed=true';
export const K0S_DROP_IN_MARKER = '# Written by airgap load --configure-containerd: the bundle\'s pause and the registry hosts directory.';

export interface K0sNodeOptions {
  /** The file system root (tests; default /). */
  root?: string;
  socket?: string;
}

/** Is /etc/k0s/containerd.toml k0s's own (so k0s applies drop-ins)? Absent counts as k0s's. */
export function isK0sManaged(text: string | null): boolean {
  return text === null || text.split('\n').some((l) => l.trim() === K0S_MANAGED_MARKER);
}

export class K0sNode implements NodeKind {
  readonly distribution = 'k0s' as const;
  readonly runtime = 'containerd' as const;
  readonly title = 'k0s';
  readonly configures = 'a drop-in in /etc/k0s/containerd.d and hosts.toml files in /etc/k0s/containerd.d/certs.d';
  readonly containerdSocket: string;
  readonly containerdConfig: string;
  readonly ctrFallback = ['k0s', 'ctr'];
  readonly imagesDir: ImagesDir;
  readonly dropInDir: string;
  readonly dropInPath: string;
  readonly certsDir: string;
  /** The CRI configuration k0s generates from its defaults and the CRI drop-ins. */
  readonly generatedCri: string;

  constructor(private readonly opts: K0sNodeOptions = {}) {
    const root = opts.root ?? '/';
    this.containerdSocket = opts.socket ?? join(root, 'run/k0s/containerd.sock');
    this.containerdConfig = join(root, 'etc/k0s/containerd.toml');
    this.dropInDir = join(root, 'etc/k0s/containerd.d');
    this.dropInPath = join(this.dropInDir, 'airgap.toml');
    // k0s's own documentation keeps hosts.toml files under containerd.d/certs.d; k0s reads only *.toml directly in containerd.d.
    this.certsDir = join(this.dropInDir, 'certs.d');
    this.generatedCri = join(root, 'run/k0s/containerd-cri.toml');
    this.imagesDir = { path: join(root, 'var/lib/k0s/images'), note: `k0s imports every archive in ${join(root, 'var/lib/k0s/images')} when the worker starts` };
  }

  async restartCommand(): Promise<string> {
    const root = this.opts.root ?? '/';
    for (const unit of ['k0sworker', 'k0scontroller']) {
      if (await stat(join(root, 'etc/systemd/system', `${unit}.service`)).then(() => true, () => false)) return `systemctl restart ${unit}`;
    }
    return 'systemctl restart k0sworker (k0scontroller on a controller that runs workloads)';
  }

  private async containerdVersion(req: NodeConfigRequest): Promise<ContainerdVersion> {
    if (req.containerdVersion !== undefined) {
      const v = parseVersionString(req.containerdVersion);
      if (v) return v;
    }
    const root = this.opts.root ?? '/';
    return detectContainerdVersion({
      address: req.containerdAddress ?? this.containerdSocket,
      ...(root === '/' ? {} : { binary: join(root, 'var/lib/k0s/bin/containerd') }),
    });
  }

  /** Other drop-ins that set the same keys: k0s merges in name order, so a later one wins over ours. */
  private async rivals(keys: ReturnType<typeof keysForVersion>): Promise<{ file: string; sets: string[]; after: boolean }[]> {
    let names: string[];
    try {
      names = (await readdir(this.dropInDir)).filter((n) => n.endsWith('.toml')).sort();
    } catch {
      return [];
    }
    const out: { file: string; sets: string[]; after: boolean }[] = [];
    for (const n of names) {
      const file = join(this.dropInDir, n);
      if (file === this.dropInPath) continue;
      const text = await readOptional(file).catch(() => null);
      if (text === null) continue;
      let doc;
      try {
        doc = parseToml(text, file);
      } catch {
        continue;
      }
      const own = keysForVersion(typeof doc.root.version === 'number' ? doc.root.version : undefined); // containerd migrates each file by its own version
      const sets = [own.sandboxImage, own.configPath].filter((k) => {
        let node: unknown = doc.root;
        for (const part of k) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
        return node !== undefined;
      }).map((k) => k[k.length - 1]!);
      if (sets.length > 0) out.push({ file, sets, after: n > 'airgap.toml' });
    }
    return out;
  }

  async planConfig(req: NodeConfigRequest): Promise<NodeConfigPlan> {
    const mirror = needMirror(req, this.title);
    const restart = await this.restartCommand();
    const current = await readOptional(this.containerdConfig);
    const errors: NodeConfigError[] = [];
    if (!isK0sManaged(current)) {
      errors.push(new NodeConfigError('ERR_K0S_CONTAINERD_UNMANAGED',
        `${this.containerdConfig} is not k0s managed (no "${K0S_MANAGED_MARKER}" line): k0s ignores the drop-ins in ${this.dropInDir}, and airgap never edits that file`, {
          hint: `move your settings into a drop-in (${join(this.dropInDir, 'custom.toml')}), remove ${this.containerdConfig} so k0s writes its own again, ${restart}, then run airgap load again`,
          details: { file: this.containerdConfig },
        }));
    }
    const version = await this.containerdVersion(req);
    const configVersion = configVersionFor(version);
    const keys = keysForVersion(configVersion);
    const registries = [...new Set(req.registries.map(normalizeRegistry))].sort();
    const changes: FileChange[] = [];
    const unchanged: string[] = [];
    const warnings: string[] = [];
    const notes = [
      `k0s's containerd ${version.raw} (${version.source}) reads configuration version ${configVersion}: the drop-in uses ${tomlKeyPath(keys.plugin)}`,
      `${this.containerdConfig} is k0s's and stays untouched`,
    ];
    for (const registry of registries) {
      const path = join(this.certsDir, registry, 'hosts.toml');
      const before = await readOptional(path);
      if (before !== null && !before.startsWith(HOSTS_MARKER)) warnings.push(`${path} exists and was not written by airgap; it will be replaced (a backup is kept next to it)`);
      const c = await proposeChange(path, renderHostsToml(registry, mirror), `pulls of ${registry} → ${mirrorHostUrl(mirror, registry)}`, 'hosts');
      if (c) changes.push(c);
      else unchanged.push(path);
    }
    const lines = [K0S_DROP_IN_MARKER, '# k0s merges it into the CRI configuration it generates (/run/k0s/containerd-cri.toml).', `version = ${configVersion}`];
    const section = (path: readonly string[], value: string): void => {
      lines.push('', `[${tomlKeyPath(path.slice(0, -1))}]`, `  ${path[path.length - 1]} = ${tomlString(value)}`);
    };
    if (req.sandboxImage !== undefined) section(keys.sandboxImage, req.sandboxImage);
    section(keys.configPath, this.certsDir);
    const dropIn = await proposeChange(this.dropInPath, lines.join('\n') + '\n',
      [req.sandboxImage !== undefined ? `sandbox image → ${req.sandboxImage}` : '', `config_path → ${this.certsDir}`].filter(Boolean).join('; '), 'drop-in');
    if (dropIn) changes.push(dropIn);
    else unchanged.push(this.dropInPath);
    for (const r of await this.rivals(keys)) {
      warnings.push(`${r.file} also sets ${r.sets.join(' and ')}${r.after ? ` and is merged after ${this.dropInPath}, so it wins: remove ${r.sets.join(' and ')} from it` : ''}`);
    }
    const configChanged = dropIn !== undefined;
    return {
      distribution: 'k0s',
      changes,
      unchanged,
      errors,
      warnings,
      notes,
      restart: { needed: configChanged, what: 'k0s', command: restart, reasons: configChanged ? [`${this.dropInPath}: ${dropIn!.reason}`] : [] },
      ...(req.sandboxImage !== undefined ? { sandboxImage: req.sandboxImage } : {}),
      hostsDir: this.certsDir,
    };
  }

  async hostsDir(): Promise<string> {
    return this.certsDir;
  }

  checks(ctx: NodeCheckContext): Promise<CheckResult[]> {
    return k0sChecks(this, ctx);
  }

  sandboxFix(pause: string, bundle: string): string {
    return `airgap load ${bundle} --registry URL --configure-containerd writes ${this.dropInPath} with the sandbox image ${pause}; then restart k0s (never replace ${this.containerdConfig})`;
  }

  mirrorFix(registry: string, bundle: string): string {
    return `airgap load ${bundle} --registry URL --configure-containerd writes ${join(this.certsDir, registry, 'hosts.toml')} and points containerd at ${this.certsDir} through ${this.dropInPath}`;
  }
}

/** The URL hosts.toml files point at, for messages. */
export function mirrorOf(url: string): string {
  return normalizeMirrorUrl(url);
}
