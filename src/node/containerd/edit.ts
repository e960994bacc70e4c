/**
 * Minimal textual edits of a user's TOML file: replace one value, insert one line, add one item
 * to the `imports` array. Everything else in the file — comments, order, spacing — stays byte for
 * byte. Each edit is re-parsed by the caller's checks, never re-serialized.
 */
import { ContainerdConfigError } from './errors.js';
import { describeKey } from './keys.js';
import { hasPrefix, parseToml, tomlKeyPath, tomlString, type TomlDocument, type TomlPair } from './toml.js';

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

function indentOf(text: string, lineStart: number): string {
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** Text ending in a newline, so an insertion at the end starts on its own line. */
function withFinalNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : text + '\n';
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && hasPrefix(a, b);
}

/** The last pair sitting directly under the header table `table` (by position). */
function lastPairIn(doc: TomlDocument, table: readonly string[]): TomlPair | undefined {
  let last: TomlPair | undefined;
  for (const p of doc.pairs) if (samePath(p.table, table) && (!last || p.lineEnd > last.lineEnd)) last = p;
  return last;
}

/**
 * Set a string key to `value` with the smallest edit: replace the value if the key exists, else
 * add `key = value` to its table, else add the table (`[parent]` header) next to its relatives.
 */
export function setStringKey(text: string, source: string, path: readonly string[], value: string): string {
  const doc = parseToml(text, source);
  const literal = tomlString(value);
  const existing = doc.pairs.find((p) => samePath(p.path, path));
  if (existing) {
    if (typeof existing.value !== 'string') {
      throw new ContainerdConfigError('ERR_CONTAINERD_CONFIG_LAYOUT', `${source}:${existing.line}: ${describeKey(path)} is not a string`, {
        hint: `set it to a string in ${source}, or remove it, then run again`,
        details: { file: source, line: existing.line },
      });
    }
    return splice(text, existing.valueStart, existing.valueEnd, literal);
  }

  const parent = path.slice(0, -1);
  const key = path[path.length - 1]!;

  // A value inside an inline table cannot take another key without rewriting that table.
  const inline = doc.pairs.find((p) => p.path.length <= parent.length && hasPrefix(parent, p.path));
  if (inline) {
    throw new ContainerdConfigError(
      'ERR_CONTAINERD_CONFIG_LAYOUT',
      `${source}:${inline.line}: ${parent.join('.')} is written as an inline value; cannot add ${key} to it without rewriting it`,
      {
        hint: `set ${describeKey(path)} = ${literal} in ${source} yourself (or turn the inline table into a [table]), then run again`,
        details: { file: source, line: inline.line },
      },
    );
  }

  // 1. The table has its own header: add the key after its last pair (or right under the header).
  const header = doc.headers.find((h) => !h.array && samePath(h.path, parent));
  if (header) {
    const last = lastPairIn(doc, parent);
    const indent = last ? indentOf(text, last.lineStart) : indentOf(text, header.lineStart) + '  ';
    const at = last ? last.lineEnd : header.lineEnd;
    const base = at === text.length ? withFinalNewline(text) : text;
    return splice(base, at === text.length ? base.length : at, at === text.length ? base.length : at, `${indent}${key} = ${literal}\n`);
  }

  // 2. The table exists through dotted keys under an ancestor header: add one more dotted key there.
  for (let n = parent.length - 1; n >= 0; n--) {
    const ancestor = parent.slice(0, n);
    const definesViaDots = doc.pairs.some((p) => samePath(p.table, ancestor) && hasPrefix(p.path, parent));
    if (!definesViaDots) continue;
    const last = lastPairIn(doc, ancestor)!;
    const rel = [...path.slice(n)];
    const base = last.lineEnd === text.length ? withFinalNewline(text) : text;
    const at = last.lineEnd === text.length ? base.length : last.lineEnd;
    return splice(base, at, at, `${indentOf(text, last.lineStart)}${tomlKeyPath(rel)} = ${literal}\n`);
  }

  // 3. No such table yet: add a [parent] header before its first sub-table, or after its
  //    closest ancestor's section, or at the end.
  const block = (indent: string) => `${indent}[${tomlKeyPath(parent)}]\n${indent}  ${key} = ${literal}\n`;
  // Keep the file's habit: a blank line between sections only where the file has them.
  const gap = (at: number) => (/\n[ \t]*\n$/.test(text.slice(0, at)) || at === 0 ? '\n' : '');
  const child = doc.headers.find((h) => h.path.length > parent.length && hasPrefix(h.path, parent));
  if (child) {
    const indent = indentOf(text, child.lineStart);
    return splice(text, child.lineStart, child.lineStart, block(indent) + gap(child.lineStart));
  }
  let ancestorIdx = -1;
  for (let i = 0; i < doc.headers.length; i++) {
    const h = doc.headers[i]!;
    if (hasPrefix(parent, h.path) && (ancestorIdx === -1 || h.path.length >= doc.headers[ancestorIdx]!.path.length)) ancestorIdx = i;
  }
  if (ancestorIdx !== -1) {
    const anc = doc.headers[ancestorIdx]!;
    // The ancestor's section runs until the first later header that is not inside it.
    const after = doc.headers.slice(ancestorIdx + 1).find((h) => !hasPrefix(h.path, anc.path));
    const indent = indentOf(text, anc.lineStart) + '  ';
    if (after) return splice(text, after.lineStart, after.lineStart, block(indent) + gap(after.lineStart));
  }
  const base = withFinalNewline(text);
  return base + (base === '' ? '' : '\n') + block(ancestorIdx !== -1 ? indentOf(text, doc.headers[ancestorIdx]!.lineStart) + '  ' : '');
}

/**
 * Scan an array value's text: where its last item ends, whether a comma follows it, and where
 * the closing bracket is. Strings and comments are skipped properly.
 */
function scanArray(text: string, start: number, end: number): { lastItemEnd: number; trailingComma: number; close: number } {
  let i = start + 1;
  let lastItemEnd = -1;
  let trailingComma = -1;
  while (i < end) {
    const c = text[i]!;
    if (c === '#') {
      while (i < end && text[i] !== '\n') i++;
    } else if (c === ',') {
      trailingComma = i;
      i++;
    } else if (c === ']') {
      return { lastItemEnd, trailingComma, close: i };
    } else if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const delim = triple ? c.repeat(3) : c;
      i += delim.length;
      while (i < end && !text.startsWith(delim, i)) i += c === '"' && text[i] === '\\' ? 2 : 1;
      i += delim.length;
      lastItemEnd = i;
      trailingComma = -1;
    } else if (/\s/.test(c)) i++;
    else {
      while (i < end && !/[\s,\]#]/.test(text[i]!)) i++;
      lastItemEnd = i;
      trailingComma = -1;
    }
  }
  return { lastItemEnd, trailingComma, close: end - 1 };
}

/**
 * Make the top-level `imports` array include `item`: extend the existing array in place, or
 * insert one `imports = [...]` line before the first table (after `version` when it is there).
 */
export function addImport(text: string, source: string, item: string): string {
  const doc = parseToml(text, source);
  const literal = tomlString(item);
  const pair = doc.pairs.find((p) => samePath(p.path, ['imports']));
  if (pair) {
    const { lastItemEnd, trailingComma, close } = scanArray(text, pair.valueStart, pair.valueEnd);
    if (lastItemEnd === -1) return splice(text, pair.valueStart + 1, pair.valueStart + 1, literal);
    if (trailingComma !== -1) {
      // `]` alone on its line: add the item on its own line above it, indented like the last item.
      const closeLineStart = text.lastIndexOf('\n', close - 1) + 1;
      if (/^[ \t]*$/.test(text.slice(closeLineStart, close))) {
        const lastLineStart = text.lastIndexOf('\n', lastItemEnd - 1) + 1;
        return splice(text, closeLineStart, closeLineStart, `${indentOf(text, lastLineStart)}${literal},\n`);
      }
      return splice(text, trailingComma + 1, trailingComma + 1, ` ${literal},`);
    }
    return splice(text, lastItemEnd, lastItemEnd, `, ${literal}`);
  }
  const line = `imports = [${literal}]\n`;
  const firstHeader = doc.headers[0];
  const topPairs = doc.pairs.filter((p) => p.table.length === 0 && (!firstHeader || p.lineEnd <= firstHeader.lineStart));
  const version = topPairs.find((p) => samePath(p.path, ['version']));
  const anchor = version ?? topPairs[topPairs.length - 1];
  if (anchor) {
    const base = anchor.lineEnd === text.length ? withFinalNewline(text) : text;
    const at = anchor.lineEnd === text.length ? base.length : anchor.lineEnd;
    return splice(base, at, at, line);
  }
  if (firstHeader) return splice(text, firstHeader.lineStart, firstHeader.lineStart, line + '\n');
  return withFinalNewline(text) + line;
}
