/**
 * A small TOML 1.0 reader for containerd's config files. Besides the values it records where
 * every key/value pair and table header sits in the text, so that a change to the user's file
 * can be a minimal textual edit (replace one value, insert one line) instead of a re-serialization
 * that would drop their comments and layout.
 */
import { ContainerdConfigError } from './errors.js';

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

export interface TomlPair {
  /** Full key path from the root, e.g. ['plugins', 'io.containerd.grpc.v1.cri', 'sandbox_image']. */
  path: string[];
  /** The header table the pair sits under ([] at the top level). */
  table: string[];
  /** Offset of the start of the line holding the key. */
  lineStart: number;
  keyStart: number;
  valueStart: number;
  /** Offset just past the value. */
  valueEnd: number;
  /** Offset just past the line (including its newline) on which the value ends. */
  lineEnd: number;
  /** 1-based line number of the key. */
  line: number;
  value: TomlValue;
}

export interface TomlHeader {
  path: string[];
  /** True for [[array.of.tables]]. */
  array: boolean;
  /** Offset of the start of the header's line. */
  lineStart: number;
  /** Offset just past the header line (including its newline). */
  lineEnd: number;
  /** 1-based line number. */
  line: number;
}

export interface TomlDocument {
  text: string;
  root: TomlTable;
  pairs: TomlPair[];
  headers: TomlHeader[];
}

/** How a table came to exist; TOML forbids some redefinitions depending on it. */
type TableKind = 'implicit' | 'header' | 'dotted' | 'inline' | 'array-element';

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

class Parser {
  private pos = 0;
  private readonly kinds = new WeakMap<object, TableKind>();
  private readonly arraysOfTables = new WeakSet<object>();
  private readonly root: TomlTable = {};
  private readonly pairs: TomlPair[] = [];
  private readonly headers: TomlHeader[] = [];
  private current: TomlTable;
  private currentPath: string[] = [];

  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {
    this.kinds.set(this.root, 'header');
    this.current = this.root;
  }

  parse(): TomlDocument {
    const t = this.text;
    if (t.charCodeAt(0) === 0xfeff) this.pos = 1;
    while (this.pos < t.length) {
      this.skipWs();
      const c = t[this.pos];
      if (c === undefined) break;
      if (c === '#') {
        this.skipComment();
        continue;
      }
      if (c === '\n' || c === '\r') {
        this.newline();
        continue;
      }
      const lineStart = this.lineStartOf(this.pos);
      if (c === '[') this.header(lineStart);
      else this.keyValue(this.current, this.currentPath, lineStart, true);
      this.endOfLine();
    }
    return { text: t, root: this.root, pairs: this.pairs, headers: this.headers };
  }

  // ---- errors and positions ----

  private fail(message: string, at = this.pos): never {
    let line = 1;
    let col = 1;
    for (let i = 0; i < at && i < this.text.length; i++) {
      if (this.text[i] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    throw new ContainerdConfigError(
      'ERR_CONTAINERD_CONFIG_SYNTAX',
      `${this.source}:${line}:${col}: invalid TOML: ${message}`,
      {
        hint: `fix the syntax of ${this.source} (containerd itself would refuse to start with it), then run again`,
        details: { file: this.source, line, column: col },
      },
    );
  }

  private lineOf(at: number): number {
    let line = 1;
    for (let i = 0; i < at; i++) if (this.text.charCodeAt(i) === 10) line++;
    return line;
  }

  private lineStartOf(at: number): number {
    const nl = this.text.lastIndexOf('\n', at - 1);
    return nl + 1;
  }

  // ---- whitespace, comments, newlines ----

  private skipWs(): void {
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.pos++;
  }

  private skipComment(): void {
    while (this.pos < this.text.length && this.text[this.pos] !== '\n') {
      const code = this.text.charCodeAt(this.pos);
      if (code === 13 && this.text[this.pos + 1] === '\n') break;
      if ((code < 0x20 && code !== 9) || code === 0x7f) this.fail('control character in comment');
      this.pos++;
    }
  }

  private newline(): void {
    if (this.text[this.pos] === '\r') {
      if (this.text[this.pos + 1] !== '\n') this.fail('bare carriage return');
      this.pos += 2;
    } else if (this.text[this.pos] === '\n') this.pos++;
    else this.fail(`expected a newline, found ${JSON.stringify(this.text[this.pos])}`);
  }

  /** After a pair or header: optional whitespace and comment, then a newline or the end. */
  private endOfLine(): void {
    this.skipWs();
    if (this.text[this.pos] === '#') this.skipComment();
    if (this.pos >= this.text.length) return;
    this.newline();
  }

  /** Whitespace, newlines and comments, as allowed inside arrays. */
  private skipWsNlComments(): void {
    for (;;) {
      this.skipWs();
      const c = this.text[this.pos];
      if (c === '#') this.skipComment();
      else if (c === '\n' || c === '\r') this.newline();
      else return;
    }
  }

  private lineEndAfter(at: number): number {
    // The rest of the line (whitespace and a comment) belongs to the pair.
    const nl = this.text.indexOf('\n', at);
    return nl === -1 ? this.text.length : nl + 1;
  }

  // ---- keys ----

  private key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipWs();
      parts.push(this.simpleKey());
      this.skipWs();
      if (this.text[this.pos] !== '.') return parts;
      this.pos++;
    }
  }

  private simpleKey(): string {
    const c = this.text[this.pos];
    if (c === '"') {
      if (this.text.startsWith('"""', this.pos)) this.fail('a multi-line string cannot be a key');
      return this.basicString();
    }
    if (c === "'") {
      if (this.text.startsWith("'''", this.pos)) this.fail('a multi-line string cannot be a key');
      return this.literalString();
    }
    const start = this.pos;
    while (this.pos < this.text.length && /[A-Za-z0-9_-]/.test(this.text[this.pos]!)) this.pos++;
    if (this.pos === start) this.fail(`expected a key, found ${JSON.stringify(this.text[this.pos] ?? 'end of file')}`);
    return this.text.slice(start, this.pos);
  }

  // ---- tables ----

  private header(lineStart: number): void {
    const array = this.text.startsWith('[[', this.pos);
    this.pos += array ? 2 : 1;
    const path = this.key();
    this.skipWs();
    if (array) {
      if (!this.text.startsWith(']]', this.pos)) this.fail('expected ]] to close the array-of-tables header');
      this.pos += 2;
    } else {
      if (this.text[this.pos] !== ']') this.fail('expected ] to close the table header');
      this.pos++;
    }
    const line = this.lineOf(lineStart);
    let table: TomlTable = this.root;
    for (let i = 0; i < path.length - 1; i++) table = this.descendForHeader(table, path[i]!, path);
    const last = path[path.length - 1]!;
    const existing = table[last];
    let target: TomlTable;
    if (array) {
      if (existing === undefined) {
        const arr: TomlValue[] = [];
        this.arraysOfTables.add(arr);
        table[last] = arr;
        target = this.newTable('array-element');
        arr.push(target);
      } else if (Array.isArray(existing) && this.arraysOfTables.has(existing)) {
        target = this.newTable('array-element');
        existing.push(target);
      } else this.fail(`[[${path.join('.')}]] redefines a key that is not an array of tables`);
    } else if (existing === undefined) {
      target = this.newTable('header');
      table[last] = target;
    } else if (isTable(existing) && this.kinds.get(existing) === 'implicit') {
      this.kinds.set(existing, 'header');
      target = existing;
    } else this.fail(`table [${path.join('.')}] is defined more than once`);
    this.current = target;
    this.currentPath = array ? [...path, String((table[last] as TomlValue[]).length - 1)] : path;
    const lineEnd = this.lineEndAfter(this.pos);
    this.headers.push({ path, array, lineStart, lineEnd, line });
  }

  private descendForHeader(table: TomlTable, key: string, path: string[]): TomlTable {
    const v = table[key];
    if (v === undefined) {
      const t = this.newTable('implicit');
      table[key] = t;
      return t;
    }
    if (Array.isArray(v)) {
      if (!this.arraysOfTables.has(v)) this.fail(`[${path.join('.')}]: ${key} is an array, not a table`);
      return v[v.length - 1] as TomlTable;
    }
    if (!isTable(v) || this.kinds.get(v) === 'inline') this.fail(`[${path.join('.')}]: ${key} is not a table`);
    return v;
  }

  private newTable(kind: TableKind): TomlTable {
    const t: TomlTable = {};
    this.kinds.set(t, kind);
    return t;
  }

  // ---- key/value pairs ----

  private keyValue(table: TomlTable, tablePath: string[], lineStart: number, record: boolean): void {
    const keyStart = this.pos;
    const keys = this.key();
    this.skipWs();
    if (this.text[this.pos] !== '=') this.fail(`expected = after the key ${keys.join('.')}`);
    this.pos++;
    this.skipWs();
    const valueStart = this.pos;
    const value = this.value();
    const valueEnd = this.pos;
    let t = table;
    for (let i = 0; i < keys.length - 1; i++) {
      const k = keys[i]!;
      const v = t[k];
      if (v === undefined) {
        const nt = this.newTable('dotted');
        t[k] = nt;
        t = nt;
      } else if (isTable(v) && (this.kinds.get(v) === 'dotted' || this.kinds.get(v) === 'implicit')) {
        t = v;
      } else this.fail(`${keys.slice(0, i + 1).join('.')} is already defined and cannot be extended`, keyStart);
    }
    const last = keys[keys.length - 1]!;
    if (last in t) this.fail(`duplicate key ${[...tablePath, ...keys].join('.')}`, keyStart);
    t[last] = value;
    if (record) {
      this.pairs.push({
        path: [...tablePath, ...keys],
        table: tablePath,
        lineStart,
        keyStart,
        valueStart,
        valueEnd,
        lineEnd: this.lineEndAfter(valueEnd),
        line: this.lineOf(keyStart),
        value,
      });
    }
  }

  // ---- values ----

  private value(): TomlValue {
    const t = this.text;
    const c = t[this.pos];
    if (c === '"') return t.startsWith('"""', this.pos) ? this.multilineBasicString() : this.basicString();
    if (c === "'") return t.startsWith("'''", this.pos) ? this.multilineLiteralString() : this.literalString();
    if (c === '[') return this.array();
    if (c === '{') return this.inlineTable();
    if (t.startsWith('true', this.pos) && !/[A-Za-z0-9_-]/.test(t[this.pos + 4] ?? '')) {
      this.pos += 4;
      return true;
    }
    if (t.startsWith('false', this.pos) && !/[A-Za-z0-9_-]/.test(t[this.pos + 5] ?? '')) {
      this.pos += 5;
      return false;
    }
    return this.numberOrDate();
  }

  private basicString(): string {
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n' || c === '\r') this.fail('unterminated string');
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\') {
        out += this.escape(false);
        continue;
      }
      this.checkStringChar();
      out += c;
      this.pos++;
    }
  }

  private multilineBasicString(): string {
    this.pos += 3;
    if (this.text[this.pos] === '\n') this.pos++;
    else if (this.text.startsWith('\r\n', this.pos)) this.pos += 2;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail('unterminated multi-line string');
      if (this.text.startsWith('"""', this.pos)) {
        // Up to two quotes right before the closing delimiter belong to the content.
        let extra = 0;
        while (extra < 2 && this.text[this.pos + 3 + extra] === '"') extra++;
        out += '"'.repeat(extra);
        this.pos += 3 + extra;
        return out;
      }
      if (c === '\\') {
        out += this.escape(true);
        continue;
      }
      if (c === '\r' && this.text[this.pos + 1] === '\n') {
        out += '\n';
        this.pos += 2;
        continue;
      }
      if (c !== '\n') this.checkStringChar();
      out += c;
      this.pos++;
    }
  }

  private literalString(): string {
    this.pos++;
    const start = this.pos;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n' || c === '\r') this.fail('unterminated literal string');
      if (c === "'") break;
      this.checkStringChar();
      this.pos++;
    }
    const s = this.text.slice(start, this.pos);
    this.pos++;
    return s;
  }

  private multilineLiteralString(): string {
    this.pos += 3;
    if (this.text[this.pos] === '\n') this.pos++;
    else if (this.text.startsWith('\r\n', this.pos)) this.pos += 2;
    const end = this.text.indexOf("'''", this.pos);
    if (end === -1) this.fail('unterminated multi-line literal string');
    let extra = 0;
    while (extra < 2 && this.text[end + 3 + extra] === "'") extra++;
    const s = this.text.slice(this.pos, end + extra).replace(/\r\n/g, '\n');
    this.pos = end + 3 + extra;
    return s;
  }

  private checkStringChar(): void {
    const code = this.text.charCodeAt(this.pos);
    if ((code < 0x20 && code !== 9) || code === 0x7f) this.fail('control character in string');
  }

  private escape(multiline: boolean): string {
    const t = this.text;
    const c = t[this.pos + 1];
    this.pos += 2;
    switch (c) {
      case 'b':
        return '\b';
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'f':
        return '\f';
      case 'r':
        return '\r';
      case 'e':
        return '\x1b';
      case '"':
        return '"';
      case '\\':
        return '\\';
      case 'u':
      case 'U': {
        const len = c === 'u' ? 4 : 8;
        const hex = t.slice(this.pos, this.pos + len);
        if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) this.fail(`invalid \\${c} escape`, this.pos - 2);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail('escape is not a Unicode scalar value', this.pos - 2);
        this.pos += len;
        return String.fromCodePoint(cp);
      }
      default:
        if (multiline) {
          // A line-ending backslash trims the newline and all whitespace that follows.
          let p = this.pos - 1;
          while (t[p] === ' ' || t[p] === '\t') p++;
          if (t[p] === '\n' || (t[p] === '\r' && t[p + 1] === '\n')) {
            while (p < t.length && /[ \t\r\n]/.test(t[p]!)) p++;
            this.pos = p;
            return '';
          }
        }
        this.fail(`invalid escape \\${c ?? ''}`, this.pos - 2);
    }
  }

  private array(): TomlValue[] {
    this.pos++;
    const out: TomlValue[] = [];
    for (;;) {
      this.skipWsNlComments();
      if (this.text[this.pos] === ']') {
        this.pos++;
        return out;
      }
      out.push(this.value());
      this.skipWsNlComments();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return out;
      }
      this.fail('expected , or ] in array');
    }
  }

  private inlineTable(): TomlTable {
    this.pos++;
    const table = this.newTable('inline');
    this.skipWs();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return table;
    }
    for (;;) {
      this.skipWs();
      this.keyValue(table, [], this.pos, false);
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        this.freeze(table);
        return table;
      }
      this.fail('expected , or } in inline table');
    }
  }

  /** Tables made by dotted keys inside an inline table are as closed as the inline table. */
  private freeze(t: TomlTable): void {
    this.kinds.set(t, 'inline');
    for (const v of Object.values(t)) if (isTable(v)) this.freeze(v);
  }

  private numberOrDate(): TomlValue {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length && /[0-9A-Za-z_+\-.:]/.test(t[this.pos]!)) this.pos++;
    let token = t.slice(start, this.pos);
    // A date and a time may be separated by one space.
    if (/^\d{4}-\d{2}-\d{2}$/.test(token) && t[this.pos] === ' ' && /\d/.test(t[this.pos + 1] ?? '')) {
      this.pos++;
      while (this.pos < t.length && /[0-9A-Za-z_+\-.:]/.test(t[this.pos]!)) this.pos++;
      token = t.slice(start, this.pos);
    }
    if (token === '') this.fail(`expected a value, found ${JSON.stringify(t[this.pos] ?? 'end of file')}`);
    // Dates and times are kept as their text: containerd's config has none we interpret.
    if (/^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?$/.test(token)) return token;
    if (/^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(token)) return token;
    if (/^[+-]?(inf|nan)$/.test(token)) return token.includes('nan') ? NaN : token.startsWith('-') ? -Infinity : Infinity;
    if (/^0x[0-9A-Fa-f](_?[0-9A-Fa-f])*$/.test(token)) return parseInt(token.slice(2).replace(/_/g, ''), 16);
    if (/^0o[0-7](_?[0-7])*$/.test(token)) return parseInt(token.slice(2).replace(/_/g, ''), 8);
    if (/^0b[01](_?[01])*$/.test(token)) return parseInt(token.slice(2).replace(/_/g, ''), 2);
    if (/^[+-]?(0|[1-9](_?\d)*)$/.test(token)) return Number(token.replace(/_/g, ''));
    if (/^[+-]?(0|[1-9](_?\d)*)(\.\d(_?\d)*)?([eE][+-]?\d(_?\d)*)?$/.test(token)) return Number(token.replace(/_/g, ''));
    this.fail(`invalid value ${JSON.stringify(token)}`, start);
  }
}

export function isTable(v: TomlValue | undefined): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse TOML text; `source` names the file in error messages. Throws ContainerdConfigError. */
export function parseToml(text: string, source = '<toml>'): TomlDocument {
  return new Parser(text, source).parse();
}

/** The value at a key path, or undefined. */
export function getPath(root: TomlTable, path: readonly string[]): TomlValue | undefined {
  let v: TomlValue | undefined = root;
  for (const k of path) {
    if (!isTable(v)) return undefined;
    v = v[k];
  }
  return v;
}

/** A TOML basic string literal for any text. */
export function tomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** One key part: bare when it can be, quoted otherwise. */
export function tomlKey(k: string): string {
  return BARE_KEY.test(k) ? k : tomlString(k);
}

/** A dotted key path, e.g. plugins."io.containerd.grpc.v1.cri".registry */
export function tomlKeyPath(path: readonly string[]): string {
  return path.map(tomlKey).join('.');
}

/** True when `path` starts with `prefix`. */
export function hasPrefix(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => path[i] === p);
}
