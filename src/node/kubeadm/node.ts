/**
 * A kubeadm node: containerd (1.x or 2.x) configured through /etc/containerd/config.toml, hosts.toml
 * files under config_path, the sandbox image in the CRI keys of the config's version. The planning
 * itself is the containerd configuration library's (../containerd/plan.ts).
 */
import { resolve } from 'node:path';
import type { CheckResult } from '../check.js';
import type { NodeCheckContext } from '../check-context.js';
import { readConfigFacts } from '../containerd/config-facts.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_HOSTS_DIR, RESTART_COMMAND, planContainerdConfig, builtInConfigPath } from '../containerd/plan.js';
import { needMirror } from '../errors.js';
import type { NodeConfigPlan, NodeConfigRequest, NodeKind } from '../node.js';

export interface KubeadmNodeOptions {
  /** containerd's main config (default /etc/containerd/config.toml). */
  configPath?: string;
  /** Where hosts.toml files go when containerd has no config_path yet (default /etc/containerd/certs.d). */
  hostsDir?: string;
  /** Our drop-in (default <config dir>/conf.d/airgap.toml). */
  dropInPath?: string;
  socket?: string;
}

export class KubeadmNode implements NodeKind {
  readonly distribution = 'kubeadm' as const;
  readonly runtime = 'containerd' as const;
  readonly title = 'kubeadm (containerd)';
  readonly configures = "hosts.toml files under containerd's config_path and its sandbox image";
  readonly containerdSocket: string;
  readonly containerdConfig: string;

  constructor(private readonly opts: KubeadmNodeOptions = {}) {
    this.containerdSocket = opts.socket ?? '/run/containerd/containerd.sock';
    this.containerdConfig = resolve(opts.configPath ?? DEFAULT_CONFIG_PATH);
  }

  async planConfig(req: NodeConfigRequest): Promise<NodeConfigPlan> {
    const mirror = needMirror(req, this.title);
    const plan = await planContainerdConfig({
      registries: req.registries,
      mirror: mirror,
      ...(req.sandboxImage !== undefined ? { sandboxImage: req.sandboxImage } : {}),
      configPath: this.containerdConfig,
      ...(this.opts.hostsDir !== undefined ? { hostsDir: this.opts.hostsDir } : {}),
      ...(this.opts.dropInPath !== undefined ? { dropInPath: this.opts.dropInPath } : {}),
      ...(req.containerdVersion !== undefined ? { containerdVersion: req.containerdVersion } : {}),
      ...(req.containerdAddress !== undefined ? { containerdAddress: req.containerdAddress } : {}),
    });
    return {
      distribution: 'kubeadm',
      changes: plan.changes,
      unchanged: plan.unchanged,
      errors: plan.errors,
      warnings: plan.warnings,
      notes: [`containerd ${plan.containerd.raw} (${plan.containerd.source}), configuration version ${plan.configVersion}`, ...plan.notes],
      restart: { needed: plan.restartNeeded, what: 'containerd', command: RESTART_COMMAND, reasons: plan.restartReasons },
      ...(plan.effective.sandboxImage ? { sandboxImage: plan.effective.sandboxImage.value } : {}),
      hostsDir: plan.hostsDir,
    };
  }

  async hostsDir(): Promise<string> {
    if (this.opts.hostsDir !== undefined) return resolve(this.opts.hostsDir);
    const facts = await readConfigFacts(this.containerdConfig, undefined);
    const configured = (facts.registryConfigPath?.value ?? builtInConfigPath(undefined) ?? '').split(':').find((d) => d !== '');
    return resolve(configured ?? DEFAULT_HOSTS_DIR);
  }

  /** kubeadm's own files are checked by doctor's kubeadm checks (--kubeadm-config); containerd's by the containerd checks. */
  async checks(_ctx: NodeCheckContext): Promise<CheckResult[]> {
    return [];
  }
}
