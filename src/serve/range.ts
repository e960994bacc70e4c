/** What a Range header asks of a blob of a given size. */
export type RangeRequest =
  /** no Range, another unit, several ranges, or an If-Range that no longer matches: send it all (200) */
  | { kind: 'full' }
  /** one satisfiable range, end inclusive (206) */
  | { kind: 'partial'; start: number; end: number }
  /** malformed, or not within the blob (416) */
  | { kind: 'unsatisfiable' };

const SPEC = /^(\d*)-(\d*)$/;

/**
 * RFC 9110 byte ranges for one blob. As Go's http.ServeContent (which distribution uses), a
 * malformed `bytes=` value is 416. Unlike it, several ranges get the whole blob (200), which the
 * RFC allows and every registry client handles; clients resume with one range.
 */
export function parseRange(header: string | undefined, size: number, opts: { ifRange?: string; etag?: string } = {}): RangeRequest {
  if (header === undefined) return { kind: 'full' };
  // If-Range with a validator other than ours means "the content changed: send it all".
  if (opts.ifRange !== undefined && opts.ifRange.trim() !== opts.etag) return { kind: 'full' };
  const h = header.trim();
  if (!/^bytes=/i.test(h)) return { kind: 'full' };
  const specs = h.slice(6).split(',').map((s) => s.trim()).filter(Boolean);
  if (specs.length === 0) return { kind: 'unsatisfiable' };
  const ranges: { start: number; end: number }[] = [];
  for (const spec of specs) {
    const m = SPEC.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return { kind: 'unsatisfiable' };
    const first = m[1] === '' ? undefined : Number(m[1]);
    const last = m[2] === '' ? undefined : Number(m[2]);
    if ((first !== undefined && !Number.isSafeInteger(first)) || (last !== undefined && !Number.isSafeInteger(last))) return { kind: 'unsatisfiable' };
    if (first === undefined) {
      // Suffix: the last N bytes.
      if (last! === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - last!), end: size - 1 });
      continue;
    }
    if (last !== undefined && last < first) return { kind: 'unsatisfiable' };
    if (first >= size) continue;
    ranges.push({ start: first, end: last === undefined ? size - 1 : Math.min(last, size - 1) });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  if (ranges.length > 1) return { kind: 'full' };
  return { kind: 'partial', ...ranges[0]! };
}
