/**
 * Unified diffs of small text files (containerd configs, hosts.toml) for --dry-run and reports.
 * A plain LCS table is fast enough for files of a few thousand lines.
 */

export interface DiffInput {
  path: string;
  /** null: the file does not exist yet. */
  before: string | null;
  /** null: the file would be removed. */
  after: string | null;
}

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number };

function splitLines(text: string): { lines: string[]; finalNewline: boolean } {
  if (text === '') return { lines: [], finalNewline: true };
  const finalNewline = text.endsWith('\n');
  const lines = (finalNewline ? text.slice(0, -1) : text).split('\n');
  return { lines, finalNewline };
}

function diffOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = LCS length of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i]!, a: i, b: j });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!)) {
      // Deletions before insertions, as diff(1) prints them.
      ops.push({ kind: '-', line: a[i]!, a: i, b: j });
      i++;
    } else {
      ops.push({ kind: '+', line: b[j]!, a: i, b: j });
      j++;
    }
  }
  return ops;
}

/** A unified diff (3 lines of context), `--- a/…`/`+++ b/…` headers; '' when nothing differs. */
export function unifiedDiff(input: DiffInput, context = 3): string {
  const before = input.before ?? '';
  const after = input.after ?? '';
  if (input.before !== null && input.after !== null && before === after) return '';
  const A = splitLines(before);
  const B = splitLines(after);
  // A missing final newline is its own line difference, shown the way diff(1) does.
  const a = [...A.lines];
  const b = [...B.lines];
  const noNl = '\\ No newline at end of file';
  if (!A.finalNewline && a.length > 0) a[a.length - 1] += '\u0000';
  if (!B.finalNewline && b.length > 0) b[b.length - 1] += '\u0000';
  const ops = diffOps(a, b);

  const out: string[] = [
    `--- ${input.before === null ? '/dev/null' : 'a' + input.path}`,
    `+++ ${input.after === null ? '/dev/null' : 'b' + input.path}`,
  ];
  const changed = ops.map((o, idx) => (o.kind !== ' ' ? idx : -1)).filter((x) => x !== -1);
  if (changed.length === 0) return '';
  let k = 0;
  while (k < changed.length) {
    let start = Math.max(0, changed[k]! - context);
    let end = Math.min(ops.length, changed[k]! + context + 1);
    while (k + 1 < changed.length && changed[k + 1]! - context <= end) {
      k++;
      end = Math.min(ops.length, changed[k]! + context + 1);
    }
    k++;
    const hunk = ops.slice(start, end);
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    const aStart = aCount === 0 ? hunk[0]!.a : hunk.find((o) => o.kind !== '+')!.a + 1;
    const bStart = bCount === 0 ? hunk[0]!.b : hunk.find((o) => o.kind !== '-')!.b + 1;
    out.push(`@@ -${aStart}${aCount === 1 ? '' : ',' + aCount} +${bStart}${bCount === 1 ? '' : ',' + bCount} @@`);
    for (const o of hunk) {
      const missingNl = o.line.endsWith('\u0000');
      out.push(o.kind + (missingNl ? o.line.slice(0, -1) : o.line));
      if (missingNl) out.push(noNl);
    }
    start = end;
  }
  return out.join('\n') + '\n';
}
