import { prepareSet, type BenchContext, type BenchSet } from '../context.js';
import { row, type Row } from '../rows.js';
import { timed, type Sample } from '../run.js';
import { Side } from '../stats.js';
import { airgapPack, packOutputs } from './pack.js';
import { airgapLoadRegistry } from './load-registry.js';

/** airgap's sides at the base scale, as measured by the other suites (or here when they did not run). */
export interface BaseSides {
  pack?: Side;
  verify?: Side;
  load?: Side;
}

/**
 * The same work on a set `growthScale / scale` times larger: time should grow with the bytes,
 * memory should not grow at all. Only airgap runs here (the comparisons are at the base scale).
 */
export async function growthSuite(ctx: BenchContext, base: BenchSet, baseSides: BaseSides, reps: number): Promise<Row[]> {
  const big = await prepareSet(ctx, ctx.opts.growthScale);
  const factor = `${big.scale / base.scale}× the data`;
  const label = (what: string, s: BenchSet): string => `${what} @ scale ${s.scale}`;
  try {
    const measure = async (name: string, set: BenchSet, run: () => Promise<Sample>, after?: () => Promise<void>): Promise<Side> => {
      const side = new Side(label(name, set));
      for (let i = 0; i < reps; i++) {
        try {
          side.add(await run());
        } finally {
          await after?.();
        }
      }
      ctx.say(`  growth: ${side.label}: ${side.seconds.toFixed(2)} s, ${Math.round(side.rssKiB / 1024)} MiB`);
      return side;
    };
    const rows: Row[] = [];
    const packSmall = baseSides.pack ?? (await measure('airgap pack', base, airgapPack(ctx, base)));
    const packBig = await measure('airgap pack', big, airgapPack(ctx, big));
    rows.push(row(`pack growth (${factor})`, 'growth', relabel(packSmall, label('airgap pack', base)), packBig));

    const verify = (set: BenchSet) => () => timed(process.execPath, [ctx.cli, 'verify', packOutputs(set).bundle], { logFile: ctx.logFile });
    const verifySmall = baseSides.verify ?? (await measure('airgap verify', base, verify(base)));
    const verifyBig = await measure('airgap verify', big, verify(big));
    rows.push(row(`verify growth (${factor})`, 'growth', relabel(verifySmall, label('airgap verify', base)), verifyBig));

    const loadOf = (set: BenchSet) => airgapLoadRegistry(ctx, set);
    const small = loadOf(base);
    const loadSmall = baseSides.load ?? (await measure('airgap load --registry', base, small.run, small.after));
    const large = loadOf(big);
    const loadBig = await measure('airgap load --registry', big, large.run, large.after);
    rows.push(row(`load → registry growth (${factor})`, 'growth', relabel(loadSmall, label('airgap load --registry', base)), loadBig));
    return rows;
  } finally {
    await big.reg.stop();
  }
}

function relabel(side: Side, label: string): Side {
  const s = new Side(label, side.bytes);
  for (const x of side.samples) s.add(x);
  return s;
}
