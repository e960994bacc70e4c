import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { startRegistry } from '../../scripts/lab/index.js';
import { auditRegistry, runCli, sha256File } from './harness.js';

/**
 * One kill -9 trial each for pack and load, shared by crash.test.ts (a few) and scripts/soak.ts
 * (many): start the command, SIGKILL it at a random moment, check what it left, run it again to
 * the end, and compare with a clean run.
 */

export interface PackTrialOptions {
  /** pack arguments without -o */
  args: string[];
  out: string;
  /** sha256 of the clean run's bundle */
  want: string;
  killAfterMs: number;
}

export interface TrialResult {
  /** the process was killed before it finished (else it completed first) */
  killed: boolean;
  /** the re-run (or the run itself) ended with the clean result */
  identical: boolean;
  problems: string[];
}

export async function packCrashTrial(o: PackTrialOptions): Promise<TrialResult> {
  const problems: string[] = [];
  await rm(o.out, { force: true });
  const first = await runCli([...o.args, '-o', o.out], { killAfterMs: o.killAfterMs });
  const killed = first.signal === 'SIGKILL';
  const names = await readdir(dirname(o.out));
  if (killed && names.includes(basename(o.out))) {
    // A kill after the final rename is a finished bundle; anything else under the final name is wrong.
    if ((await sha256File(o.out)) !== o.want) problems.push(`killed at ${o.killAfterMs} ms: a wrong file under the final name`);
  }
  if (!killed && first.exitCode !== 0) problems.push(`exit ${first.exitCode}: ${first.stderr.trim()}`);
  const again = await runCli([...o.args, '-o', o.out]);
  if (again.exitCode !== 0) problems.push(`re-run after kill at ${o.killAfterMs} ms: exit ${again.exitCode}: ${again.stderr.trim()}`);
  const identical = again.exitCode === 0 && (await sha256File(o.out)) === o.want;
  if (again.exitCode === 0 && !identical) problems.push(`re-run after kill at ${o.killAfterMs} ms: bundle differs from the clean run`);
  const left = (await readdir(dirname(o.out))).filter((n) => n.startsWith(`${basename(o.out)}.`));
  if (left.length) problems.push(`left behind: ${left.join(', ')}`);
  return { killed, identical, problems };
}

export interface LoadTrialOptions {
  bundle: string;
  /** repository:tag -> digest the node registry must serve in the end */
  want: Map<string, string>;
  killAfterMs: number;
  workDir: string;
}

export async function loadCrashTrial(o: LoadTrialOptions): Promise<TrialResult & { manifestsAtKill: number; firstMs: number }> {
  const problems: string[] = [];
  const node = await startRegistry({ dir: join(o.workDir, `node-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`) });
  try {
    const first = await runCli(['load', o.bundle, '--registry', node.url], { killAfterMs: o.killAfterMs });
    const killed = first.signal === 'SIGKILL';
    if (!killed && first.exitCode !== 0) problems.push(`exit ${first.exitCode}: ${first.stderr.trim()}`);
    const atKill = await auditRegistry(node.url);
    for (const p of atKill.problems) problems.push(`after kill at ${o.killAfterMs} ms the registry serves ${p}`);
    const again = await runCli(['load', o.bundle, '--registry', node.url]);
    if (again.exitCode !== 0) problems.push(`re-run after kill at ${o.killAfterMs} ms: exit ${again.exitCode}: ${again.stderr.trim()}`);
    const end = await auditRegistry(node.url);
    for (const p of end.problems) problems.push(`after the re-run the registry serves ${p}`);
    let identical = end.problems.length === 0;
    for (const [tag, digest] of o.want) {
      if (end.tags.get(tag) !== digest) {
        identical = false;
        problems.push(`after the re-run ${tag} is ${end.tags.get(tag) ?? 'missing'}, want ${digest}`);
      }
    }
    return { killed, identical, problems, manifestsAtKill: atKill.manifests, firstMs: first.ms };
  } finally {
    await node.stop();
    await rm(node.dir, { recursive: true, force: true });
  }
}
