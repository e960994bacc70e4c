import { InvalidPlatformError } from './errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** What the user asked for: every platform, or an explicit list. */
export type PlatformSelection = { all: true } | { all: false; platforms: Platform[] };

const PART = /^[a-z0-9_.-]+$/;

/**
 * Normalize as containerd does (platforms.Normalize): aliases to canonical names, the default
 * variant of each architecture made explicit or dropped, so equal platforms compare equal.
 */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  if (os === 'macos') os = 'darwin';
  let arch = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (arch) {
    case 'i386':
      arch = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  const out: Platform = { os, architecture: arch };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  return out;
}

/** Parse "os/arch[/variant]" (or a bare arch, meaning linux), e.g. linux/arm64/v8. */
export function parsePlatform(input: string): Platform {
  const s = input.trim();
  if (!s) throw new InvalidPlatformError(input, 'empty');
  const parts = s.split('/');
  if (parts.length > 3) throw new InvalidPlatformError(input, 'too many parts; expected os/arch[/variant]');
  for (const part of parts) {
    if (!PART.test(part.toLowerCase())) {
      throw new InvalidPlatformError(input, `"${part}" is not a valid platform component`);
    }
  }
  let p: Platform;
  if (parts.length === 1) {
    // A bare architecture ("arm64") means linux, as containerd's platforms.Parse does for known archs.
    const known = ['amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64', 'x86_64', 'aarch64', 'armhf', 'armel', 'i386', 'mips64le', 'loong64'];
    if (!known.includes(parts[0]!.toLowerCase())) {
      throw new InvalidPlatformError(input, 'expected os/arch, e.g. linux/amd64');
    }
    p = { os: 'linux', architecture: parts[0]! };
  } else {
    p = { os: parts[0]!, architecture: parts[1]! };
    if (parts[2]) p.variant = parts[2];
  }
  const known = ['linux', 'windows', 'darwin', 'macos', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'plan9', 'js', 'wasip1', 'android', 'ios'];
  if (!known.includes(p.os.toLowerCase())) {
    throw new InvalidPlatformError(input, `unknown operating system "${p.os}"`);
  }
  return normalizePlatform(p);
}

/** "all" or a comma-separated list; duplicates (after normalization) collapse. */
export function parsePlatformSelection(input: string | string[]): PlatformSelection {
  const items = (Array.isArray(input) ? input : [input]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new InvalidPlatformError(String(input), 'empty');
  if (items.some((s) => s.toLowerCase() === 'all')) {
    if (items.length > 1) throw new InvalidPlatformError(items.join(','), '"all" cannot be combined with other platforms');
    return { all: true };
  }
  const seen = new Map<string, Platform>();
  for (const item of items) {
    const p = parsePlatform(item);
    seen.set(formatPlatform(p), p);
  }
  return { all: false, platforms: [...seen.values()] };
}

export function formatPlatform(p: Platform): string {
  const n = normalizePlatform(p);
  return [n.os, n.architecture, n.variant].filter(Boolean).join('/');
}

/**
 * containerd's platform matcher: equal after normalization (arm64 "" == "v8", arm "" == "v7", aliases).
 * The os.version of Windows images is not compared, as containerd only prefers, never requires it.
 */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have || !have.os || !have.architecture) return false;
  const a = normalizePlatform(want);
  const b = normalizePlatform(have);
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

export function selectionMatches(sel: PlatformSelection, have: Platform | undefined): boolean {
  if (sel.all) return true;
  return sel.platforms.some((p) => platformMatches(p, have));
}

export function formatSelection(sel: PlatformSelection): string {
  return sel.all ? 'all' : sel.platforms.map(formatPlatform).join(',');
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };
