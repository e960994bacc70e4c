/**
 * A node whose kubelet uses Docker Engine through cri-dockerd. Images live in Docker's store
 * (`airgap load --docker`); the one setting that keeps pods offline is the sandbox image, which
 * cri-dockerd takes from its command line only (--pod-infra-container-image). A systemd drop-in
 * cannot append to ExecStart, so the drop-in /etc/systemd/system/cri-docker.service.d/50-airgap.conf
 * clears it and repeats the unit's own command line with the bundle's pause:
 *
 *   [Service]
 *   ExecStart=
 *   ExecStart=<the unit's ExecStart, without --pod-infra-container-image> --pod-infra-container-image=<pause>
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckResult } from '../check.js';
import type { NodeCheckContext } from '../check-context.js';
import { NodeConfigError } from '../errors.js';
import { proposeChange, readOptional, type FileChange } from '../file-change.js';
import type { NodeConfigPlan, NodeConfigRequest, NodeKind } from '../node.js';

export const CRI_DOCKERD_UNIT = 'cri-docker.service';
export const CRI_DOCKERD_RESTART = 'systemctl daemon-reload && systemctl restart cri-docker';
export const CRI_DOCKERD_DROP_IN_MARKER = '# Written by airgap load --configure: cri-dockerd starts pods with the bundle\'s pause.';
const FLAG = '--pod-infra-container-image';

export interface DockerNodeOptions {
  /** The file system root (tests; default /). */
  root?: string;
}

/** The ExecStart lines of a unit file's [Service] section, continuation lines joined; `ExecStart=` (empty) resets. */
export function execStartOf(unit: string): string | undefined {
  const lines = unit.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  let section = '';
  let exec: string | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const m = /^ExecStart\s*=\s*(.*)$/.exec(line);
    if (m) exec = m[1]!.trim() === '' ? undefined : m[1]!.replace(/\s+/g, ' ').trim();
  }
  return exec;
}

/** The command line without any --pod-infra-container-image (as `=value` or ` value`). */
export function withoutPodInfra(exec: string): string {
  return exec.replace(new RegExp(`\\s+${FLAG}(?:=|\\s+)(?:"[^"]*"|'[^']*'|\\S+)`, 'g'), '').trim();
}

/** --pod-infra-container-image's value in a command line. */
export function podInfraOf(exec: string | undefined): string | undefined {
  if (exec === undefined) return undefined;
  const m = new RegExp(`${FLAG}(?:=|\\s+)["']?([^\\s"']+)`).exec(exec);
  return m?.[1];
}

export class DockerNode implements NodeKind {
  readonly distribution = 'kubeadm' as const;
  readonly runtime = 'docker' as const;
  readonly title = 'Docker Engine (cri-dockerd)';
  readonly configures = '/etc/systemd/system/cri-docker.service.d/50-airgap.conf';
  readonly containerdSocket = '';
  readonly containerdConfig = '';
  readonly dropInDir: string;
  readonly dropInPath: string;
  /** Where the unit file may be, in systemd's order. */
  readonly unitPaths: string[];

  constructor(opts: DockerNodeOptions = {}) {
    const root = opts.root ?? '/';
    this.dropInDir = join(root, 'etc/systemd/system', `${CRI_DOCKERD_UNIT}.d`);
    this.dropInPath = join(this.dropInDir, '50-airgap.conf');
    this.unitPaths = ['etc/systemd/system', 'lib/systemd/system', 'usr/lib/systemd/system'].map((d) => join(root, d, CRI_DOCKERD_UNIT));
  }

  /** The unit file systemd uses, and its text. */
  async unit(): Promise<{ path: string; text: string } | undefined> {
    for (const path of this.unitPaths) {
      const text = await readOptional(path).catch(() => null);
      if (text !== null) return { path, text };
    }
    return undefined;
  }

  missingUnitError(): NodeConfigError {
    return new NodeConfigError('ERR_CRI_DOCKERD_UNIT', `--configure on a cri-dockerd node (--configure-containerd) needs cri-dockerd's systemd unit, and there is no ${CRI_DOCKERD_UNIT} in ${this.unitPaths.map((p) => p.replace(/\/[^/]+$/, '')).join(', ')}`, {
      hint: `install cri-dockerd with its systemd units (cri-docker.service, cri-docker.socket), or start cri-dockerd yourself with ${FLAG}=<the bundle's pause>; then run airgap load again`,
      details: { files: this.unitPaths },
    });
  }

  /** The other drop-ins of the unit, in the order systemd applies them. */
  private async dropIns(): Promise<string[]> {
    try {
      return (await readdir(this.dropInDir)).filter((n) => n.endsWith('.conf')).sort().map((n) => join(this.dropInDir, n));
    } catch {
      return [];
    }
  }

  /** cri-dockerd's command line as systemd runs it (unit, then drop-ins), and the file the last ExecStart came from. */
  async effectiveExecStart(): Promise<{ exec?: string; file?: string }> {
    const unit = await this.unit();
    let exec = unit ? execStartOf(unit.text) : undefined;
    let file = unit?.path;
    for (const d of await this.dropIns()) {
      const text = await readOptional(d).catch(() => null);
      if (text === null || !/^\s*ExecStart\s*=/m.test(text)) continue;
      exec = execStartOf(text);
      file = d;
    }
    return { ...(exec !== undefined ? { exec } : {}), ...(file !== undefined ? { file } : {}) };
  }

  async planConfig(req: NodeConfigRequest): Promise<NodeConfigPlan> {
    const restart = { needed: false, what: 'cri-dockerd', command: CRI_DOCKERD_RESTART, reasons: [] as string[] };
    const base = { distribution: 'kubeadm' as const, changes: [] as FileChange[], unchanged: [] as string[], warnings: [] as string[], notes: [] as string[] };
    if (req.sandboxImage === undefined) {
      return { ...base, errors: [], restart, warnings: ['the bundle has no pause image: cri-dockerd keeps its own --pod-infra-container-image'] };
    }
    const unit = await this.unit();
    if (!unit) return { ...base, errors: [this.missingUnitError()], restart };
    // The command line the drop-ins before ours leave; ours replaces it.
    let exec = execStartOf(unit.text);
    let from = unit.path;
    const warnings: string[] = [];
    for (const d of await this.dropIns()) {
      if (d === this.dropInPath) continue;
      const text = await readOptional(d).catch(() => null);
      if (text === null || !/^\s*ExecStart\s*=/m.test(text)) continue;
      if (d < this.dropInPath) {
        exec = execStartOf(text);
        from = d;
      } else warnings.push(`${d} also sets ExecStart and is applied after ${this.dropInPath}, so it wins: add ${FLAG}=${req.sandboxImage} there, or remove its ExecStart lines`);
    }
    if (exec === undefined) {
      return { ...base, restart, errors: [new NodeConfigError('ERR_CRI_DOCKERD_UNIT', `${from} has no ExecStart in its [Service] section: cannot tell how cri-dockerd is started`, {
        hint: `fix the unit (ExecStart=/usr/bin/cri-dockerd --container-runtime-endpoint fd://), then run airgap load again`, details: { file: from },
      })] };
    }
    const command = `${withoutPodInfra(exec)} ${FLAG}=${req.sandboxImage}`;
    const text = [
      CRI_DOCKERD_DROP_IN_MARKER,
      `# ExecStart is ${from}'s, with ${FLAG} set; a drop-in cannot append to ExecStart, so it is cleared first.`,
      '[Service]',
      'ExecStart=',
      `ExecStart=${command}`,
      '',
    ].join('\n');
    const before = await readOptional(this.dropInPath);
    if (before !== null && !before.startsWith(CRI_DOCKERD_DROP_IN_MARKER)) warnings.push(`${this.dropInPath} exists and was not written by airgap; it will be replaced (a backup is kept next to it)`);
    const change = await proposeChange(this.dropInPath, text, `${FLAG} → ${req.sandboxImage}`, 'drop-in');
    return {
      ...base,
      changes: change ? [change] : [],
      unchanged: change ? [] : [this.dropInPath],
      errors: [],
      warnings,
      notes: [`cri-dockerd's command line comes from ${from}`],
      restart: { ...restart, needed: change !== undefined, reasons: change ? [`${this.dropInPath}: ${change.reason}`] : [] },
      sandboxImage: req.sandboxImage,
    };
  }

  /** Docker reads no hosts.toml. */
  async hostsDir(): Promise<string> {
    return '';
  }

  /** The pod-infra check is doctor's runtime check (it reads this node's effective ExecStart). */
  async checks(_ctx: NodeCheckContext): Promise<CheckResult[]> {
    return [];
  }

  sandboxFix(pause: string, bundle: string): string {
    return `airgap load ${bundle} --docker --configure writes ${this.dropInPath} with ${FLAG}=${pause}; then ${CRI_DOCKERD_RESTART}`;
  }
}
