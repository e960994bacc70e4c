import { startContainerd, type LabContainerd } from '../../lab/index.js';
import type { BenchContext, BenchSet } from '../context.js';
import { interleave } from '../interleave.js';
import { row, type Row } from '../rows.js';
import { timed } from '../run.js';
import { Side } from '../stats.js';
import { packOutputs } from './pack.js';

/** Each run gets a fresh containerd (an import into a store that has the content is not an import). */
export async function loadContainerdSuite(ctx: BenchContext, set: BenchSet, reps: number): Promise<Row[]> {
  const airgap = new Side('airgap load --containerd');
  const ctr = new Side('ctr images import --all-platforms');
  const { bundle } = packOutputs(set);
  let ctd: LabContainerd | undefined;
  const fresh = async (): Promise<void> => {
    ctd = await startContainerd();
  };
  const stop = async (): Promise<void> => {
    await ctd?.stop();
    ctd = undefined;
  };
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, CONTAINERD_SNAPSHOTTER: ctd!.snapshotter });
  await interleave(ctx, 'load → containerd', reps, [
    {
      side: airgap,
      before: fresh,
      run: () => timed(process.execPath, [ctx.cli, 'load', bundle, '--containerd', ctd!.socket, '--json'], { logFile: ctx.logFile, env: env() }),
      after: stop,
    },
    {
      side: ctr,
      before: fresh,
      run: () => timed('ctr', ['--address', ctd!.socket, '-n', 'k8s.io', 'images', 'import', '--all-platforms', bundle], { logFile: ctx.logFile, env: env() }),
      after: stop,
    },
  ]);
  return [row('load: bundle → containerd', 'speedup', airgap, ctr, 'a fresh containerd per run; both unpack; airgap imports the host platform, ctr --all-platforms every one; peak RSS is the client side (containerd does the writing)')];
}
