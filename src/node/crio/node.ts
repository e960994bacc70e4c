/**
 * A node whose kubelet uses CRI-O. CRI-O has no image import: kubelet's pulls must resolve from a
 * mirror. Two drop-ins, nothing else touched:
 * - /etc/containers/registries.conf.d/50-airgap.conf: one `[[registry]]` per bundle registry with
 *   the node registry as its `[[registry.mirror]]` (containers/image, CRI-O's image library);
 * - /etc/crio/crio.conf.d/50-airgap.conf: `[crio.image]` pause_image and pinned_images, the
 *   bundle's pause (CRI-O's default pause would otherwise be pulled from the internet).
 * CRI-O reads both again on `systemctl reload crio` (SIGHUP).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CheckResult } from '../check.js';
import type { NodeCheckContext } from '../check-context.js';
import { normalizeMirrorUrl, normalizeRegistry } from '../containerd/hosts-toml.js';
import { parseToml, getPath, tomlString } from '../containerd/toml.js';
import { needMirror } from '../errors.js';
import { proposeChange, readOptional, type FileChange } from '../file-change.js';
import type { NodeConfigPlan, NodeConfigRequest, NodeKind } from '../node.js';
import { crioChecks } from './checks.js';
import { REGISTRIES_MARKER, parseRegistriesConf, renderRegistriesConf } from './registries-conf.js';

export const CRIO_DROP_IN_MARKER = '# Written by airgap load --configure: the bundle\'s pause as CRI-O\'s pause image, pinned.';
export const CRIO_RESTART = 'systemctl reload crio';
export const CRIO_SOCKET = '/var/run/crio/crio.sock';

export interface CrioNodeOptions {
  /** The file system root (tests; default /). */
  root?: string;
}

/** The CRI-O drop-in text. */
export function renderCrioDropIn(pause: string): string {
  return [
    CRIO_DROP_IN_MARKER,
    '# CRI-O reads it after /etc/crio/crio.conf; a later file in crio.conf.d wins.',
    '[crio.image]',
    `pause_image = ${tomlString(pause)}`,
    `pinned_images = [${tomlString(pause)}]`,
    '',
  ].join('\n');
}

async function confFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith('.conf')).sort().map((n) => join(dir, n));
  } catch {
    return [];
  }
}

export class CrioNode implements NodeKind {
  readonly distribution = 'kubeadm' as const;
  readonly runtime = 'cri-o' as const;
  readonly title = 'CRI-O';
  readonly configures = '/etc/containers/registries.conf.d/50-airgap.conf and /etc/crio/crio.conf.d/50-airgap.conf';
  readonly containerdSocket = '';
  readonly containerdConfig = '';
  readonly etcContainers: string;
  readonly etcCrio: string;
  readonly registriesDropIn: string;
  readonly crioDropIn: string;

  constructor(opts: CrioNodeOptions = {}) {
    const root = opts.root ?? '/';
    this.etcContainers = join(root, 'etc/containers');
    this.etcCrio = join(root, 'etc/crio');
    this.registriesDropIn = join(this.etcContainers, 'registries.conf.d/50-airgap.conf');
    this.crioDropIn = join(this.etcCrio, 'crio.conf.d/50-airgap.conf');
  }

  /** CRI-O's files in the order it reads them: crio.conf, then crio.conf.d/*.conf. */
  async crioConfigFiles(): Promise<string[]> {
    return [join(this.etcCrio, 'crio.conf'), ...(await confFiles(join(this.etcCrio, 'crio.conf.d')))];
  }

  async planConfig(req: NodeConfigRequest): Promise<NodeConfigPlan> {
    const mirror = needMirror(req, this.title);
    const registries = [...new Set(req.registries.map(normalizeRegistry))].sort();
    const changes: FileChange[] = [];
    const unchanged: string[] = [];
    const warnings: string[] = [];
    const notes = [`CRI-O has no image import: kubelet's pulls go to ${normalizeMirrorUrl(mirror.url)} through ${this.registriesDropIn}`];

    // A private CA: containers/image trusts it from /etc/containers/certs.d/<host>/ca.crt.
    if (mirror.caFile !== undefined) {
      const host = new URL(normalizeMirrorUrl(mirror.url)).host;
      const path = join(this.etcContainers, 'certs.d', host, 'ca.crt');
      const c = await proposeChange(path, await readFile(resolve(mirror.caFile), 'utf8'), `the CA of ${host}`, 'hosts');
      if (c) changes.push(c);
      else unchanged.push(path);
    }

    const before = await readOptional(this.registriesDropIn);
    if (before !== null && !before.startsWith(REGISTRIES_MARKER)) warnings.push(`${this.registriesDropIn} exists and was not written by airgap; it will be replaced (a backup is kept next to it)`);
    const reg = await proposeChange(this.registriesDropIn, renderRegistriesConf(registries, mirror),
      `pulls of ${registries.join(', ')} → ${normalizeMirrorUrl(mirror.url)}`, 'registries');
    if (reg) changes.push(reg);
    else unchanged.push(this.registriesDropIn);
    for (const file of await confFiles(join(this.etcContainers, 'registries.conf.d'))) {
      if (file <= this.registriesDropIn) continue;
      const text = await readOptional(file).catch(() => null);
      if (text === null) continue;
      let prefixes: string[];
      try {
        prefixes = parseRegistriesConf(text, file).map((e) => e.prefix);
      } catch {
        continue;
      }
      const clash = prefixes.filter((p) => registries.includes(p));
      if (clash.length) warnings.push(`${file} also configures ${clash.join(', ')} and is read after ${this.registriesDropIn}, so it wins: remove those [[registry]] entries from it`);
    }

    let crio: FileChange | undefined;
    if (req.sandboxImage !== undefined) {
      crio = await proposeChange(this.crioDropIn, renderCrioDropIn(req.sandboxImage), `pause_image → ${req.sandboxImage} (pinned)`, 'drop-in');
      if (crio) changes.push(crio);
      else unchanged.push(this.crioDropIn);
      for (const file of await this.crioConfigFiles()) {
        if (file <= this.crioDropIn || !file.startsWith(join(this.etcCrio, 'crio.conf.d'))) continue;
        const text = await readOptional(file).catch(() => null);
        if (text === null) continue;
        try {
          if (getPath(parseToml(text, file).root, ['crio', 'image', 'pause_image']) !== undefined) {
            warnings.push(`${file} also sets pause_image and is read after ${this.crioDropIn}, so it wins: remove pause_image from it`);
          }
        } catch {
          warnings.push(`${file} does not parse: CRI-O will refuse to start until it is fixed`);
        }
      }
    } else {
      warnings.push('the bundle has no pause image: CRI-O keeps its own pause_image, which it will pull from the internet');
    }

    return {
      distribution: 'kubeadm',
      changes,
      unchanged,
      errors: [],
      warnings,
      notes,
      restart: {
        needed: changes.length > 0,
        what: 'CRI-O',
        command: CRIO_RESTART,
        reasons: changes.map((c) => `${c.path}: ${c.reason}`),
      },
      ...(req.sandboxImage !== undefined ? { sandboxImage: req.sandboxImage } : {}),
    };
  }

  /** CRI-O reads no hosts.toml. */
  async hostsDir(): Promise<string> {
    return '';
  }

  checks(ctx: NodeCheckContext): Promise<CheckResult[]> {
    return crioChecks(this, ctx);
  }

  sandboxFix(pause: string, bundle: string): string {
    return `airgap load ${bundle} --registry URL --runtime crio --configure writes pause_image = "${pause}" into ${this.crioDropIn}; then ${CRIO_RESTART}`;
  }

  mirrorFix(registry: string, bundle: string): string {
    return `airgap load ${bundle} --registry URL --runtime crio --configure writes a [[registry]] for ${registry} with the node registry as its mirror into ${this.registriesDropIn}; then ${CRIO_RESTART}`;
  }
}
