import { UsageError } from '../errors.js';
import { kubernetesCoverage } from './check-coverage.js';
import { fitVariants, stripDigest, type HeldImage } from './coverage.js';
import { plural } from './format.js';
import type { VerifyReport } from './report.js';
import { finishReport, kubernetesSection, readVerifyInputs, toCheckResult } from './verify-bundle.js';

export interface VerifyListOptions {
  list: string;
  kubernetes: string;
  distribution?: string;
}

/**
 * A list checked against what a Kubernetes version needs, offline and without a bundle: every
 * missing image and every tag mismatch named, so a broken list fails CI before anyone packs it.
 */
export async function verifyList(opts: VerifyListOptions): Promise<VerifyReport> {
  const started = performance.now();
  if (!opts.list || !opts.kubernetes) {
    throw new UsageError('ERR_USAGE', 'checking a list needs both --list FILE and --kubernetes VERSION', {
      hint: 'airgap verify --list images.txt --kubernetes v1.30.14, or pass a bundle: airgap verify BUNDLE',
    });
  }
  const inputs = await readVerifyInputs(opts);
  const list = inputs.list!;
  const t0 = performance.now();
  const listResult = toCheckResult('list', {
    findings: [],
    summary: `${plural(list.entries.length, 'image')} read from ${list.path}`,
    subjects: list.entries.map((e) => e.ref),
    stats: { listed: list.entries.length },
  }, performance.now() - t0);
  const held: HeldImage[] = list.entries.map((e) => ({ ref: e.ref, name: e.ref, label: `${e.text} (${list.path}:${e.line})` }));
  const t1 = performance.now();
  const fit = fitVariants(inputs.kubernetes!, held);
  const set = fit.set;
  const { outcome } = kubernetesCoverage(held, set, 'the list', fit.variants);
  const kubeResult = toCheckResult('kubernetes', outcome, performance.now() - t1);
  const checks = [listResult, kubeResult];
  return finishReport({
    bundle: null,
    options: { list: opts.list, kubernetes: opts.kubernetes },
    checks,
    images: [],
    platformMatrix: { platforms: [], rows: [] },
    blobs: 0,
    bytesHashed: 0,
    started,
    list: {
      path: list.path,
      entries: list.entries.map((e) => {
        const f = kubeResult.findings.find((x) => x.severity === 'error' && x.actual === e.ref);
        const needed = set.images.some((i) => stripDigest(i.ref) === stripDigest(e.ref));
        return { ref: e.ref, line: e.line, status: f ? 'mismatch' as const : needed ? 'present' as const : 'extra' as const };
      }),
    },
    kubernetes: kubernetesSection(set, 'flag', checks, opts.kubernetes, fit.variants),
  });
}
