import { bundleFacts } from './report.js';
import { openArchive } from '../archive/open.js';
import { distributionNames, kubernetesImages, readImageList, type KubernetesImageSet, type ListEntry } from '../kubernetes/index.js';
import { parsePlatformSelection, type PlatformSelection } from '../oci/platform.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import type { BundleCheck, BundleContext, CheckOutcome } from './check.js';
import { integrityCheck } from './check-integrity.js';
import { graphCheck } from './check-graph.js';
import { layoutCheck } from './check-layout.js';
import { metadataCheck } from './check-metadata.js';
import { platformsCheck } from './check-platforms.js';
import { dockerManifestCheck } from './check-docker-manifest.js';
import { structureCheck } from './check-structure.js';
import { kubernetesCheck, listCheck } from './check-coverage.js';
import { imageFootprint, walkGraph } from './graph.js';
import type { HashOptions } from './rehash.js';
import {
  CHECK_TITLES,
  REPORT_SCHEMA_VERSION,
  statusOf,
  type CheckName,
  type CheckResult,
  type CheckStatus,
  type ImageSummary,
  type PlatformMatrix,
  type PlatformStatus,
  type VerifyReport,
} from './report.js';

export interface VerifyOptions {
  /** An image list file ("-" for stdin): every listed image must be in the bundle. */
  list?: string;
  /** A Kubernetes version whose images must all be in the bundle (default: the one the metadata records). */
  kubernetes?: string;
  /** kubeadm, k0s, … (default: what the metadata records, else kubeadm). */
  distribution?: string;
  /** Platforms every image must have ("linux/amd64", "linux/arm64,linux/amd64", "all"). */
  platforms?: string[];
  /** Hashing threads and read size. */
  hash?: HashOptions;
  /** Called as each check completes (progress on a terminal). */
  onCheck?: (result: CheckResult) => void;
  /** Reading a stream (stdin, a compressed file): bytes of tar read so far. */
  onProgress?: (bytes: number) => void;
  onNotice?: (message: string) => void;
}

/** The checks, in order: later ones use what earlier ones found (integrity's damaged blobs feed platforms). */
export const BUNDLE_CHECKS: BundleCheck[] = [structureCheck, layoutCheck, metadataCheck, integrityCheck, graphCheck, platformsCheck, dockerManifestCheck, listCheck, kubernetesCheck];

export interface VerifyInputs {
  platforms: PlatformSelection | undefined;
  list: { path: string; entries: ListEntry[] } | undefined;
  kubernetes: KubernetesImageSet | undefined;
}

/** Parse every input before reading the bundle, so a usage error (exit 2) costs nothing. */
export async function readVerifyInputs(opts: Pick<VerifyOptions, 'list' | 'kubernetes' | 'distribution' | 'platforms'>): Promise<VerifyInputs> {
  const platforms = opts.platforms?.length ? parsePlatformSelection(opts.platforms) : undefined;
  // A k0s, k3s or RKE2 release names itself (v1.30.14+k0s.0, +k3s1, +rke2r1); otherwise kubeadm until the bundle says more.
  const named = /\+(k0s|k3s|rke2)/.exec(opts.kubernetes ?? '')?.[1];
  const distribution = opts.distribution ?? (named && distributionNames().includes(named) ? named : undefined);
  const kubernetes = opts.kubernetes !== undefined ? kubernetesImages(opts.kubernetes, distribution ? { distribution } : {}) : undefined;
  const list = opts.list !== undefined ? { path: opts.list, entries: await readImageList(opts.list) } : undefined;
  return { platforms, list, kubernetes };
}

export function toCheckResult(name: CheckName, out: CheckOutcome, durationMs: number): CheckResult {
  return {
    name,
    title: CHECK_TITLES[name],
    status: out.skipped ? 'skip' : statusOf(out.findings),
    summary: out.summary,
    findings: out.findings,
    stats: out.stats ?? {},
    subjects: out.subjects ?? [],
    durationMs: Math.round(durationMs),
  };
}

/**
 * Verify a bundle (or any OCI layout tar): structure, layout, metadata, every blob re-hashed, the
 * image graph, platforms, and coverage of a list and a Kubernetes version. Damage is reported, not
 * thrown; only unusable input throws (usage errors, a file that is not a tar or not a bundle).
 */
export async function verifyBundle(path: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const inputs = await readVerifyInputs(opts);
  const reader = await openArchive(path, { mode: 'scan', strict: false, ...(opts.onNotice ? { onNotice: opts.onNotice } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  try {
    let kubernetes: BundleContext['kubernetes'] = inputs.kubernetes ? { set: inputs.kubernetes, source: 'flag' } : undefined;
    let kubernetesProblem: string | undefined;
    const recorded = reader.metadata?.kubernetes;
    if (kubernetes && !opts.distribution && recorded && recorded.distribution !== kubernetes.set.distribution) {
      // --kubernetes without --distribution: the bundle's distribution decides what the version means.
      try {
        kubernetes = { set: kubernetesImages(opts.kubernetes!, { distribution: recorded.distribution }), source: 'flag' };
      } catch {
        // the version is not one of that distribution's: keep the first reading
      }
    }
    if (!kubernetes && recorded) {
      try {
        kubernetes = { set: kubernetesImages(recorded.version, { distribution: recorded.distribution }), source: 'metadata' };
      } catch (e) {
        kubernetesProblem = `the bundle records Kubernetes ${recorded.version} (${recorded.distribution}), which this airgap cannot check: ${(e as Error).message}`;
      }
    }
    const graph = await walkGraph(reader);
    const ctx: BundleContext = {
      reader,
      graph,
      platforms: inputs.platforms,
      list: inputs.list,
      kubernetes,
      kubernetesProblem,
      hash: opts.hash ?? {},
      damaged: new Set(),
      bytesHashed: 0,
      imagePlatforms: new Map(),
    };
    const checks: CheckResult[] = [];
    for (const c of BUNDLE_CHECKS) {
      const t0 = performance.now();
      const result = toCheckResult(c.name, await c.run(ctx), performance.now() - t0);
      checks.push(result);
      opts.onCheck?.(result);
    }
    const images = imageSummaries(ctx, checks);
    return finishReport({
      bundle: bundleFacts(path, reader),
      options: {
        ...(opts.list !== undefined ? { list: opts.list } : {}),
        ...(opts.kubernetes !== undefined ? { kubernetes: opts.kubernetes } : {}),
        ...(opts.platforms?.length ? { platforms: opts.platforms } : {}),
      },
      checks,
      images,
      platformMatrix: matrixOf(images),
      blobs: reader.blobDigests().length,
      bytesHashed: ctx.bytesHashed,
      started,
      ...(inputs.list ? { list: listSection(inputs.list, checks) } : {}),
      ...(ctx.kubernetes ? { kubernetes: kubernetesSection(ctx.kubernetes.set, ctx.kubernetes.source, checks, opts.kubernetes ?? recorded?.version ?? '', ctx.kubernetes.variants) } : {}),
    });
  } finally {
    await reader.close();
  }
}

function imageSummaries(ctx: BundleContext, checks: CheckResult[]): ImageSummary[] {
  // Coverage findings say what the bundle lacks, not that an image in it is bad.
  const content = checks.filter((c) => c.name !== 'list' && c.name !== 'kubernetes');
  const failing = new Set(content.flatMap((c) => c.findings.filter((f) => f.severity === 'error').flatMap((f) => f.images ?? [])));
  return ctx.graph.images.map((img) => {
    return {
      ...imageFootprint(ctx.reader, img),
      platforms: ctx.imagePlatforms.get(img.ref) ?? [],
      ok: !failing.has(img.ref),
    };
  });
}

/** Columns: every platform any image offers, linux/amd64 and linux/arm64 first as people look for them. */
export function matrixOf(images: ImageSummary[]): PlatformMatrix {
  const all = new Set<string>();
  for (const i of images) for (const p of i.platforms) all.add(p.platform);
  const rank = (p: string): number => (p === 'linux/amd64' ? 0 : p === 'linux/arm64' ? 1 : p.startsWith('linux/') ? 2 : 3);
  const platforms = [...all].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return {
    platforms,
    rows: images.map((i) => ({
      ref: i.ref,
      cells: Object.fromEntries(platforms.map((p) => [p, i.platforms.find((x) => x.platform === p)?.status ?? ('not-offered' as PlatformStatus)])),
    })),
  };
}

function listSection(list: { path: string; entries: ListEntry[] }, checks: CheckResult[]): NonNullable<VerifyReport['list']> {
  const c = checks.find((x) => x.name === 'list');
  return {
    path: list.path,
    entries: list.entries.map((e) => {
      const f = c?.findings.find((x) => x.severity === 'error' && x.ref === e.ref);
      return { ref: e.ref, line: e.line, status: !f ? 'present' : f.code === 'list-image-missing' ? 'missing' : 'mismatch' };
    }),
  };
}

export function kubernetesSection(
  set: KubernetesImageSet,
  source: 'flag' | 'metadata',
  checks: CheckResult[],
  requested: string,
  variants?: Record<string, string>,
): NonNullable<VerifyReport['kubernetes']> {
  const c = checks.find((x) => x.name === 'kubernetes');
  const needed = set.images.map((i) => {
    const fs = c?.findings.filter((x) => x.severity === 'error' && x.ref === i.ref) ?? [];
    if (fs.length === 0) return { ref: i.ref, role: i.role, status: 'present' as const };
    if (fs.some((x) => x.code === 'kubernetes-image-missing')) return { ref: i.ref, role: i.role, status: 'missing' as const };
    return { ref: i.ref, role: i.role, status: 'mismatch' as const, found: fs.flatMap((x) => (x.actual ? [x.actual] : [])) };
  });
  return {
    requested,
    version: set.version,
    distribution: set.distribution,
    exact: set.exact,
    ...(variants ? { variants } : {}),
    source,
    needed: [...needed.filter((n) => n.role === 'pause'), ...needed.filter((n) => n.role !== 'pause')],
  };
}

export function finishReport(parts: {
  bundle: VerifyReport['bundle'];
  options: VerifyReport['options'];
  checks: CheckResult[];
  images: ImageSummary[];
  platformMatrix: PlatformMatrix;
  blobs: number;
  bytesHashed: number;
  started: number;
  list?: VerifyReport['list'];
  kubernetes?: VerifyReport['kubernetes'];
}): VerifyReport {
  const all = parts.checks.flatMap((c) => c.findings);
  const errors = all.filter((f) => f.severity === 'error').length;
  const warnings = all.filter((f) => f.severity === 'warning').length;
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of parts.checks) counts[c.status]++;
  const report: VerifyReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    bundle: parts.bundle,
    options: parts.options,
    ok: errors === 0,
    summary: {
      errors,
      warnings,
      checks: counts,
      images: parts.images.length,
      blobs: parts.blobs,
      bytesHashed: parts.bytesHashed,
      durationMs: Math.round(performance.now() - parts.started),
    },
    checks: parts.checks,
    images: parts.images,
    platformMatrix: parts.platformMatrix,
  };
  if (parts.list) report.list = parts.list;
  if (parts.kubernetes) report.kubernetes = parts.kubernetes;
  return report;
}
