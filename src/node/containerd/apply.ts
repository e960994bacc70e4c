/**
 * Applies a containerd ConfigPlan through the node layer's file writer (atomic, backups, rollback),
 * with containerd's error codes. A dry run writes nothing and returns the diffs.
 */
import { applyFileChanges, fileChangeErrors, renderDiff, type AppliedChange } from '../file-change.js';
import { ContainerdConfigError } from './errors.js';
import type { ConfigPlan } from './plan.js';

export { renderDiff, type AppliedChange };

export interface ApplyOptions {
  dryRun?: boolean;
  /** Timestamp for backup names (default: now). */
  now?: Date;
}

export interface ApplyResult {
  dryRun: boolean;
  changes: AppliedChange[];
  /** Files that were already as planned. */
  unchanged: string[];
  nothingChanged: boolean;
  restartNeeded: boolean;
  restartCommand: string;
  restartReasons: string[];
}

const containerdError = fileChangeErrors(
  (code, message, opts) => new ContainerdConfigError(code, message, opts),
  { write: 'ERR_CONTAINERD_CONFIG_WRITE', changed: 'ERR_CONTAINERD_CONFIG_CHANGED' },
  'airgap load --configure-containerd',
);

/**
 * Apply (or, with dryRun, only describe) a plan. Refuses a plan with errors. Checks that no file
 * changed since it was planned. On a failure, files already written are restored.
 */
export async function applyConfigPlan(plan: ConfigPlan, opts: ApplyOptions = {}): Promise<ApplyResult> {
  if (plan.errors.length > 0) throw plan.errors[0]!;
  const changes = await applyFileChanges(plan.changes, { ...opts, error: containerdError });
  return {
    dryRun: opts.dryRun ?? false,
    changes,
    unchanged: plan.unchanged,
    nothingChanged: plan.changes.length === 0,
    restartNeeded: plan.restartNeeded,
    restartCommand: plan.restartCommand,
    restartReasons: plan.restartReasons,
  };
}

/** Lines for the terminal: what changed (or would), backups, and whether to restart containerd. */
export function describeApplyResult(result: ApplyResult): string[] {
  const lines: string[] = [];
  if (result.nothingChanged) {
    lines.push('containerd configuration: nothing changed (already configured)');
    return lines;
  }
  const verb = result.dryRun ? 'would' : '';
  for (const c of result.changes) {
    const action = c.kind === 'create' ? (result.dryRun ? 'would create' : 'created') : result.dryRun ? 'would update' : 'updated';
    lines.push(`${action} ${c.path} (${c.reason})${c.backup ? `; previous version kept as ${c.backup}` : ''}`);
  }
  if (result.restartNeeded) {
    lines.push(
      `containerd ${verb === '' ? 'must' : 'would need to'} be restarted for the sandbox image and config_path to take effect: ${result.restartCommand}`,
    );
  } else {
    lines.push('no containerd restart needed: hosts.toml files are read at every pull');
  }
  return lines;
}
