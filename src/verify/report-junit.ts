import { subjectsOf, type CheckResult, type Finding, type VerifyReport } from './report.js';

/**
 * The report as JUnit XML, the format every CI dashboard reads: one <testsuite> per check, one
 * <testcase> per image (or needed/listed reference) the check looked at, plus one for the check as
 * a whole, so failures show up by name ("integrity / registry.k8s.io/pause:3.9"). A test case
 * fails when an error finding names it; the check's own case fails for errors that name no subject.
 * Warnings and notes go to <system-out>.
 */

/** Characters XML 1.0 cannot hold at all (controls other than tab, newline, carriage return). */
const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function xmlEscape(s: string): string {
  return s
    .replace(INVALID_XML, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

interface Case {
  name: string;
  errors: Finding[];
  notes: Finding[];
  skipped?: string;
}

function casesOf(check: CheckResult): Case[] {
  const whole: Case = { name: check.title, errors: [], notes: [] };
  if (check.status === 'skip') return [{ ...whole, skipped: check.summary }];
  const bySubject = new Map<string, Case>(check.subjects.map((s) => [s, { name: s, errors: [], notes: [] }]));
  for (const f of check.findings) {
    const targets = subjectsOf(f).filter((s) => bySubject.has(s)).map((s) => bySubject.get(s)!);
    const into = targets.length ? targets : [whole];
    for (const c of into) (f.severity === 'error' ? c.errors : c.notes).push(f);
  }
  return [whole, ...bySubject.values()];
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export function renderJunit(report: VerifyReport): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let skipped = 0;
  for (const check of report.checks) {
    const cases = casesOf(check);
    const failed = cases.filter((c) => c.errors.length > 0).length;
    const skip = cases.filter((c) => c.skipped !== undefined).length;
    tests += cases.length;
    failures += failed;
    skipped += skip;
    const body = cases.map((c) => {
      const attrs = `classname="airgap.verify.${check.name}" name="${xmlEscape(c.name)}" time="${seconds(c === cases[0] ? check.durationMs : 0)}"`;
      const inner: string[] = [];
      if (c.skipped !== undefined) inner.push(`      <skipped message="${xmlEscape(c.skipped)}"/>`);
      if (c.errors.length) {
        const first = c.errors[0]!;
        const text = c.errors.map((f) => `[${f.code}] ${f.message}`).join('\n');
        inner.push(`      <failure type="${xmlEscape(first.code)}" message="${xmlEscape(c.errors.length === 1 ? first.message : `${c.errors.length} problems; first: ${first.message}`)}">${xmlEscape(text)}</failure>`);
      }
      if (c.notes.length) {
        inner.push(`      <system-out>${xmlEscape(c.notes.map((f) => `${f.severity}: [${f.code}] ${f.message}`).join('\n'))}</system-out>`);
      }
      return inner.length ? `    <testcase ${attrs}>\n${inner.join('\n')}\n    </testcase>` : `    <testcase ${attrs}/>`;
    });
    suites.push(
      `  <testsuite name="${xmlEscape(`${check.name}: ${check.title}`)}" tests="${cases.length}" failures="${failed}" errors="0" skipped="${skip}" time="${seconds(check.durationMs)}">\n` +
      `${body.join('\n')}\n  </testsuite>`,
    );
  }
  const subject = report.bundle ? report.bundle.path : `${report.options.list ?? 'list'} for Kubernetes ${report.options.kubernetes ?? ''}`.trim();
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="${xmlEscape(`airgap verify ${subject}`)}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(report.summary.durationMs)}">\n` +
    `${suites.join('\n')}\n</testsuites>\n`;
}
