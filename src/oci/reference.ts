import { parseDigest, type Digest } from './digest.js';
import { InvalidDigestError, InvalidReferenceError } from './errors.js';
import { show } from './show.js';

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's old name; docker canonicalizes it to docker.io. */
const LEGACY_DOCKER_HUB = 'index.docker.io';
/** distribution/reference v0.6 limits the repository path (domain excluded) to 255 characters. */
const REPOSITORY_MAX = 255;
const TAG_MAX = 128;

const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HEX64 = /^[a-f0-9]{64}$/;
/** docker's ipv6address: compressed or full hex groups only; no zone (%eth0), no embedded IPv4. */
const IPV6_BODY = /^[a-fA-F0-9:]+$/;

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
    const problem = tagProblem(tag);
    if (problem) throw new InvalidReferenceError(`${this.name}:${tag}`, problem);
    return new ImageReference(this.registry, this.repository, tag, this.digest);
  }

  withDigest(digest: string): ImageReference {
    return new ImageReference(this.registry, this.repository, this.tag, parseDigest(digest).digest);
  }

  withoutDigest(): ImageReference {
    return new ImageReference(this.registry, this.repository, this.tag ?? 'latest');
  }

  /**
   * docker's ParseDockerRef, the name containerd's CRI stores and looks images up by: with both a
   * tag and a digest only the digest is kept (`nginx:1.25@sha256:…` -> `docker.io/library/nginx@sha256:…`);
   * a bare name gets `:latest`.
   */
  dockerRef(): ImageReference {
    if (this.digest) return new ImageReference(this.registry, this.repository, undefined, this.digest);
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

/** Why a tag is invalid, or undefined when it is fine. */
function tagProblem(tag: string): string | undefined {
  if (typeof tag !== 'string' || tag.length === 0) return 'empty tag after ":"';
  if (tag.length > TAG_MAX) return `tag ${show(tag, 40)} is ${tag.length} characters, over the limit of ${TAG_MAX}`;
  if (!TAG.test(tag)) {
    return `tag ${show(tag)} is invalid: letters, digits, "_", "." and "-" only, not starting with "." or "-"`;
  }
  return undefined;
}

/** Why a registry host[:port] is invalid, or undefined when it is fine (docker's domainAndPort). */
function domainProblem(domain: string): string | undefined {
  let host = domain;
  let port: string | undefined;
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']');
    if (close < 0) return `registry host ${show(domain)} has an unclosed "[" (IPv6 addresses are written [2001:db8::1]:5000)`;
    host = domain.slice(0, close + 1);
    const body = domain.slice(1, close);
    const rest = domain.slice(close + 1);
    if (body.includes('%')) return `registry host ${show(host)} has an IPv6 zone identifier, which image references do not allow`;
    if (body.includes('.')) return `registry host ${show(host)} embeds an IPv4 address, which image references do not allow; write the IPv6 address in hex`;
    if (!IPV6_BODY.test(body)) return `registry host ${show(host)} is not a valid IPv6 address`;
    if (rest) {
      if (!rest.startsWith(':')) return `registry host ${show(domain)} has ${show(rest)} after the IPv6 address; expected ":port"`;
      port = rest.slice(1);
    }
  } else {
    const c = domain.indexOf(':');
    if (c >= 0) {
      host = domain.slice(0, c);
      port = domain.slice(c + 1);
      if (port.includes(':') && /^[a-fA-F0-9:]*$/.test(domain)) {
        return `registry host ${show(domain)} looks like an IPv6 address; write it in brackets, e.g. [${domain}]:5000`;
      }
    }
    if (!host) return `registry host ${show(domain)} has no host name before the port`;
    for (const part of host.split('.')) {
      if (!part) return `registry host ${show(host)} has an empty component (a leading, trailing or doubled ".")`;
      if (!DOMAIN_COMPONENT.test(part)) {
        return `registry host ${show(host)} has an invalid component ${show(part)}: letters, digits and "-", not starting or ending with "-"`;
      }
    }
  }
  if (port !== undefined) {
    if (port === '') return `registry ${show(domain)} has ":" but no port number after it`;
    if (!/^[0-9]+$/.test(port)) return `registry port ${show(port)} in ${show(domain)} is not a number`;
    // docker accepts any digits; a port above 65535 can never be reached, so say so now.
    if (Number(port) > 65535) return `registry port ${port} in ${show(domain)} is out of range (1-65535)`;
  }
  return undefined;
}

/** Why a repository path is invalid, or undefined when it is fine (docker's remoteName). */
function pathProblem(path: string): string | undefined {
  if (!path) return 'repository name is empty';
  if (path.toLowerCase() !== path) return `repository name ${show(path)} must be lowercase`;
  if (path.startsWith('/')) return `repository name ${show(path)} starts with "/"`;
  if (path.endsWith('/')) return `repository name ${show(path)} ends with "/"`;
  for (const part of path.split('/')) {
    if (!part) return `repository name ${show(path)} has an empty path component ("//")`;
    if (!PATH_COMPONENT.test(part)) {
      return `repository path component ${show(part)} is invalid: lowercase letters and digits, separated by one ".", one or two "_", or any number of "-"`;
    }
  }
  return undefined;
}

/**
 * docker's splitDockerDomain: the part before the first "/" is a registry host when it is
 * "localhost", contains "." or ":", or has capitals (namespaces cannot); otherwise the whole name
 * is a Docker Hub repository. Returns undefined for the domain when none is written.
 */
function splitDomain(name: string): { domain: string | undefined; remainder: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: undefined, remainder: name };
  const first = name.slice(0, slash);
  if (first === 'localhost' || /[.:]/.test(first) || first.toLowerCase() !== first) {
    return { domain: first, remainder: name.slice(slash + 1) };
  }
  return { domain: undefined, remainder: name };
}

/**
 * Parse and normalize an image reference exactly as docker's ParseNormalizedNamed (and so
 * containerd's CRI and ctr) do: `nginx` is `docker.io/library/nginx:latest`,
 * `index.docker.io/x/y` is `docker.io/x/y`, `localhost:5000/a` keeps its registry, `foo:5000` is
 * Docker Hub's library/foo with tag 5000. Tag and digest together are kept. Errors name the part
 * that is wrong.
 */
export function parseReference(input: string, opts: ParseReferenceOptions = {}): ImageReference {
  if (typeof input !== 'string') throw new InvalidReferenceError(String(input), `not a string but ${show(input)}`);
  const s = input;
  if (s.length === 0) throw new InvalidReferenceError(s, 'empty');
  if (s.trim() !== s) throw new InvalidReferenceError(s, 'has leading or trailing white space');
  if (/\s/.test(s)) throw new InvalidReferenceError(s, 'contains white space');
  if (HEX64.test(s)) {
    throw new InvalidReferenceError(s, 'a bare 64-character hex string is an image ID, not a repository name', {
      hint: 'use name@sha256:<hex> to pin a digest',
    });
  }
  if (s.includes('://')) {
    throw new InvalidReferenceError(s, `${show(s.slice(0, s.indexOf('://') + 3))} is a URL scheme; image references have none`, {
      hint: 'drop the scheme: registry.example.com/repo:tag (plain-HTTP registries are configured, not written in the reference)',
    });
  }

  // Reading order: [domain/]path[:tag][@digest]. A digest has no "/" and a tag no ":" or "@", so
  // the first "@" ends the name and tag, and, after the domain, the first ":" starts the tag.
  const at = s.indexOf('@');
  const nameAndTag = at >= 0 ? s.slice(0, at) : s;
  const digestText = at >= 0 ? s.slice(at + 1) : undefined;
  if (digestText?.includes('/')) {
    // "user:password@registry/repo": never echo what may be a password.
    throw new InvalidReferenceError(`***@${digestText}`, '"@" may only introduce a digest at the end; credentials do not belong in an image reference', {
      hint: 'write registry/repository[:tag][@sha256:<hex>] and give credentials through the login options',
    });
  }
  if (!nameAndTag) throw new InvalidReferenceError(s, 'no repository name before "@"');

  const { domain: written, remainder } = splitDomain(nameAndTag);
  if (written === undefined && nameAndTag.startsWith('[')) {
    throw new InvalidReferenceError(s, `registry ${show(nameAndTag)} is not followed by a repository`, {
      hint: 'write registry/repository[:tag], e.g. [2001:db8::1]:5000/pause:3.9',
    });
  }
  if (written !== undefined) {
    const problem = domainProblem(written);
    if (problem) throw new InvalidReferenceError(s, problem);
  }

  const colon = remainder.indexOf(':');
  let path = colon >= 0 ? remainder.slice(0, colon) : remainder;
  let tag = colon >= 0 ? remainder.slice(colon + 1) : undefined;

  const problem = pathProblem(path);
  if (problem) throw new InvalidReferenceError(s, problem);
  if (tag !== undefined) {
    const tp = tagProblem(tag);
    if (tp) throw new InvalidReferenceError(s, tp);
  }

  let digest: Digest | undefined;
  if (digestText !== undefined) {
    if (!digestText) throw new InvalidReferenceError(s, 'empty digest after "@"');
    try {
      digest = parseDigest(digestText).digest;
    } catch (e) {
      const why = e instanceof InvalidDigestError ? String(e.details.reason) : (e as Error).message;
      throw new InvalidReferenceError(s, `digest ${show(digestText, 140)} is invalid: ${why}`, { cause: e });
    }
  }

  let domain = written ?? DOCKER_HUB;
  if (domain === LEGACY_DOCKER_HUB) domain = DOCKER_HUB;
  // Official images live under library/ on Docker Hub, and only there.
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (path.length > REPOSITORY_MAX) {
    throw new InvalidReferenceError(s, `repository name ${show(path, 40)} is ${path.length} characters, over the limit of ${REPOSITORY_MAX}`);
  }
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) tag = 'latest';
  return new ImageReference(domain, path, tag, digest);
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

/** Do two references name the same image once normalized (pause:3.9 = docker.io/library/pause:3.9)? Non-references only equal themselves. */
export function sameReference(a: string, b: string): boolean {
  if (a === b) return true;
  if (!isReference(a) || !isReference(b)) return false;
  return parseReference(a).toString() === parseReference(b).toString();
}
