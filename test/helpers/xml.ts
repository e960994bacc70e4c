/**
 * A small, strict XML parser for tests: enough of XML 1.0 to prove a document well-formed (one
 * root, matched tags, quoted unique attributes, only the five entities and character references,
 * no raw "<" or "&" in text, only legal characters) and to walk the result. Throws on anything else.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
// eslint-disable-next-line no-control-regex
const ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

function decode(raw: string, where: number): string {
  if (raw.includes('<')) throw new Error(`raw "<" in text or attribute near ${where}`);
  return raw.replace(/&([^;]*);?/g, (m, body: string) => {
    if (!m.endsWith(';')) throw new Error(`unterminated entity near ${where}: ${m}`);
    if (body.startsWith('#x')) return String.fromCodePoint(parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(parseInt(body.slice(1), 10));
    const e = ENTITIES[body];
    if (e === undefined) throw new Error(`unknown entity &${body}; near ${where}`);
    return e;
  });
}

export function parseXml(doc: string): XmlElement {
  if (ILLEGAL.test(doc)) throw new Error('document holds a character XML 1.0 forbids');
  let pos = 0;
  const skipWs = (): void => {
    while (pos < doc.length && /\s/.test(doc[pos]!)) pos++;
  };
  const skipMisc = (): void => {
    for (;;) {
      skipWs();
      if (doc.startsWith('<!--', pos)) {
        const end = doc.indexOf('-->', pos);
        if (end < 0) throw new Error('unterminated comment');
        pos = end + 3;
      } else if (doc.startsWith('<?', pos)) {
        const end = doc.indexOf('?>', pos);
        if (end < 0) throw new Error('unterminated processing instruction');
        pos = end + 2;
      } else return;
    }
  };
  if (doc.startsWith('<?xml')) {
    const end = doc.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    pos = end + 2;
  }
  skipMisc();

  const element = (): XmlElement => {
    if (doc[pos] !== '<') throw new Error(`expected "<" at ${pos}`);
    pos++;
    const m = NAME.exec(doc.slice(pos));
    if (!m) throw new Error(`bad element name at ${pos}`);
    const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
    pos += m[0].length;
    for (;;) {
      const before = pos;
      skipWs();
      if (doc.startsWith('/>', pos)) {
        pos += 2;
        return el;
      }
      if (doc[pos] === '>') {
        pos++;
        break;
      }
      if (pos === before) throw new Error(`expected white space before an attribute at ${pos}`);
      const a = NAME.exec(doc.slice(pos));
      if (!a) throw new Error(`bad attribute name at ${pos}`);
      pos += a[0].length;
      skipWs();
      if (doc[pos] !== '=') throw new Error(`expected "=" at ${pos}`);
      pos++;
      skipWs();
      const q = doc[pos];
      if (q !== '"' && q !== "'") throw new Error(`unquoted attribute value at ${pos}`);
      const end = doc.indexOf(q, pos + 1);
      if (end < 0) throw new Error(`unterminated attribute value at ${pos}`);
      if (a[0] in el.attrs) throw new Error(`duplicate attribute ${a[0]} at ${pos}`);
      el.attrs[a[0]] = decode(doc.slice(pos + 1, end), pos);
      pos = end + 1;
    }
    for (;;) {
      const lt = doc.indexOf('<', pos);
      if (lt < 0) throw new Error(`unclosed element <${el.name}>`);
      el.text += decode(doc.slice(pos, lt), pos);
      pos = lt;
      if (doc.startsWith('</', pos)) {
        pos += 2;
        const m2 = NAME.exec(doc.slice(pos));
        if (!m2 || m2[0] !== el.name) throw new Error(`</${m2?.[0]}> closes <${el.name}> at ${pos}`);
        pos += m2[0].length;
        skipWs();
        if (doc[pos] !== '>') throw new Error(`expected ">" at ${pos}`);
        pos++;
        return el;
      }
      if (doc.startsWith('<!--', pos) || doc.startsWith('<?', pos)) {
        skipMisc();
        continue;
      }
      if (doc.startsWith('<![CDATA[', pos)) {
        const end = doc.indexOf(']]>', pos);
        if (end < 0) throw new Error('unterminated CDATA');
        el.text += doc.slice(pos + 9, end);
        pos = end + 3;
        continue;
      }
      el.children.push(element());
    }
  };
  const root = element();
  skipMisc();
  if (pos !== doc.length) throw new Error(`content after the root element at ${pos}`);
  return root;
}

/** Every element of a name, depth first. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    if (e.name === name) out.push(e);
    for (const c of e.children) walk(c);
  };
  walk(el);
  return out;
}
