/**
 * What may be shown of a URL: scheme, host and path. User info is dropped and a query string is
 * elided, since redirect targets (presigned storage URLs) carry signatures in it.
 */
export function redactUrl(u: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(u));
  } catch {
    return '<invalid URL>';
  }
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
}

/** host[:port] of a URL, as used for messages, credentials and insecure lists. */
export function hostOf(u: string | URL): string {
  return new URL(String(u)).host;
}
