import type { BenchContext } from './context.js';
import type { Sample } from './run.js';
import { fmtMiB, fmtSeconds, type Side } from './stats.js';

export interface Contender {
  side: Side;
  /** untimed preparation before each run (fresh registry, empty output) */
  before?: () => Promise<void>;
  run: () => Promise<Sample>;
  /** untimed cleanup after each run */
  after?: () => Promise<void>;
}

/**
 * A B A B …: every repetition runs each contender once, in the same order, so that whatever else
 * the machine is doing at the time falls on both sides alike; the medians come later.
 */
export async function interleave(ctx: BenchContext, name: string, reps: number, contenders: Contender[]): Promise<void> {
  for (let rep = 1; rep <= reps; rep++) {
    const parts: string[] = [];
    for (const c of contenders) {
      await c.before?.();
      try {
        const s = await c.run();
        c.side.add(s);
        parts.push(`${c.side.label} ${fmtSeconds(s.seconds)} ${fmtMiB(s.rssKiB)}`);
      } finally {
        await c.after?.();
      }
    }
    ctx.say(`  ${name} ${rep}/${reps}: ${parts.join(' | ')}`);
  }
}
