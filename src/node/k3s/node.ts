/**
 * A k3s or RKE2 node. Both run their own containerd on /run/k3s/containerd/containerd.sock and
 * regenerate its config.toml and hosts.toml files at every start, so edits there are lost: mirrors
 * belong in /etc/rancher/{k3s,rke2}/registries.yaml and the sandbox image in the `pause-image`
 * setting. Archives in <data-dir>/agent/images/ are imported (and pinned) at every start.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { sameReference } from '../../oci/reference.js';
import type { CheckResult } from '../check.js';
import type { NodeCheckContext } from '../check-context.js';
import { mirrorHostUrl, normalizeMirrorUrl, normalizeRegistry } from '../containerd/hosts-toml.js';
import { proposeChange, readOptional } from '../file-change.js';
import { needMirror } from '../errors.js';
import type { ImagesDir, NodeConfigPlan, NodeConfigRequest, NodeKind } from '../node.js';
import { distributionPause, releaseOfBinary, type NodeRelease } from '../release.js';
import { k3sChecks } from './checks.js';
import { mergeRegistries, readRegistries } from './registries-yaml.js';

export type K3sFlavour = 'k3s' | 'rke2';

export interface K3sNodeOptions {
  /** The file system root (tests; default /). */
  root?: string;
  /** containerd's socket (default /run/k3s/containerd/containerd.sock). */
  socket?: string;
  /** The release the node runs, when known (v1.30.14+k3s1); else asked of the binary. */
  release?: NodeRelease;
}

/** k3s releases whose containerd 2.0 broke the fallback behind a "*" mirror (k3s-io/k3s#11857); fixed in v1.31.7 / v1.32.3. */
export const WILDCARD_BROKEN = ['v1.31.6', 'v1.32.2'] as const;

export class K3sNode implements NodeKind {
  readonly distribution: K3sFlavour;
  readonly runtime = 'containerd' as const;
  readonly title: string;
  readonly configures: string;
  readonly containerdSocket: string;
  readonly containerdConfig: string;
  readonly ctrFallback: string[];
  readonly imagesDir: ImagesDir;
  readonly configDir: string;
  readonly registriesFile: string;
  readonly dataDir: string;
  readonly certsDir: string;
  private releaseCache: Promise<NodeRelease | undefined> | undefined;

  constructor(flavour: K3sFlavour, private readonly opts: K3sNodeOptions = {}) {
    const root = opts.root ?? '/';
    this.distribution = flavour;
    this.title = flavour === 'k3s' ? 'k3s' : 'RKE2';
    this.configDir = join(root, 'etc/rancher', flavour);
    this.registriesFile = join(this.configDir, 'registries.yaml');
    this.configures = `${join('/etc/rancher', flavour, 'registries.yaml')} (one mirror entry per bundle registry)`;
    this.dataDir = join(root, 'var/lib/rancher', flavour);
    this.containerdSocket = opts.socket ?? join(root, 'run/k3s/containerd/containerd.sock');
    this.containerdConfig = join(this.dataDir, 'agent/etc/containerd/config.toml');
    this.certsDir = join(this.dataDir, 'agent/etc/containerd/certs.d');
    this.ctrFallback = flavour === 'k3s' ? ['k3s', 'ctr'] : [join(this.dataDir, 'bin/ctr')];
    this.imagesDir = {
      path: join(this.dataDir, 'agent/images'),
      note: `${this.title} imports every archive in ${join(this.dataDir, 'agent/images')} at start and pins its images`,
    };
  }

  /** The service to restart: the server's unit, or the agent's on an agent-only node. */
  async restartCommand(): Promise<string> {
    const root = this.opts.root ?? '/';
    const units = this.distribution === 'k3s'
      ? [['etc/systemd/system/k3s.service', 'k3s'], ['etc/systemd/system/k3s-agent.service', 'k3s-agent']]
      : [['usr/local/lib/systemd/system/rke2-server.service', 'rke2-server'], ['usr/lib/systemd/system/rke2-server.service', 'rke2-server'],
        ['usr/local/lib/systemd/system/rke2-agent.service', 'rke2-agent'], ['usr/lib/systemd/system/rke2-agent.service', 'rke2-agent']];
    for (const [file, unit] of units) {
      if (await stat(join(root, file!)).then(() => true, () => false)) return `systemctl restart ${unit}`;
    }
    return `systemctl restart ${this.distribution === 'k3s' ? 'k3s' : 'rke2-server'} (or ${this.distribution === 'k3s' ? 'k3s-agent' : 'rke2-agent'} on an agent)`;
  }

  /** The release: as given, else `k3s --version` / `rke2 --version` when the binary is here. */
  release(): Promise<NodeRelease | undefined> {
    this.releaseCache ??= this.opts.release !== undefined ? Promise.resolve(this.opts.release)
      : (this.opts.root ?? '/') === '/' ? releaseOfBinary(this.distribution).catch(() => undefined) : Promise.resolve(undefined);
    return this.releaseCache;
  }

  /**
   * The sandbox image k3s passes to its containerd: `pause-image` from config.yaml (and
   * config.yaml.d/*.yaml, later files winning), else the release's default from airgap's data.
   */
  async pauseImage(): Promise<{ image?: string; source: string }> {
    const files = [join(this.configDir, 'config.yaml')];
    try {
      const dropIns = (await readdir(join(this.configDir, 'config.yaml.d'))).filter((f) => /\.ya?ml$/.test(f)).sort();
      files.push(...dropIns.map((f) => join(this.configDir, 'config.yaml.d', f)));
    } catch {
      /* no drop-in directory */
    }
    let found: { image?: string; source: string } | undefined;
    for (const f of files) {
      const text = await readOptional(f).catch(() => null);
      if (text === null) continue;
      try {
        const v = (parseYaml(text) as Record<string, unknown> | null)?.['pause-image'];
        if (typeof v === 'string' && v !== '') found = { image: v, source: `pause-image in ${f}` };
      } catch {
        /* a broken config.yaml is k3s's to report */
      }
    }
    if (found) return found;
    const release = await this.release();
    const image = release ? distributionPause(this.distribution, release.version) : undefined;
    if (image) return { image, source: `${this.title} ${release!.version}'s default (from ${release!.source})` };
    return { source: `${this.title}'s default for its release (release unknown: pass --kubernetes with the ${this.distribution} release, e.g. v1.30.14+${this.distribution === 'k3s' ? 'k3s1' : 'rke2r1'})` };
  }

  async planConfig(req: NodeConfigRequest): Promise<NodeConfigPlan> {
    const mirror = needMirror(req, this.title);
    const registries = [...new Set(req.registries.map(normalizeRegistry))].sort();
    const mirrorUrl = new URL(normalizeMirrorUrl(mirror.url));
    const before = await readOptional(this.registriesFile);
    const merged = mergeRegistries(
      before,
      this.registriesFile,
      registries.map((registry) => ({ registry, endpoint: mirrorHostUrl(mirror, registry) })),
      mirrorUrl.protocol === 'https:'
        ? { host: mirrorUrl.host, ...(mirror.caFile !== undefined ? { caFile: mirror.caFile } : {}), ...(mirror.skipVerify ? { skipVerify: true } : {}) }
        : undefined,
    );
    const change = await proposeChange(this.registriesFile, merged.text, merged.changed.length ? `mirrors for ${merged.changed.join(', ')} → ${normalizeMirrorUrl(mirror.url)}` : 'formatting', 'registries');
    const warnings = [...merged.warnings];
    const notes = [
      `${this.title} writes ${this.containerdConfig} and the hosts.toml files in ${this.certsDir} from ${this.registriesFile} at every start: airgap writes neither`,
    ];
    const facts = readRegistries(merged.text, this.registriesFile);
    if (facts.wildcard) {
      const release = await this.release();
      warnings.push(
        `${this.registriesFile} has a "*" mirror: every registry without its own entry goes there. Under containerd 2.0 (${this.title} ${WILDCARD_BROKEN.join(', ')}) it broke the fallback to the real registry` +
          (release ? `; this node runs ${release.version}` : '') + '. The bundle\'s registries have explicit entries now; remove "*" unless every pull is meant to go there',
      );
    }
    const pause = await this.pauseImage();
    if (req.sandboxImage !== undefined && pause.image !== undefined && !sameReference(pause.image, req.sandboxImage)) {
      warnings.push(
        `${this.title} uses ${pause.image} as its sandbox image (${pause.source}), but the bundle's pause is ${req.sandboxImage}: ` +
          `add \`pause-image: ${req.sandboxImage}\` to ${join(this.configDir, 'config.yaml')} and restart ${this.title}, or pack ${pause.image} into the bundle`,
      );
    } else if (req.sandboxImage !== undefined && pause.image === undefined) {
      notes.push(`cannot tell which pause image ${this.title} runs (${pause.source}); if it is not ${req.sandboxImage}, set \`pause-image: ${req.sandboxImage}\` in ${join(this.configDir, 'config.yaml')}`);
    }
    const restartCommand = await this.restartCommand();
    return {
      distribution: this.distribution,
      changes: change ? [change] : [],
      unchanged: change ? [] : [this.registriesFile],
      errors: merged.errors,
      warnings,
      notes,
      restart: { needed: change !== undefined, what: this.title, command: restartCommand, reasons: change ? [`${this.registriesFile}: ${change.reason}`] : [] },
      ...(pause.image !== undefined ? { sandboxImage: pause.image } : {}),
      hostsDir: this.certsDir,
    };
  }

  async hostsDir(): Promise<string> {
    return this.certsDir;
  }

  checks(ctx: NodeCheckContext): Promise<CheckResult[]> {
    return k3sChecks(this, ctx);
  }

  sandboxFix(pause: string): string {
    return `add \`pause-image: ${pause}\` to ${join(this.configDir, 'config.yaml')} and restart ${this.title} (it writes containerd's sandbox image from it at start)`;
  }

  mirrorFix(registry: string, bundle: string): string {
    return `airgap load ${bundle} --registry URL --configure-containerd adds ${registry} to ${this.registriesFile}; restart ${this.title} and it writes ${join(this.certsDir, registry, 'hosts.toml')}`;
  }
}

