import { CHECK_GROUPS, type CheckStatus } from '../node/check.js';
import type { DoctorReport } from './doctor.js';

const MARK: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };
const COLOUR: Record<CheckStatus, string> = { ok: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m' };
const TITLE: Record<(typeof CHECK_GROUPS)[number], string> = {
  runtime: 'Runtime',
  node: 'Node (distribution configuration)',
  containerd: 'containerd',
  sandbox: 'Sandbox (pause) image',
  mirrors: 'Registry mirrors (hosts.toml)',
  images: 'Images on the node',
  kubeadm: 'kubeadm',
};

/** The report a person reads: grouped, each warn/fail followed by its fix; colour only when asked. */
export function renderDoctorText(r: DoctorReport, opts: { color?: boolean } = {}): string {
  const paint = (s: CheckStatus, text: string): string => (opts.color ? `${COLOUR[s]}${text}\x1b[0m` : text);
  const lines: string[] = [];
  if (r.bundle) lines.push(`bundle ${r.bundle.path}: ${r.bundle.images} images from ${r.bundle.registries.join(', ')}${r.bundle.pause ? `, pause ${r.bundle.pause}` : ''}`, '');
  for (const g of CHECK_GROUPS) {
    const cs = r.checks.filter((c) => c.group === g);
    if (cs.length === 0) continue;
    lines.push(TITLE[g]);
    for (const c of cs) {
      lines.push(`  ${paint(c.status, MARK[c.status])}  ${c.message}`);
      if (c.fix !== undefined && c.status !== 'ok') lines.push(`        fix: ${c.fix}`);
    }
    lines.push('');
  }
  const s = r.summary;
  const verdict = s.fail > 0 ? paint('fail', 'pulls can go to the internet or fail') : s.warn > 0 ? paint('warn', 'ready, with warnings') : paint('ok', 'ready: every pull stays on the node');
  lines.push(`${s.ok} ok, ${s.warn} warn, ${s.fail} fail: ${verdict}`);
  return lines.join('\n') + '\n';
}
