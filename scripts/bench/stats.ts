import type { Sample } from './run.js';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The samples of one side of a comparison, over every repetition. */
export class Side {
  readonly samples: Sample[] = [];
  constructor(
    readonly label: string,
    /** bytes moved by one run, for throughput rows */
    public bytes = 0,
  ) {}

  add(s: Sample): void {
    this.samples.push(s);
  }
  get seconds(): number {
    return median(this.samples.map((s) => s.seconds));
  }
  /** the peak over every repetition (peaks do not average) */
  get rssKiB(): number {
    return Math.max(0, ...this.samples.map((s) => s.rssKiB));
  }
  get mibPerSecond(): number {
    return this.bytes / MiB / this.seconds;
  }
}

export const MiB = 1024 * 1024;

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '–';
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

export function fmtMiB(kib: number): string {
  if (!(kib > 0)) return '–';
  return `${Math.round(kib / 1024)} MiB`;
}

export function fmtBytes(n: number): string {
  return n >= 1024 * MiB ? `${(n / (1024 * MiB)).toFixed(2)} GiB` : `${(n / MiB).toFixed(0)} MiB`;
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : '–';
}
