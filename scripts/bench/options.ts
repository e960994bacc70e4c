/** `npm run bench -- [options]` */

export const SUITES = ['pack', 'load-registry', 'load-containerd', 'verify', 'serve', 'growth'] as const;
export type SuiteName = (typeof SUITES)[number];

export interface BenchOptions {
  scale: number;
  reps: number;
  only: SuiteName[];
  /** scale of the growth row's second set (0: no growth row) */
  growthScale: number;
  /** concurrent download clients for serve */
  clients: number;
  quick: boolean;
  /** where the markdown goes; undefined: not written */
  doc: string | undefined;
  keep: boolean;
  argv: string[];
}

export const USAGE = `usage: npm run bench -- [options]   (root; runs inside unshare -n)

  --scale N        size of the synthetic Kubernetes set: 1 ≈ 350 MiB (default 1)
  --reps N         repetitions of each A/B pair, interleaved (default 3)
  --only LIST      comma-separated: ${SUITES.join(',')} (default all)
  --growth-scale N second scale for the growth row (default 4; 0 skips it)
  --clients N      concurrent download clients in the serve benchmark (default 4)
  --quick          smoke run: scale 0.1, 1 repetition, no growth row, no doc written
  --doc FILE       write the results here (default docs/benchmarks.md; --no-doc: don't)
  --keep           keep the work directory
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function positive(name: string, v: string | undefined, allowZero = false): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new UsageError(`${name} needs a ${allowZero ? 'non-negative' : 'positive'} number, got ${v ?? 'nothing'}`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const o: BenchOptions = { scale: 1, reps: 3, only: [...SUITES], growthScale: 4, clients: 4, quick: false, doc: 'docs/benchmarks.md', keep: false, argv };
  let scaleGiven = false;
  let repsGiven = false;
  let growthGiven = false;
  let docGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--scale': o.scale = positive('--scale', value()); scaleGiven = true; break;
      case '--reps': o.reps = Math.round(positive('--reps', value())); repsGiven = true; break;
      case '--growth-scale': o.growthScale = positive('--growth-scale', value(), true); growthGiven = true; break;
      case '--clients': o.clients = Math.round(positive('--clients', value())); break;
      case '--only': {
        const list = (value() ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        const bad = list.filter((s) => !(SUITES as readonly string[]).includes(s));
        if (list.length === 0 || bad.length) throw new UsageError(`--only takes ${SUITES.join(', ')}; got ${bad.join(', ') || 'nothing'}`);
        o.only = list as SuiteName[];
        break;
      }
      case '--quick': o.quick = true; break;
      case '--doc': o.doc = value(); docGiven = true; if (!o.doc) throw new UsageError('--doc needs a file'); break;
      case '--no-doc': o.doc = undefined; docGiven = true; break;
      case '--keep': o.keep = true; break;
      case '-h': case '--help': throw new UsageError('');
      default: throw new UsageError(`unknown option ${a}`);
    }
  }
  if (o.quick) {
    if (!scaleGiven) o.scale = 0.1;
    if (!repsGiven) o.reps = 1;
    if (!growthGiven) o.growthScale = 0;
    if (!docGiven) o.doc = undefined;
  }
  if (o.growthScale === 0) o.only = o.only.filter((s) => s !== 'growth');
  if (o.only.includes('growth') && o.growthScale <= o.scale) throw new UsageError(`--growth-scale (${o.growthScale}) must be larger than --scale (${o.scale})`);
  return o;
}
