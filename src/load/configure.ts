import { applyFileChanges } from '../node/file-change.js';
import type { NodeKind } from '../node/node.js';
import type { LoadEvent } from './events.js';
import type { NodeRegistry } from './registry-url.js';

/**
 * load's third step: the node told to pull every source registry through the node registry and
 * to use the bundle's pause as its sandbox image — in the files that kind of node reads
 * (containerd's hosts.toml and config on kubeadm, registries.yaml on k3s/RKE2, a drop-in on k0s).
 * The node layer plans; this only writes the plan and reports it.
 */

export interface ConfigureRequest {
  node: NodeKind;
  registries: string[];
  /** The registry the node pulls through (every runtime but Docker's). */
  mirror?: NodeRegistry;
  sandboxImage?: string;
  caFile?: string;
  skipVerify?: boolean;
  containerdVersion?: string;
  containerdAddress?: string;
  dryRun: boolean;
  emit(e: LoadEvent): void;
}

export interface ConfigPhaseResult {
  distribution: string;
  /** where hosts.toml files are read from once the node restarted */
  hostsDir?: string;
  /** files written (or, in a dry run, that would be) */
  changed: string[];
  unchanged: string[];
  restartNeeded: boolean;
  /** what must restart: containerd, k3s, k0s */
  restartWhat: string;
  restartCommand: string;
  restartReasons: string[];
  /** the sandbox image the runtime will use once restarted */
  sandboxImage?: string;
  warnings: string[];
  notes: string[];
}

export async function configureNode(req: ConfigureRequest): Promise<ConfigPhaseResult> {
  const plan = await req.node.planConfig({
    registries: req.registries,
    ...(req.mirror ? {
      mirror: {
        url: req.mirror.origin,
        ...(req.mirror.prefix ? { pathPrefix: req.mirror.prefix } : {}),
        ...(req.caFile ? { caFile: req.caFile } : {}),
        ...(req.skipVerify ? { skipVerify: true } : {}),
      },
    } : {}),
    ...(req.sandboxImage ? { sandboxImage: req.sandboxImage } : {}),
    ...(req.containerdVersion ? { containerdVersion: req.containerdVersion } : {}),
    ...(req.containerdAddress ? { containerdAddress: req.containerdAddress } : {}),
  });
  if (plan.errors.length > 0) throw plan.errors[0]!;
  for (const w of plan.warnings) req.emit({ event: 'warning', code: 'NODE_CONFIG', message: w });
  for (const n of plan.notes) req.emit({ event: 'notice', message: n });
  const applied = await applyFileChanges(plan.changes, { dryRun: req.dryRun });
  for (const c of applied) {
    const status = c.kind === 'create' ? (req.dryRun ? 'would-create' : 'created') : req.dryRun ? 'would-change' : 'changed';
    req.emit({ event: 'config', path: c.path, status, reason: c.reason, ...(c.backup ? { backup: c.backup } : {}), ...(c.diff ? { diff: c.diff } : {}) });
  }
  for (const p of plan.unchanged) req.emit({ event: 'config', path: p, status: 'unchanged' });
  return {
    distribution: plan.distribution,
    ...(plan.hostsDir ? { hostsDir: plan.hostsDir } : {}),
    changed: applied.map((c) => c.path),
    unchanged: plan.unchanged,
    restartNeeded: plan.restart.needed && applied.length > 0,
    restartWhat: plan.restart.what,
    restartCommand: plan.restart.command,
    restartReasons: plan.restart.reasons,
    ...(plan.sandboxImage ? { sandboxImage: plan.sandboxImage } : {}),
    warnings: plan.warnings,
    notes: plan.notes,
  };
}
