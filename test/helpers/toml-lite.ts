/**
 * A small TOML 1.0 reader and writer for the test harness (k0s's drop-in merge needs to parse
 * drop-ins and write a merged file). Independent of src/ on purpose: the harness must not share
 * code with what it tests. Reads every value kind containerd configs use: tables, arrays of tables,
 * dotted and quoted keys, basic/literal (multi-line) strings, integers (dec/hex/oct/bin), floats,
 * booleans, arrays, inline tables; date-times are kept as their source text. Integers become
 * numbers (bigint past 2^53 is not needed here). Duplicate keys and redefined tables are errors.
 */

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

export class TomlError extends Error {
  constructor(message: string, line: number) {
    super(`TOML: ${message} (line ${line})`);
    this.name = 'TomlError';
  }
}

const isTable = (v: unknown): v is TomlTable => typeof v === 'object' && v !== null && !Array.isArray(v);

class Parser {
  private i = 0;
  private readonly root: TomlTable = {};
  /** Tables created by a [header] (may not be defined twice), and inline/static ones (may not be extended). */
  private readonly defined = new Set<TomlTable>();
  private readonly frozen = new Set<unknown>();
  private readonly arrayTables = new Set<TomlValue[]>();

  constructor(private readonly s: string) {}

  private line(): number {
    return this.s.slice(0, this.i).split('\n').length;
  }
  private fail(msg: string): never {
    throw new TomlError(msg, this.line());
  }
  private peek(n = 0): string {
    return this.s[this.i + n] ?? '';
  }
  private skipWs(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }
  private skipComment(): void {
    if (this.peek() === '#') while (this.i < this.s.length && this.peek() !== '\n') this.i++;
  }
  /** Whitespace, newlines and comments (inside arrays). */
  private skipAll(): void {
    for (;;) {
      this.skipWs();
      this.skipComment();
      if (this.peek() === '\n') this.i++;
      else if (this.peek() === '\r' && this.peek(1) === '\n') this.i += 2;
      else return;
    }
  }
  private endOfLine(): void {
    this.skipWs();
    this.skipComment();
    if (this.i >= this.s.length) return;
    if (this.peek() === '\n') this.i++;
    else if (this.peek() === '\r' && this.peek(1) === '\n') this.i += 2;
    else this.fail(`unexpected ${JSON.stringify(this.peek())}`);
  }

  parse(): TomlTable {
    let current = this.root;
    for (;;) {
      this.skipAll();
      if (this.i >= this.s.length) return this.root;
      if (this.peek() === '[') {
        const array = this.peek(1) === '[';
        this.i += array ? 2 : 1;
        this.skipWs();
        const key = this.key();
        this.skipWs();
        if (array ? this.s.slice(this.i, this.i + 2) !== ']]' : this.peek() !== ']') this.fail('unterminated table header');
        this.i += array ? 2 : 1;
        current = array ? this.arrayTable(key) : this.headerTable(key);
        this.endOfLine();
      } else {
        this.keyValue(current);
        this.endOfLine();
      }
    }
  }

  private descend(t: TomlTable, part: string, implicit: boolean): TomlTable {
    const v = t[part];
    if (v === undefined) {
      const n: TomlTable = {};
      t[part] = n;
      return n;
    }
    if (Array.isArray(v) && this.arrayTables.has(v) && implicit) return v[v.length - 1] as TomlTable;
    if (!isTable(v) || this.frozen.has(v)) this.fail(`key ${JSON.stringify(part)} is already a value`);
    return v;
  }

  private headerTable(key: string[]): TomlTable {
    let t = this.root;
    for (const p of key.slice(0, -1)) t = this.descend(t, p, true);
    const last = key[key.length - 1]!;
    const existing = t[last];
    if (existing !== undefined) {
      if (!isTable(existing) || this.defined.has(existing) || this.frozen.has(existing)) this.fail(`table [${key.join('.')}] defined twice`);
      this.defined.add(existing);
      return existing;
    }
    const n: TomlTable = {};
    t[last] = n;
    this.defined.add(n);
    return n;
  }

  private arrayTable(key: string[]): TomlTable {
    let t = this.root;
    for (const p of key.slice(0, -1)) t = this.descend(t, p, true);
    const last = key[key.length - 1]!;
    let arr = t[last];
    if (arr === undefined) {
      arr = [];
      t[last] = arr;
      this.arrayTables.add(arr);
    } else if (!Array.isArray(arr) || !this.arrayTables.has(arr)) this.fail(`[[${key.join('.')}]] is not an array of tables`);
    const n: TomlTable = {};
    arr.push(n);
    return n;
  }

  private keyValue(table: TomlTable): void {
    const key = this.key();
    this.skipWs();
    if (this.peek() !== '=') this.fail('expected =');
    this.i++;
    this.skipWs();
    const value = this.value();
    let t = table;
    for (const p of key.slice(0, -1)) {
      const v = t[p];
      if (v === undefined) {
        const n: TomlTable = {};
        t[p] = n;
        t = n;
      } else if (isTable(v) && !this.frozen.has(v)) t = v;
      else this.fail(`key ${JSON.stringify(p)} is already a value`);
    }
    const last = key[key.length - 1]!;
    if (last in t) this.fail(`duplicate key ${JSON.stringify(key.join('.'))}`);
    t[last] = value;
  }

  private key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipWs();
      const c = this.peek();
      if (c === '"') parts.push(this.basicString());
      else if (c === "'") parts.push(this.literalString());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(this.s.slice(this.i));
        if (!m) this.fail('expected a key');
        parts.push(m[0]);
        this.i += m[0].length;
      }
      this.skipWs();
      if (this.peek() !== '.') return parts;
      this.i++;
    }
  }

  private value(): TomlValue {
    const c = this.peek();
    if (c === '"') return this.s.startsWith('"""', this.i) ? this.multiBasic() : this.basicString();
    if (c === "'") return this.s.startsWith("'''", this.i) ? this.multiLiteral() : this.literalString();
    if (c === '[') return this.array();
    if (c === '{') return this.inlineTable();
    const rest = this.s.slice(this.i);
    let m: RegExpExecArray | null;
    if ((m = /^(true|false)(?![A-Za-z0-9_-])/.exec(rest))) {
      this.i += m[0].length;
      return m[0] === 'true';
    }
    if ((m = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?|^\d{2}:\d{2}:\d{2}(\.\d+)?/.exec(rest))) {
      this.i += m[0].length;
      return m[0];
    }
    if ((m = /^[+-]?(inf|nan)/.exec(rest))) {
      this.i += m[0].length;
      return m[0].includes('nan') ? NaN : m[0].startsWith('-') ? -Infinity : Infinity;
    }
    if ((m = /^0x[0-9A-Fa-f_]+|^0o[0-7_]+|^0b[01_]+/.exec(rest))) {
      this.i += m[0].length;
      return Number(m[0].replace(/_/g, ''));
    }
    if ((m = /^[+-]?\d[\d_]*(\.\d[\d_]*)?([eE][+-]?\d[\d_]*)?/.exec(rest))) {
      this.i += m[0].length;
      return Number(m[0].replace(/_/g, ''));
    }
    this.fail(`unexpected value ${JSON.stringify(rest.slice(0, 10))}`);
  }

  private escape(): string {
    const c = this.peek();
    this.i++;
    const simple: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\', e: '\x1b' };
    if (c in simple) return simple[c]!;
    if (c === 'u' || c === 'U') {
      const n = c === 'u' ? 4 : 8;
      const hex = this.s.slice(this.i, this.i + n);
      if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== n) this.fail('bad unicode escape');
      this.i += n;
      return String.fromCodePoint(parseInt(hex, 16));
    }
    this.fail(`bad escape \\${c}`);
  }

  private basicString(): string {
    this.i++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === '' || c === '\n') this.fail('unterminated string');
      this.i++;
      if (c === '"') return out;
      out += c === '\\' ? this.escape() : c;
    }
  }

  private literalString(): string {
    this.i++;
    const end = this.s.indexOf("'", this.i);
    const nl = this.s.indexOf('\n', this.i);
    if (end < 0 || (nl >= 0 && nl < end)) this.fail('unterminated string');
    const out = this.s.slice(this.i, end);
    this.i = end + 1;
    return out;
  }

  private multiBasic(): string {
    this.i += 3;
    if (this.peek() === '\n') this.i++;
    else if (this.peek() === '\r' && this.peek(1) === '\n') this.i += 2;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.fail('unterminated string');
      if (this.s.startsWith('"""', this.i)) {
        // up to two quotes may end the content
        let n = 3;
        while (this.peek(n) === '"' && n < 5) n++;
        out += '"'.repeat(n - 3);
        this.i += n;
        return out;
      }
      const c = this.peek();
      this.i++;
      if (c === '\\') {
        if (/^[ \t]*\r?\n/.test(this.s.slice(this.i))) {
          while (/[ \t\r\n]/.test(this.peek())) this.i++;
        } else out += this.escape();
      } else out += c;
    }
  }

  private multiLiteral(): string {
    this.i += 3;
    if (this.peek() === '\n') this.i++;
    else if (this.peek() === '\r' && this.peek(1) === '\n') this.i += 2;
    const end = this.s.indexOf("'''", this.i);
    if (end < 0) this.fail('unterminated string');
    let stop = end;
    while (this.s[stop + 3] === "'" && stop - end < 2) stop++;
    const out = this.s.slice(this.i, stop);
    this.i = stop + 3;
    return out;
  }

  private array(): TomlValue[] {
    this.i++;
    const out: TomlValue[] = [];
    for (;;) {
      this.skipAll();
      if (this.peek() === ']') {
        this.i++;
        this.frozen.add(out);
        return out;
      }
      out.push(this.value());
      this.skipAll();
      if (this.peek() === ',') this.i++;
      else if (this.peek() !== ']') this.fail('expected , or ] in array');
    }
  }

  private inlineTable(): TomlTable {
    this.i++;
    const t: TomlTable = {};
    this.skipWs();
    if (this.peek() === '}') {
      this.i++;
      this.frozen.add(t);
      return t;
    }
    for (;;) {
      this.skipWs();
      this.keyValue(t);
      this.skipWs();
      if (this.peek() === ',') {
        this.i++;
        continue;
      }
      if (this.peek() === '}') {
        this.i++;
        this.frozen.add(t);
        return t;
      }
      this.fail('expected , or } in inline table');
    }
  }
}

export function parseToml(text: string): TomlTable {
  return new Parser(text.replace(/^\uFEFF/, '')).parse();
}

const bareKey = (k: string): string => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));

function scalar(v: TomlValue): string {
  if (typeof v === 'string') return JSON.stringify(v); // TOML basic strings share JSON's escapes
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(scalar).join(', ')}]`;
  return `{ ${Object.entries(v)
    .map(([k, x]) => `${bareKey(k)} = ${scalar(x)}`)
    .join(', ')} }`;
}

const isArrayOfTables = (v: TomlValue): v is TomlTable[] => Array.isArray(v) && v.length > 0 && v.every(isTable);

/** Write a table as TOML: scalars first, then sub-tables as [a."b.c"] headers, arrays of tables as [[…]]. */
export function stringifyToml(table: TomlTable): string {
  const out: string[] = [];
  const emit = (t: TomlTable, path: string[], header: 'table' | 'array' | 'none'): void => {
    const plain = Object.entries(t).filter(([, v]) => !isTable(v) && !isArrayOfTables(v));
    const nested = Object.entries(t).filter(([, v]) => isTable(v) || isArrayOfTables(v));
    const name = path.map(bareKey).join('.');
    if (header === 'array') out.push('', `[[${name}]]`);
    else if (header === 'table' && (plain.length > 0 || nested.length === 0)) out.push('', `[${name}]`);
    for (const [k, v] of plain) out.push(`${bareKey(k)} = ${scalar(v)}`);
    for (const [k, v] of nested) {
      if (isTable(v)) emit(v, [...path, k], 'table');
      else for (const item of v as TomlTable[]) emit(item, [...path, k], 'array');
    }
  };
  emit(table, [], 'none');
  return `${out.join('\n').replace(/^\n/, '')}\n`;
}

/** RFC 7396 JSON merge patch over TOML data (TOML has no null, so nothing is ever deleted). */
export function mergePatch(target: TomlValue | undefined, patch: TomlValue): TomlValue {
  if (!isTable(patch)) return patch;
  const out: TomlTable = isTable(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) out[k] = mergePatch(out[k], v);
  return out;
}

/** The value at a path of keys, or undefined. */
export function tomlGet(table: TomlTable, path: string[]): TomlValue | undefined {
  let v: TomlValue | undefined = table;
  for (const p of path) {
    if (!isTable(v)) return undefined;
    v = v[p];
  }
  return v;
}
