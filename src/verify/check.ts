import type { BundleReader } from '../bundle/reader.js';
import type { KubernetesImageSet, ListEntry } from '../kubernetes/index.js';
import type { PlatformSelection } from '../oci/platform.js';
import type { ImageGraph } from './graph.js';
import type { CheckName, Finding, ImagePlatform, Severity } from './report.js';
import type { HashOptions } from './rehash.js';

/** What a check returns; the runner adds the name, title, status and time. */
export interface CheckOutcome {
  findings: Finding[];
  summary: string;
  stats?: Record<string, number>;
  subjects?: string[];
  /** Not applicable here (no --list, no metadata…): the summary says why. */
  skipped?: boolean;
}

/** Everything the bundle checks share; filled in as checks run (integrity sets `damaged`). */
export interface BundleContext {
  reader: BundleReader;
  graph: ImageGraph;
  /** --platform, parsed */
  platforms: PlatformSelection | undefined;
  list: { path: string; entries: ListEntry[] } | undefined;
  /** The set checked; `variants` is set once the coverage check fitted a distribution's variants. */
  kubernetes: { set: KubernetesImageSet; source: 'flag' | 'metadata'; variants?: Record<string, string> } | undefined;
  /** A Kubernetes version we could not check (metadata names one airgap does not know). */
  kubernetesProblem: string | undefined;
  hash: HashOptions;
  /** Blobs that failed integrity (digest, size, cut short) or are missing. */
  damaged: Set<string>;
  bytesHashed: number;
  /** Per image: its platforms and their status (set by the platforms check). */
  imagePlatforms: Map<string, ImagePlatform[]>;
}

export interface BundleCheck {
  name: CheckName;
  run(ctx: BundleContext): Promise<CheckOutcome> | CheckOutcome;
}

/** A finding builder bound to one check. */
export function findings(check: CheckName): {
  list: Finding[];
  add(severity: Severity, code: string, message: string, extra?: Omit<Finding, 'check' | 'severity' | 'code' | 'message'>): Finding;
} {
  const list: Finding[] = [];
  return {
    list,
    add(severity, code, message, extra = {}) {
      const f: Finding = { check, severity, code, message, ...extra };
      list.push(f);
      return f;
    },
  };
}
