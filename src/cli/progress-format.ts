/** Numbers as people read them: binary units, short durations, short digests. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[u]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** 4.2s, 1m05s, 2h03m */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** sha256:0123456789ab */
export function shortDigest(d: string): string {
  const i = d.indexOf(':');
  return i < 0 ? d.slice(0, 12) : `${d.slice(0, i)}:${d.slice(i + 1, i + 13)}`;
}

/** The last part of a reference, for a compact progress line: kube-apiserver:v1.30.14 */
export function shortRef(ref: string): string {
  const at = ref.indexOf('@');
  const base = at >= 0 ? ref.slice(0, at) : ref;
  return base.slice(base.lastIndexOf('/') + 1);
}

/**
 * Bytes per second over a sliding window, so the rate and the ETA follow the link as it is now
 * rather than the average since the start.
 */
export class RateMeter {
  private readonly samples: { t: number; bytes: number }[] = [];
  constructor(private readonly windowMs = 5000, private readonly now: () => number = Date.now) {}

  add(bytes: number): void {
    const t = this.now();
    this.samples.push({ t, bytes });
    while (this.samples.length > 1 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
  }

  rate(): number {
    if (this.samples.length < 2) return 0;
    const t = this.now();
    const first = this.samples[0]!;
    const span = Math.max(t - first.t, 250);
    let bytes = 0;
    for (const s of this.samples.slice(1)) bytes += s.bytes;
    return (bytes * 1000) / span;
  }
}
