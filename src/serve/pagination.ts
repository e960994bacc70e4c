/** Distribution's defaults for the catalog; tags lists are returned whole unless `n` is given. */
export const CATALOG_DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

export interface Page {
  items: string[];
  /** the Link header value for the next page, when there is one */
  link?: string;
}

export class PageNumberError extends Error {}

/**
 * `n`/`last` pagination over a sorted list, as the distribution spec defines it: items strictly
 * after `last`, at most `n`, and a `Link: <…?n=N&last=X>; rel="next"` when more remain.
 */
export function paginate(sorted: readonly string[], query: URLSearchParams, path: string, defaultPage?: number): Page {
  const nText = query.get('n');
  let n: number | undefined = defaultPage;
  if (nText !== null && nText !== '') {
    if (!/^\d+$/.test(nText)) throw new PageNumberError(`n=${nText} is not a whole number`);
    n = Number(nText);
    if (n > MAX_PAGE) throw new PageNumberError(`n=${n} is above the limit of ${MAX_PAGE}`);
  }
  const last = query.get('last');
  let start = 0;
  if (last) {
    // First item sorting after `last`, whether or not `last` itself is in the list.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= last) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  if (n === undefined) return { items: sorted.slice(start) };
  const items = sorted.slice(start, start + n);
  if (n === 0 || start + n >= sorted.length) return { items };
  const next = new URLSearchParams({ last: items[items.length - 1]!, n: String(n) });
  return { items, link: `<${path}?${next.toString()}>; rel="next"` };
}
