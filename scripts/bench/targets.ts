import { ratio, type Row, type Target } from './rows.js';
import { fmtMiB, fmtRatio } from './stats.js';

/** The targets, checked against the rows that ran. */

const MEMORY_LIMIT_KIB = 200 * 1024;
/** "flat": at most this much more peak memory on the larger set */
const FLAT = 1.25;

interface SpeedTarget {
  prefix: string;
  text: string;
  ok(x: number): boolean;
}

const SPEED: SpeedTarget[] = [
  { prefix: 'pack vs the raw limit', text: 'pack at most 1.3× the raw limit', ok: (x) => x <= 1.3 },
  { prefix: 'pack: registry', text: 'pack at least 2.5× faster than skopeo', ok: (x) => x >= 2.5 },
  { prefix: 'load: bundle → empty registry', text: 'load into a registry at least 2× faster than skopeo', ok: (x) => x >= 2 },
  { prefix: 'load: bundle → containerd', text: 'load into containerd no slower than ctr import', ok: (x) => x >= 1 },
  { prefix: 'verify: whole bundle', text: 'verify at least 1.5× faster than sha256sum', ok: (x) => x >= 1.5 },
  { prefix: 'serve:', text: "serve at least 0.8× the distribution registry's throughput", ok: (x) => x >= 0.8 },
];

export function targetsOf(rows: Row[]): Target[] {
  const out: Target[] = [];
  for (const t of SPEED) {
    const r = rows.find((x) => x.title.startsWith(t.prefix));
    if (!r) continue;
    const x = ratio(r);
    out.push({ text: t.text, measured: r.kind === 'of-limit' ? `${fmtRatio(x)} the limit` : r.kind === 'throughput' ? `${fmtRatio(x)}` : `${fmtRatio(x)} faster`, met: t.ok(x) });
  }
  // airgap's own peak memory in every comparison row (the first side is airgap's)
  const seen = new Set<string>();
  for (const r of rows) {
    if (r.kind === 'growth' || seen.has(r.a.label)) continue;
    seen.add(r.a.label);
    out.push({ text: `${r.a.label}: peak memory at most 200 MiB`, measured: fmtMiB(r.a.rssKiB), met: r.a.rssKiB <= MEMORY_LIMIT_KIB });
  }
  for (const r of rows) {
    if (r.kind !== 'growth') continue;
    const grow = r.b.rssKiB / r.a.rssKiB;
    out.push({
      text: `${r.title.replace(/ growth.*/, '')}: memory flat as the data grows (≤ ${FLAT}×, ≤ 200 MiB)`,
      measured: `${fmtMiB(r.a.rssKiB)} → ${fmtMiB(r.b.rssKiB)} (${fmtRatio(grow)}); time ${fmtRatio(ratio(r))}`,
      met: grow <= FLAT && r.b.rssKiB <= MEMORY_LIMIT_KIB,
    });
  }
  return out;
}
