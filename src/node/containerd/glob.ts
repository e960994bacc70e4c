/**
 * containerd resolves `imports` entries containing `*` with Go's filepath.Glob: patterns may sit
 * in any path segment, `*` and `?` never match `/`, `[...]` is a class, and each directory's
 * matches come in sorted order. Files that do not exist yet (planned) can be included so the plan
 * sees the chain as it will be.
 */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export function hasGlobMeta(s: string): boolean {
  return /[*?[]/.test(s);
}

/** Go filepath.Match for one path segment, as a RegExp. Returns undefined for a bad pattern. */
export function segmentRegExp(pattern: string): RegExp | undefined {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= pattern.length) return undefined;
      re += escapeRe(pattern[i]!);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) return undefined;
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\]\\]/g, '\\$&')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  try {
    return new RegExp(re + '$');
  } catch {
    return undefined;
  }
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** True when the absolute path matches the absolute pattern segment by segment. */
export function globMatches(pattern: string, path: string): boolean {
  const ps = pattern.split('/');
  const xs = path.split('/');
  if (ps.length !== xs.length) return false;
  return ps.every((p, i) => (hasGlobMeta(p) ? (segmentRegExp(p)?.test(xs[i]!) ?? false) : p === xs[i]));
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

/**
 * Expand an absolute glob pattern against the file system plus `extra` (paths planned to exist).
 * Result is sorted the way Go's Glob sorts (per directory, lexically).
 */
export async function expandGlob(pattern: string, extra: Iterable<string> = []): Promise<string[]> {
  const segments = pattern.split('/');
  let bases = [segments[0] === '' ? '/' : segments[0]!];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!hasGlobMeta(seg)) {
        next.push(join(base, seg));
        continue;
      }
      const re = segmentRegExp(seg);
      if (!re) continue;
      for (const name of await listDir(base)) if (re.test(name)) next.push(join(base, name));
    }
    bases = next;
  }
  const found = new Set(bases);
  // A fixed last segment was joined without checking it exists; keep only what does (or will).
  const existing: string[] = [];
  for (const p of found) {
    try {
      await access(p);
      existing.push(p);
    } catch {
      // not there
    }
  }
  for (const p of extra) if (globMatches(pattern, p) && !existing.includes(p)) existing.push(p);
  return existing.sort();
}
