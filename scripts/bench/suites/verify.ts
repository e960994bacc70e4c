import { stat } from 'node:fs/promises';
import type { BenchContext, BenchSet } from '../context.js';
import { interleave } from '../interleave.js';
import { row, type Row } from '../rows.js';
import { timed } from '../run.js';
import { Side } from '../stats.js';
import { packOutputs } from './pack.js';

/** airgap verify re-hashes every blob of the bundle; the others hash the same file once. */
export async function verifySuite(ctx: BenchContext, set: BenchSet, reps: number): Promise<Row[]> {
  const { bundle } = packOutputs(set);
  const bytes = (await stat(bundle)).size;
  const airgap = new Side('airgap verify', bytes);
  const sha = new Side('sha256sum', bytes);
  const openssl = new Side('openssl dgst -sha256', bytes);
  await interleave(ctx, 'verify', reps, [
    { side: airgap, run: () => timed(process.execPath, [ctx.cli, 'verify', bundle], { logFile: ctx.logFile }) },
    { side: sha, run: () => timed('sha256sum', [bundle], { logFile: ctx.logFile }) },
    { side: openssl, run: () => timed('openssl', ['dgst', '-sha256', bundle], { logFile: ctx.logFile }) },
  ]);
  return [
    row('verify: whole bundle', 'speedup', airgap, sha, 'the bundle file is in the page cache for every side'),
    row('verify vs openssl', 'speedup', airgap, openssl),
  ];
}
