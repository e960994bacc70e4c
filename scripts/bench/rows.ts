import { Side } from './stats.js';

/** How a row's ratio reads. */
export type RatioKind =
  /** other ÷ airgap time: how many times faster airgap is */
  | 'speedup'
  /** airgap ÷ other time: how far airgap is from a floor */
  | 'of-limit'
  /** airgap ÷ other throughput */
  | 'throughput'
  /** second ÷ first (airgap at two scales) */
  | 'growth';

export interface Row {
  title: string;
  kind: RatioKind;
  a: Side;
  b: Side;
  note?: string;
}

export function ratio(r: Row): number {
  switch (r.kind) {
    case 'speedup':
      return r.b.seconds / r.a.seconds;
    case 'of-limit':
      return r.a.seconds / r.b.seconds;
    case 'throughput':
      return r.a.mibPerSecond / r.b.mibPerSecond;
    case 'growth':
      return r.b.seconds / r.a.seconds;
  }
}

export interface Target {
  text: string;
  measured: string;
  met: boolean;
}

export function row(title: string, kind: RatioKind, a: Side, b: Side, note?: string): Row {
  return { title, kind, a, b, ...(note ? { note } : {}) };
}
