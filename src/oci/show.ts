/** C1 controls, line/paragraph separators and bidi overrides: JSON leaves them, terminals obey them. */
const UNSAFE = /[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Quote a value taken from untrusted input for an error message: escaping keeps control and bidi
 * characters out of the terminal, and the cut keeps a hostile 4 MiB string out of logs.
 * Internal to src/oci (not re-exported).
 */
export function show(value: unknown, max = 120): string {
  if (typeof value !== 'string') {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    if (typeof value === 'object') return 'an object';
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return typeof value;
  }
  const quote = (s: string): string =>
    JSON.stringify(s).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (value.length <= max) return quote(value);
  // Cut by input characters, then shrink further while escapes make the quoted form too long.
  let keep = max;
  let q = quote(value.slice(0, keep));
  while (q.length > max + 20 && keep > 8) {
    keep = Math.floor(keep / 2);
    q = quote(value.slice(0, keep));
  }
  return `${q.slice(0, -1)}…"`;
}
