import { parseDigest, type Digest } from './digest.js';
import { InvalidReferenceError } from './errors.js';

export const DOCKER_HUB = 'docker.io';
const NAME_TOTAL_MAX = 255;

const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HEX64 = /^[a-f0-9]{64}$/;
const IPV6 = /^\[[a-fA-F0-9:]+\]$/;

/**
 * A fully normalized image reference, as docker and containerd understand it:
 * `nginx` is `docker.io/library/nginx:latest`. Immutable.
 */
export class ImageReference {
  constructor(
    /** registry host with optional port: docker.io, registry.k8s.io, 127.0.0.1:5000, [::1]:5000 */
    readonly registry: string,
    /** repository path within the registry: library/nginx, kube-apiserver, coredns/coredns */
    readonly repository: string,
    readonly tag?: string,
    readonly digest?: Digest,
  ) {}

  /** registry/repository, without tag or digest. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** The tag if present, else the digest: what to ask the registry's manifest endpoint for. */
  get identifier(): string {
    return this.digest ?? this.tag ?? 'latest';
  }

  toString(): string {
    return `${this.name}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }

  toJSON(): string {
    return this.toString();
  }

  /** The short form docker prints: nginx:latest, not docker.io/library/nginx:latest. */
  familiar(): string {
    let name = this.name;
    if (this.registry === DOCKER_HUB) {
      name = this.repository.startsWith('library/') && this.repository.split('/').length === 2
        ? this.repository.slice('library/'.length)
        : this.repository;
    }
    return `${name}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }

  withTag(tag: string): ImageReference {
    if (!TAG.test(tag)) throw new InvalidReferenceError(`${this.name}:${tag}`, `tag "${tag}" is invalid`);
    return new ImageReference(this.registry, this.repository, tag, this.digest);
  }

  withDigest(digest: string): ImageReference {
    return new ImageReference(this.registry, this.repository, this.tag, parseDigest(digest).digest);
  }

  withoutDigest(): ImageReference {
    return new ImageReference(this.registry, this.repository, this.tag ?? 'latest');
  }

  equals(other: ImageReference): boolean {
    return this.toString() === other.toString();
  }
}

export interface ParseReferenceOptions {
  /** Add `:latest` when neither tag nor digest is given (docker's behaviour). Default true. */
  defaultTag?: boolean;
}

function validateDomain(input: string, domain: string): void {
  let host = domain;
  let port: string | undefined;
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']');
    if (close < 0) throw new InvalidReferenceError(input, `registry host "${domain}" has an unclosed IPv6 bracket`);
    host = domain.slice(0, close + 1);
    const rest = domain.slice(close + 1);
    if (rest) {
      if (!rest.startsWith(':')) throw new InvalidReferenceError(input, `registry host "${domain}" is malformed after the IPv6 address`);
      port = rest.slice(1);
    }
    if (!IPV6.test(host)) throw new InvalidReferenceError(input, `registry host "${host}" is not a valid IPv6 address`);
  } else {
    const c = domain.lastIndexOf(':');
    if (c >= 0) {
      host = domain.slice(0, c);
      port = domain.slice(c + 1);
    }
    if (!host) throw new InvalidReferenceError(input, `registry host "${domain}" is empty`);
    for (const part of host.split('.')) {
      if (!DOMAIN_COMPONENT.test(part)) {
        throw new InvalidReferenceError(input, `registry host "${host}" has an invalid component "${part}"`);
      }
    }
  }
  if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) {
    throw new InvalidReferenceError(input, `registry port "${port}" is not a number`);
  }
  if (port !== undefined && Number(port) > 65535) {
    throw new InvalidReferenceError(input, `registry port ${port} is out of range`);
  }
}

/**
 * Parse and normalize an image reference exactly as docker's ParseNormalizedNamed and containerd do.
 * Errors name the part that is wrong.
 */
export function parseReference(input: string, opts: ParseReferenceOptions = {}): ImageReference {
  if (typeof input !== 'string') throw new InvalidReferenceError(String(input), 'not a string');
  const s = input;
  if (s.length === 0) throw new InvalidReferenceError(s, 'empty');
  if (s.trim() !== s) throw new InvalidReferenceError(s, 'has leading or trailing white space');
  if (/\s/.test(s)) throw new InvalidReferenceError(s, 'contains white space');
  if (HEX64.test(s)) {
    throw new InvalidReferenceError(s, 'a bare 64-character hex string is an image ID, not a repository name', {
      hint: 'use name@sha256:<hex> to pin a digest',
    });
  }

  // Digest: everything after the first '@'.
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!d) throw new InvalidReferenceError(s, 'empty digest after "@"');
    try {
      digest = parseDigest(d).digest;
    } catch (e) {
      throw new InvalidReferenceError(s, `digest "${d}" is invalid: ${(e as Error).message.replace(/^invalid digest "[^"]*": /, '')}`, { cause: e });
    }
    if (!rest) throw new InvalidReferenceError(s, 'no repository name before "@"');
  }

  // Domain: the first component, if it looks like a host (has '.' or ':', is localhost, or has capitals).
  let domain = DOCKER_HUB;
  let remainder = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first) {
      validateDomain(s, first);
      domain = first === 'index.docker.io' ? DOCKER_HUB : first;
      remainder = rest.slice(slash + 1);
    }
  }

  // Tag: after the last ':' in the remainder (the domain, which may hold a port, is already split off).
  let tag: string | undefined;
  const colon = remainder.lastIndexOf(':');
  if (colon >= 0) {
    tag = remainder.slice(colon + 1);
    remainder = remainder.slice(0, colon);
    if (!tag) throw new InvalidReferenceError(s, 'empty tag after ":"');
    if (!TAG.test(tag)) {
      throw new InvalidReferenceError(s, `tag "${tag}" is invalid: up to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`);
    }
  }

  if (!remainder) throw new InvalidReferenceError(s, 'repository name is empty');
  if (remainder.toLowerCase() !== remainder) {
    throw new InvalidReferenceError(s, `repository name "${remainder}" must be lowercase`);
  }
  for (const part of remainder.split('/')) {
    if (!part) throw new InvalidReferenceError(s, `repository name "${remainder}" has an empty path component`);
    if (!PATH_COMPONENT.test(part)) {
      throw new InvalidReferenceError(
        s,
        `repository path component "${part}" is invalid: lowercase letters and digits, separated by ".", "_", "__" or "-"`,
      );
    }
  }
  if (domain === DOCKER_HUB && !remainder.includes('/')) remainder = `library/${remainder}`;
  if (domain.length + 1 + remainder.length > NAME_TOTAL_MAX) {
    throw new InvalidReferenceError(s, `name is longer than ${NAME_TOTAL_MAX} characters`);
  }
  if (!tag && !digest && opts.defaultTag !== false) tag = 'latest';
  return new ImageReference(domain, remainder, tag, digest);
}

/** True when parseReference would accept the input. */
export function isReference(input: string): boolean {
  try {
    parseReference(input);
    return true;
  } catch {
    return false;
  }
}
