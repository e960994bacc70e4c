import { isIP } from 'node:net';
import { InvalidListenAddressError, InvalidPrefixError } from './errors.js';

export const DEFAULT_ADDR = '127.0.0.1:5000';

export interface ListenAddress {
  /** what to bind: an IP address or a host name ("::" and "0.0.0.0" are every interface) */
  host: string;
  /** 0 lets the kernel choose */
  port: number;
}

/**
 * HOST:PORT as Go servers take it: `127.0.0.1:5000`, `[::1]:5000`, `:5000` (every interface),
 * `localhost:5000`; a bare port means loopback, the safe default for a node-local mirror.
 */
export function parseListenAddress(addr: string): ListenAddress {
  const s = addr.trim();
  if (!s) throw new InvalidListenAddressError(addr, 'empty');
  let host: string;
  let portText: string;
  if (/^\d+$/.test(s)) {
    host = '127.0.0.1';
    portText = s;
  } else if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw new InvalidListenAddressError(addr, 'an IPv6 address opened with "[" is not closed');
    host = s.slice(1, close);
    if (isIP(host) !== 6) throw new InvalidListenAddressError(addr, `${host} is not an IPv6 address`);
    if (s[close + 1] !== ':') throw new InvalidListenAddressError(addr, 'expected ":PORT" after the IPv6 address');
    portText = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw new InvalidListenAddressError(addr, 'no port');
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(':')) throw new InvalidListenAddressError(addr, 'write IPv6 addresses in brackets');
    if (!host) host = '0.0.0.0';
    else if (!isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) {
      throw new InvalidListenAddressError(addr, `${JSON.stringify(host)} is not an IP address or host name`);
    }
  }
  if (!/^\d{1,5}$/.test(portText)) throw new InvalidListenAddressError(addr, portText ? `port ${JSON.stringify(portText)} is not a number` : 'no port');
  const port = Number(portText);
  if (port > 65535) throw new InvalidListenAddressError(addr, `port ${port} is above 65535`);
  return { host, port };
}

export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** host[:port] for a URL: IPv6 in brackets; a wildcard bind is reached locally through loopback. */
export function urlHost(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${isIP(h) === 6 ? `[${h}]` : h}:${port}`;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** `--prefix /mirror/` -> `mirror`; checked against the repository-name grammar. */
export function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined) return '';
  const p = prefix.trim().replace(/^\/+|\/+$/g, '');
  if (!p) return '';
  const bad = p.split('/').find((c) => !PATH_COMPONENT.test(c));
  if (bad !== undefined) {
    throw new InvalidPrefixError(prefix, bad ? `${JSON.stringify(bad)} is not a valid repository path component` : 'it has an empty component ("//")');
  }
  if (p === 'v2' || p.startsWith('v2/')) throw new InvalidPrefixError(prefix, 'the prefix goes after /v2/, not before it; leave out "v2"');
  return p;
}
