import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { unifiedDiff } from '../../../src/node/containerd/diff.js';

/** GNU diff -u hunks (headers dropped: they carry file names and times). */
async function gnuHunks(a: string, b: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airgap-diff-'));
  try {
    await writeFile(join(dir, 'a'), a);
    await writeFile(join(dir, 'b'), b);
    const r = await execa('diff', ['-u', join(dir, 'a'), join(dir, 'b')], { reject: false });
    return String(r.stdout).split('\n').slice(2).join('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const ours = (a: string, b: string) => unifiedDiff({ path: '/x', before: a, after: b }).split('\n').slice(2).join('\n').trimEnd();

test('hunks match GNU diff -u on config-like edits', async () => {
  const base = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n') + '\n';
  const lines = base.split('\n');
  const cases: Array<[string, string]> = [
    [base, base.replace('line 5\n', 'line 5\ninserted\n')],
    [base, base.replace('line 0\n', '')],
    [base, base.replace('line 10', 'changed 10').replace('line 25', 'changed 25')],
    [base, base.replace('line 10', 'changed 10').replace('line 14', 'changed 14')],
    [base, 'new first\n' + base + 'new last\n'],
    [base, lines.slice(0, -1).join('\n')], // final newline removed
    ['a\nb', 'a\nb\nc\n'],
  ];
  for (const [a, b] of cases) assert.equal(ours(a, b), (await gnuHunks(a, b)).trimEnd());
});

test('new files diff against /dev/null; identical files give no diff', () => {
  const d = unifiedDiff({ path: '/etc/containerd/conf.d/airgap.toml', before: null, after: 'a\nb\n' });
  assert.equal(d, '--- /dev/null\n+++ b/etc/containerd/conf.d/airgap.toml\n@@ -0,0 +1,2 @@\n+a\n+b\n');
  assert.equal(unifiedDiff({ path: '/x', before: 'same\n', after: 'same\n' }), '');
});
