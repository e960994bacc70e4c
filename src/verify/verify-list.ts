import { UsageError } from '../errors.js';
import {
  authoritativeList,
  checkPublishedList,
  describeListPauses,
  pauseHint,
  type KubernetesImageSet,
  type ListEntry,
} from '../kubernetes/index.js';
import { parseReference } from '../oci/reference.js';
import { findings, type CheckOutcome } from './check.js';
import { kubernetesCoverage } from './check-coverage.js';
import { fitVariants, pauseFirst, stripDigest, type HeldImage } from './coverage.js';
import { listNames, plural } from './format.js';
import type { CheckResult, NeededImage, VerifyReport } from './report.js';
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
  // Both ways end in the same report: no bundle, the list's entries each marked present, extra or mismatch.
  const report = (checks: CheckResult[], status: (e: ListEntry) => 'present' | 'extra' | 'mismatch', kubernetes: VerifyReport['kubernetes']): VerifyReport =>
    finishReport({
      bundle: null,
      options: { list: opts.list, kubernetes: opts.kubernetes },
      checks,
      images: [],
      platformMatrix: { platforms: [], rows: [] },
      blobs: 0,
      bytesHashed: 0,
      started,
      list: { path: list.path, entries: list.entries.map((e) => ({ ref: e.ref, line: e.line, status: status(e) })) },
      kubernetes,
    });
  if (authoritativeList(inputs.kubernetes!.distribution)) {
    // k3s-images.txt, rke2-images*.txt: the list is the release's set; its pause decides.
    const { outcome, needed } = publishedListCoverage(list.path, list.entries, inputs.kubernetes!);
    const kubeResult = toCheckResult('kubernetes', outcome, performance.now() - t1);
    const checks = [listResult, kubeResult];
    const neededRefs = new Set(needed.map((n) => n.ref));
    const pauseFinding = kubeResult.findings.find((f) => f.severity === 'error');
    return report(checks,
      (e) => (pauseFinding?.images?.includes(e.ref) ? 'mismatch' : neededRefs.has(stripDigest(e.ref)) ? 'present' : 'extra'),
      { ...kubernetesSection(inputs.kubernetes!, 'flag', checks, opts.kubernetes), needed });
  }
  const fit = fitVariants(inputs.kubernetes!, held);
  const set = fit.set;
  const { outcome } = kubernetesCoverage(held, set, 'the list', fit.variants);
  const kubeResult = toCheckResult('kubernetes', outcome, performance.now() - t1);
  const checks = [listResult, kubeResult];
  return report(checks, (e) => {
    const f = kubeResult.findings.find((x) => x.severity === 'error' && x.actual === e.ref);
    const needed = set.images.some((i) => stripDigest(i.ref) === stripDigest(e.ref));
    return f ? 'mismatch' : needed ? 'present' : 'extra';
  }, kubernetesSection(set, 'flag', checks, opts.kubernetes, fit.variants));
}

/**
 * A distribution's published list (k3s-images.txt, rke2-images-core.linux-amd64.txt) against what airgap
 * knows of the release: the list is the set, so only a pause that is not the release's fails (every pod
 * sandbox would be pulled from the internet); the other differences are warnings, its extra images notes.
 */
export function publishedListCoverage(path: string, entries: ListEntry[], set: KubernetesImageSet): { outcome: CheckOutcome; needed: NeededImage[] } {
  const f = findings('kubernetes');
  const check = checkPublishedList(entries, set);
  const release = `${set.version} (${set.distribution})`;
  const lineOf = new Map(entries.map((e) => [e.ref, e.line]));
  const at = (ref: string): string => (lineOf.has(ref) ? `${path}:${lineOf.get(ref)}` : path);
  if (!check.pauseOk) {
    f.add(
      'error',
      check.listPauses.length ? 'pause-mismatch' : 'pause-missing',
      `the list's pause is ${describeListPauses(check)}, but ${release} runs ${check.pause.ref}: ${path} is not the ${check.listName} of ${set.version}. ` +
        `Fix: ${pauseHint(check)}`,
      { ref: check.pause.ref, expected: check.pause.ref, images: check.listPauses.map((e) => e.ref), ...(check.listPauses[0] ? { actual: check.listPauses[0].ref } : {}) },
    );
  }
  const pauseName = parseReference(check.pause.ref).name;
  const missing = check.comparison.missing.filter((m) => m.role !== 'pause');
  const mismatched = check.comparison.mismatched.filter((m) => m.repository !== pauseName);
  for (const m of missing) {
    f.add('warning', 'kubernetes-image-missing', `${release} has ${m.ref} (${m.role}); the list does not name it`, { ref: m.ref });
  }
  for (const m of mismatched) {
    f.add('warning', 'tag-mismatch', `the list has ${m.listRef} (${at(m.listRef)}); airgap knows ${release} with ${m.neededRef} (${m.role})`, {
      ref: m.neededRef, images: [m.listRef], expected: m.neededRef, actual: m.listRef,
    });
  }
  const extra = check.comparison.extra.filter((x) => !(check.pauseOk === false && check.listPauses.some((p) => p.ref === x)));
  if (extra.length) {
    f.add('info', 'extra-images', `the list also names ${plural(extra.length, 'image')} beyond the core set airgap knows for ${set.version}: ${listNames(extra, 6)}`);
  }
  const needed: NeededImage[] = pauseFirst(set.images.map((i) => {
    const ref = parseReference(i.ref).toString();
    if (check.comparison.matched.some((m) => m.ref === ref)) return { ref, role: i.role, status: 'present' as const };
    const found = check.comparison.mismatched.filter((m) => m.neededRef === ref).map((m) => m.listRef);
    return found.length ? { ref, role: i.role, status: 'mismatch' as const, found } : { ref, role: i.role, status: 'missing' as const };
  }));
  const differences = missing.length + mismatched.length;
  return {
    needed,
    outcome: {
      findings: f.list,
      subjects: needed.map((n) => n.ref),
      stats: {
        needed: set.images.length,
        present: check.comparison.matched.length,
        missing: check.comparison.missing.length,
        mismatched: check.comparison.mismatched.length,
        extra: extra.length,
      },
      summary: !check.pauseOk
        ? `the list's pause is not ${check.pause.ref}, the pause of ${release}`
        : differences
          ? `the list holds ${check.pause.ref}, the pause of ${release}; ${plural(differences, 'other image')} differ from what airgap knows of the release (warnings)`
          : `the list holds all ${set.images.length} images airgap knows for ${release}, ${check.pause.ref} among them`,
    },
  };
}
