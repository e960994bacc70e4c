/** One challenge of a WWW-Authenticate header: `Bearer realm="…",service="…",scope="…"`. */
export interface Challenge {
  /** Lower-cased: "bearer", "basic", … */
  scheme: string;
  /** Parameter names lower-cased; values unquoted and unescaped. */
  params: Record<string, string>;
}

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isTokenChar = (c: string | undefined): boolean => c !== undefined && !isSpace(c) && c !== ',' && c !== '=' && c !== '"';

/**
 * Parse WWW-Authenticate (RFC 9110 §11.6.1): several challenges in one header or several headers,
 * quoted values holding commas, spaces and backslash escapes, any case for names. Never throws;
 * garbage yields what could be read.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (Array.isArray(header)) return header.flatMap((h) => parseChallenges(h));
  const s = header;
  let pos = 0;
  const out: Challenge[] = [];

  const skipSpace = (): void => {
    while (isSpace(s[pos])) pos++;
  };
  const readToken = (): string => {
    const start = pos;
    while (isTokenChar(s[pos])) pos++;
    return s.slice(start, pos);
  };
  const readQuoted = (): string => {
    pos++; // opening quote
    let v = '';
    while (pos < s.length && s[pos] !== '"') {
      if (s[pos] === '\\' && pos + 1 < s.length) pos++;
      v += s[pos];
      pos++;
    }
    pos++; // closing quote (or end)
    return v;
  };

  while (pos < s.length) {
    while (isSpace(s[pos]) || s[pos] === ',') pos++;
    const scheme = readToken();
    if (!scheme) {
      pos++; // a stray character: skip it rather than loop
      continue;
    }
    const ch: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(ch);
    for (;;) {
      const save = pos;
      while (isSpace(s[pos]) || s[pos] === ',') pos++;
      const name = readToken();
      skipSpace();
      if (!name || s[pos] !== '=') {
        // Not a parameter: the next challenge's scheme starts here.
        pos = save;
        break;
      }
      pos++; // '='
      skipSpace();
      let value: string;
      if (s[pos] === '"') value = readQuoted();
      else {
        const start = pos;
        while (pos < s.length && s[pos] !== ',' && !isSpace(s[pos])) pos++;
        value = s.slice(start, pos);
      }
      ch.params[name.toLowerCase()] = value;
      skipSpace();
      if (s[pos] === ',') pos++;
    }
  }
  return out;
}

/** The challenge we answer: Bearer if offered (it scopes access), else Basic. */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
