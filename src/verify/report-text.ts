import { formatBytes, formatDuration, plural } from './format.js';
import type { CheckStatus, Finding, PlatformStatus, Severity, VerifyReport } from './report.js';

/** The report for a person at a terminal (or reading a CI log): one line a check, then what is wrong. */

export interface TextOptions {
  color?: boolean;
  /** Findings shown per check before "… and N more". */
  maxFindings?: number;
  /** Show notes (info findings) too. */
  verbose?: boolean;
}

type Paint = (s: string) => string;

function painter(on: boolean): { red: Paint; green: Paint; yellow: Paint; dim: Paint; bold: Paint } {
  const wrap = (a: number, b: number): Paint => (s) => (on ? `\x1b[${a}m${s}\x1b[${b}m` : s);
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

const MARK: Record<CheckStatus, string> = { pass: '✔', warn: '!', fail: '✘', skip: '-' };
const SEVERITY_MARK: Record<Severity, string> = { error: '✘', warning: '!', info: 'i' };

const CELL: Record<PlatformStatus, string> = {
  present: 'present',
  'absent-by-choice': 'left out',
  absent: 'absent',
  missing: 'MISSING',
  damaged: 'DAMAGED',
  'not-offered': '-',
};

export function renderText(report: VerifyReport, opts: TextOptions = {}): string {
  const p = painter(opts.color ?? false);
  const max = opts.maxFindings ?? 20;
  const out: string[] = [];
  const b = report.bundle;
  if (b) {
    const what = b.kind === 'airgap'
      ? `airgap bundle format ${b.formatVersion}${b.kubernetes ? `, Kubernetes ${b.kubernetes.version} (${b.kubernetes.distribution})` : ''}, made by ${b.createdBy?.name} ${b.createdBy?.version} at ${b.created}`
      : b.kind === 'docker-archive' ? 'docker-archive (manifests built by airgap; digests are not the registry\'s)' : 'OCI layout archive without airgap metadata';
    const read = `${b.compression ? `${b.compression}, ` : ''}${b.streamed ? 'read in one pass, ' : ''}`;
    out.push(`${p.bold(`airgap verify ${b.path}`)}  ${p.dim(`${read}${formatBytes(b.size)}${b.compression ? ' of tar' : ''}; ${what}`)}`, '');
  } else {
    out.push(p.bold(`airgap verify --list ${report.options.list} --kubernetes ${report.options.kubernetes}`), '');
  }

  const width = Math.max(...report.checks.map((c) => c.title.length));
  for (const c of report.checks) {
    const color = c.status === 'pass' ? p.green : c.status === 'fail' ? p.red : c.status === 'warn' ? p.yellow : p.dim;
    out.push(`  ${color(MARK[c.status])} ${c.title.padEnd(width)}  ${c.status === 'skip' ? p.dim(`skipped: ${c.summary}`) : c.summary}`);
    const shown = c.findings.filter((f) => f.severity !== 'info' || opts.verbose);
    for (const f of shown.slice(0, max)) out.push(`      ${findingLine(f, p)}`);
    if (shown.length > max) out.push(p.dim(`      … and ${shown.length - max} more (see --json)`));
  }

  const m = report.platformMatrix;
  if (m.platforms.length && m.rows.length) {
    out.push('');
    const refW = Math.max('IMAGE'.length, ...m.rows.map((r) => r.ref.length));
    const colW = m.platforms.map((pl) => Math.max(pl.length, ...m.rows.map((r) => CELL[r.cells[pl] ?? 'not-offered'].length)));
    out.push(`  ${p.dim(['IMAGE'.padEnd(refW), ...m.platforms.map((pl, i) => pl.padEnd(colW[i]!))].join('  ').trimEnd())}`);
    for (const r of m.rows) {
      const cells = m.platforms.map((pl, i) => {
        const s = r.cells[pl] ?? 'not-offered';
        const text = CELL[s].padEnd(colW[i]!);
        return s === 'missing' || s === 'damaged' ? p.red(text) : s === 'present' ? text : p.dim(text);
      });
      out.push(`  ${[r.ref.padEnd(refW), ...cells].join('  ').trimEnd()}`);
    }
  }

  const k = report.kubernetes;
  if (k && k.needed.some((n) => n.status !== 'present')) {
    out.push('', `  Kubernetes ${k.version} (${k.distribution}) needs:`);
    for (const n of k.needed) {
      const s = n.status === 'present' ? p.green('ok      ') : n.status === 'missing' ? p.red('MISSING ') : p.red('MISMATCH');
      out.push(`    ${s} ${n.ref.padEnd(48)} ${p.dim(n.role)}${n.found?.length ? `  (found ${n.found.join(', ')})` : ''}`);
    }
  }

  const s = report.summary;
  out.push('');
  const tail = b
    ? `${plural(s.images, 'image')}, ${plural(s.blobs, 'blob')}, ${formatBytes(s.bytesHashed)} hashed in ${formatDuration(s.durationMs)}`
    : `in ${formatDuration(s.durationMs)}`;
  if (report.ok) {
    out.push(`${p.green(p.bold('OK'))}: ${s.warnings ? `${plural(s.warnings, 'warning')}; ` : ''}${tail}`);
  } else {
    const failed = report.checks.filter((c) => c.status === 'fail').map((c) => c.name);
    out.push(`${p.red(p.bold('FAILED'))}: ${plural(s.errors, 'error')}${s.warnings ? `, ${plural(s.warnings, 'warning')}` : ''} (${failed.join(', ')}); ${tail}`);
  }
  return `${out.join('\n')}\n`;
}

function findingLine(f: Finding, p: ReturnType<typeof painter>): string {
  const mark = SEVERITY_MARK[f.severity];
  const paint = f.severity === 'error' ? p.red : f.severity === 'warning' ? p.yellow : p.dim;
  return `${paint(mark)} ${f.message}`;
}
