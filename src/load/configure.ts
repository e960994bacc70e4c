import { applyConfigPlan, planContainerdConfig } from './containerd/index.js';
import type { LoadEvent } from './events.js';
import type { NodeRegistry } from './registry-url.js';

/**
 * load's third step: containerd told to pull every source registry through the node registry
 * (hosts.toml per registry) and to use the bundle's pause as its sandbox image. The planning and
 * the careful writing are the containerd configuration library's; this only wires load to it.
 */

export interface ConfigureRequest {
  registries: string[];
  mirror: NodeRegistry;
  sandboxImage?: string;
  configPath?: string;
  hostsDir?: string;
  dropInPath?: string;
  caFile?: string;
  skipVerify?: boolean;
  containerdVersion?: string;
  containerdAddress?: string;
  dryRun: boolean;
  emit(e: LoadEvent): void;
}

export interface ConfigPhaseResult {
  configPath: string;
  hostsDir: string;
  /** files written (or, in a dry run, that would be) */
  changed: string[];
  unchanged: string[];
  restartNeeded: boolean;
  restartCommand: string;
  restartReasons: string[];
  /** the sandbox image containerd will use once restarted */
  sandboxImage?: string;
  warnings: string[];
  notes: string[];
}

export async function configureContainerd(req: ConfigureRequest): Promise<ConfigPhaseResult> {
  const plan = await planContainerdConfig({
    registries: req.registries,
    mirror: {
      url: req.mirror.origin,
      ...(req.mirror.prefix ? { pathPrefix: req.mirror.prefix } : {}),
      ...(req.caFile ? { caFile: req.caFile } : {}),
      ...(req.skipVerify ? { skipVerify: true } : {}),
    },
    ...(req.sandboxImage ? { sandboxImage: req.sandboxImage } : {}),
    ...(req.configPath ? { configPath: req.configPath } : {}),
    ...(req.hostsDir ? { hostsDir: req.hostsDir } : {}),
    ...(req.dropInPath ? { dropInPath: req.dropInPath } : {}),
    ...(req.containerdVersion ? { containerdVersion: req.containerdVersion } : {}),
    ...(req.containerdAddress ? { containerdAddress: req.containerdAddress } : {}),
  });
  for (const w of plan.warnings) req.emit({ event: 'warning', code: 'CONTAINERD_CONFIG', message: w });
  const applied = await applyConfigPlan(plan, { dryRun: req.dryRun });
  for (const c of applied.changes) {
    const status = c.kind === 'create' ? (req.dryRun ? 'would-create' : 'created') : req.dryRun ? 'would-change' : 'changed';
    req.emit({ event: 'config', path: c.path, status, reason: c.reason, ...(c.backup ? { backup: c.backup } : {}), ...(c.diff ? { diff: c.diff } : {}) });
  }
  for (const p of applied.unchanged) req.emit({ event: 'config', path: p, status: 'unchanged' });
  return {
    configPath: plan.configPath,
    hostsDir: plan.hostsDir,
    changed: applied.changes.map((c) => c.path),
    unchanged: applied.unchanged,
    restartNeeded: applied.restartNeeded && applied.changes.length > 0,
    restartCommand: applied.restartCommand,
    restartReasons: applied.restartReasons,
    ...(plan.effective.sandboxImage ? { sandboxImage: plan.effective.sandboxImage.value } : {}),
    warnings: plan.warnings,
    notes: plan.notes,
  };
}
