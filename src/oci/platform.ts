import { InvalidPlatformError } from './errors.js';
import { show } from './show.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** What the user asked for: every platform, or an explicit list. */
export type PlatformSelection = { all: true } | { all: false; platforms: Platform[] };

/** containerd's platform specifier component grammar. */
const PART = /^[A-Za-z0-9_.-]+$/;
/** containerd's first component: os[(version[+feature]...)] */
const OS_PART = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$/;

/** containerd's isKnownOS (Go's syslist), plus wasip1. */
const KNOWN_OS = new Set([
  'aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd',
  'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos',
]);
/** containerd's isKnownArch, after normalization (so aliases such as x86_64 and aarch64 pass). */
const KNOWN_ARCH = new Set([
  '386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'ppc64', 'ppc64le', 'loong64', 'mips', 'mipsle',
  'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64',
  'wasm',
]);

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** containerd's normalizeArch: aliases to canonical names; each architecture's default variant settled. */
function normalizeArch(architecture: string, variant: string): [string, string] {
  let arch = architecture.toLowerCase();
  let v = variant.toLowerCase();
  switch (arch) {
    case 'i386':
      arch = '386';
      v = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (v === 'v1') v = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (v === '8' || v === 'v8' || v === 'v8.0') v = '';
      else if (v === '9' || v === '9.0' || v === 'v9.0') v = 'v9';
      break;
    case 'armhf':
      arch = 'arm';
      v = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      v = 'v6';
      break;
    case 'arm':
      if (v === '' || v === '7') v = 'v7';
      else if (v === '5' || v === '6' || v === '8') v = `v${v}`;
      break;
  }
  return [arch, v];
}

/**
 * Normalize as containerd does (platforms.Normalize): aliases to canonical names, each
 * architecture's default variant settled (arm64 v8 -> none, arm none -> v7, amd64 v1 -> none),
 * os.features sorted without duplicates, so equal platforms compare equal.
 */
export function normalizePlatform(p: Platform): Platform {
  let os = str(p.os).toLowerCase();
  if (os === 'macos') os = 'darwin';
  const [architecture, variant] = normalizeArch(str(p.architecture), str(p.variant));
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  const osVersion = str(p['os.version']);
  if (osVersion) out['os.version'] = osVersion;
  const features = Array.isArray(p['os.features']) ? p['os.features'].filter((f) => typeof f === 'string' && f) : [];
  if (features.length > 0) out['os.features'] = [...new Set(features)].sort();
  return out;
}

function decodeOption(input: string, value: string): string {
  try {
    return value.includes('%') ? decodeURIComponent(value) : value;
  } catch {
    throw new InvalidPlatformError(input, `${show(value)} has a malformed %-escape`);
  }
}

/**
 * Parse a platform as containerd's platforms.Parse does: `os[(os.version[+feature...])]/arch[/variant]`,
 * e.g. linux/arm64/v8 or windows(10.0.20348)/amd64. Case and aliases are normalized (x86_64,
 * aarch64, armhf). A bare architecture means linux: the nodes this tool serves run Linux, where
 * containerd would take the host's OS. A bare OS is refused because the architecture would be a
 * guess. Unknown operating systems and architectures are refused to catch typos.
 */
export function parsePlatform(input: string): Platform {
  if (typeof input !== 'string') throw new InvalidPlatformError(String(input), `not a string but ${show(input)}`);
  const s = input.trim();
  if (!s) throw new InvalidPlatformError(input, 'empty');
  if (s.includes('*')) throw new InvalidPlatformError(input, 'wildcards are not supported; list the platforms, or use "all"');
  const parts = s.split('/');
  if (parts.length > 3) throw new InvalidPlatformError(input, `${parts.length} parts; expected os/arch[/variant]`);
  const osMatch = OS_PART.exec(parts[0]!);
  if (!osMatch) {
    throw new InvalidPlatformError(input, parts[0] ? `${show(parts[0])} is not a valid operating system` : 'the operating system is empty');
  }
  for (const part of parts.slice(1)) {
    if (!part) throw new InvalidPlatformError(input, 'has an empty component');
    if (!PART.test(part)) throw new InvalidPlatformError(input, `${show(part)} is not a valid platform component`);
  }

  let p: Platform;
  if (parts.length === 1) {
    const word = osMatch[1]!;
    const [arch] = normalizeArch(word, '');
    if (KNOWN_ARCH.has(arch) && osMatch[2] === undefined) {
      p = { os: 'linux', architecture: word };
    } else if (KNOWN_OS.has(word.toLowerCase()) || word.toLowerCase() === 'macos') {
      throw new InvalidPlatformError(input, `no architecture given; write e.g. ${word.toLowerCase()}/amd64 or ${word.toLowerCase()}/arm64`);
    } else {
      throw new InvalidPlatformError(input, `unknown architecture ${show(word)}; expected os/arch, e.g. linux/amd64`);
    }
  } else {
    p = { os: osMatch[1]!, architecture: parts[1]! };
    if (parts[2]) p.variant = parts[2];
    const version = decodeOption(input, osMatch[2] ?? '');
    if (version) p['os.version'] = version;
    if (osMatch[3]) p['os.features'] = osMatch[3].slice(1).split('+').map((f) => decodeOption(input, f));
  }
  const n = normalizePlatform(p);
  if (!KNOWN_OS.has(n.os)) throw new InvalidPlatformError(input, `unknown operating system ${show(p.os)}`);
  if (!KNOWN_ARCH.has(n.architecture)) {
    throw new InvalidPlatformError(input, `unknown architecture ${show(p.architecture)} (e.g. amd64, arm64, arm, ppc64le, s390x, riscv64)`);
  }
  return n;
}

/** "all" or a comma-separated list (or several); duplicates (after normalization) collapse. */
export function parsePlatformSelection(input: string | string[]): PlatformSelection {
  const items = (Array.isArray(input) ? input : [input])
    .flatMap((s) => String(s).split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new InvalidPlatformError(String(input), 'empty');
  if (items.some((s) => s.toLowerCase() === 'all')) {
    if (items.length > 1) throw new InvalidPlatformError(items.join(','), '"all" cannot be combined with other platforms');
    return { all: true };
  }
  const seen = new Map<string, Platform>();
  for (const item of items) {
    const p = parsePlatform(item);
    seen.set(formatPlatformFull(p), p);
  }
  return { all: false, platforms: [...seen.values()] };
}

/** os/arch[/variant], normalized: linux/amd64, linux/arm64, linux/arm/v7. */
export function formatPlatform(p: Platform): string {
  const n = normalizePlatform(p);
  return [n.os, n.architecture, n.variant].filter(Boolean).join('/');
}

function encodeOption(v: string): string {
  return v.replace(/[%+()/]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** containerd's FormatAll: formatPlatform plus the os.version and features, windows(10.0.20348)/amd64. */
export function formatPlatformFull(p: Platform): string {
  const n = normalizePlatform(p);
  const version = n['os.version'] ? encodeOption(n['os.version']) : '';
  const features = (n['os.features'] ?? []).map(encodeOption).join('+');
  const os = version || features ? `${n.os}(${version}${features ? `+${features}` : ''})` : n.os;
  return [os, n.architecture, n.variant].filter(Boolean).join('/');
}

/** major.minor.build of a Windows os.version, or undefined when it has fewer parts or is not numeric. */
function windowsVersion(v: string | undefined): { major: number; minor: number; build: number } | undefined {
  if (!v) return undefined;
  const parts = v.split('.');
  if (parts.length < 3) return undefined;
  const [major, minor, build] = parts.slice(0, 3).map((x) => (/^[0-9]+$/.test(x) ? Number(x) : NaN)) as [number, number, number];
  if (!(major <= 255 && minor <= 255 && build <= 65535)) return undefined;
  return { major, minor, build };
}

/** Windows Server LTSC builds with a stable container ABI (containerd's compatLTSCReleases). */
const LTSC_2022 = 20348;
const COMPAT_LTSC = [20348, 26100];

/** containerd's checkWindowsHostAndContainerCompat. */
function windowsCompatible(host: string | undefined, image: string | undefined): boolean {
  const h = windowsVersion(host);
  if (!h || !image) return true;
  const c = windowsVersion(image) ?? { major: 0, minor: 0, build: 0 };
  if (h.major !== c.major || h.minor !== c.minor) return false;
  if (h.build < LTSC_2022) return h.build === c.build;
  let earliest = LTSC_2022;
  for (let i = COMPAT_LTSC.length - 1; i >= 0; i--) {
    if (h.build > COMPAT_LTSC[i]!) {
      earliest = COMPAT_LTSC[i]!;
      break;
    }
  }
  return earliest <= c.build && c.build <= h.build;
}

/**
 * containerd's platforms.NewMatcher: os, architecture and variant equal after normalization
 * (arm64 "" == "v8", arm "" == "v7", aarch64 == arm64, x86_64 == amd64, armhf == arm/v7). A Windows
 * os.version counts only when `want` names one (then containerd's host/container compatibility
 * rules apply); without it every Windows build matches. The image's os.features must be a subset of
 * want's (win32k ignored on Windows).
 */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have || typeof have !== 'object' || !str(have.os) || !str(have.architecture)) return false;
  const a = normalizePlatform(want);
  const b = normalizePlatform(have);
  if (a.os !== b.os || a.architecture !== b.architecture || (a.variant ?? '') !== (b.variant ?? '')) return false;
  if (a.os === 'windows' && !windowsCompatible(a['os.version'], b['os.version'])) return false;
  let features = b['os.features'] ?? [];
  if (a.os === 'windows') features = features.filter((f) => f !== 'win32k');
  const wanted = new Set(a['os.features'] ?? []);
  return features.every((f) => wanted.has(f));
}

const ARM64_VERSIONS: Record<string, { major: number[]; minor: number[] }> = {
  v8: { major: [8], minor: [0] },
  'v8.0': { major: [8], minor: [0] },
  v9: { major: [9, 8], minor: [0, 5] },
  'v9.0': { major: [9, 8], minor: [0, 5] },
};
for (let m = 1; m <= 9; m++) ARM64_VERSIONS[`v8.${m}`] = { major: [8], minor: [m] };
for (let m = 1; m <= 7; m++) ARM64_VERSIONS[`v9.${m}`] = { major: [9, 8], minor: [m, Math.min(m + 5, 9)] };

/** containerd's platformVector: the platforms a host runs, best first (platforms.Only). */
function compatibleVector(p: Platform): Platform[] {
  const base = { os: p.os, ...(p['os.version'] ? { 'os.version': p['os.version'] } : {}), ...(p['os.features'] ? { 'os.features': p['os.features'] } : {}) };
  const variantNumber = (v: string | undefined): number => {
    const t = (v ?? '').replace(/^v/, '');
    return /^[0-9]+$/.test(t) ? Number(t) : NaN;
  };
  switch (p.architecture) {
    case 'amd64': {
      const out: Platform[] = [p];
      const n = variantNumber(p.variant);
      for (let v = n - 1; v >= 1; v--) out.push({ ...base, architecture: 'amd64', variant: `v${v}` });
      out.push({ ...base, architecture: '386' });
      return out;
    }
    case 'arm': {
      const out: Platform[] = [p];
      const n = variantNumber(p.variant);
      for (let v = n - 1; v >= 5; v--) out.push({ ...base, architecture: 'arm', variant: `v${v}` });
      return out;
    }
    case 'arm64': {
      let variant = p.variant || 'v8';
      const out: Platform[] = [];
      const versions = ARM64_VERSIONS[variant];
      if (versions) {
        versions.major.forEach((major, i) => {
          for (let minor = versions.minor[i]!; minor >= 0; minor--) {
            out.push({ ...base, architecture: 'arm64', variant: minor === 0 ? `v${major}` : `v${major}.${minor}` });
          }
        });
      }
      if (variant.startsWith('v8') || variant.startsWith('v9')) variant = 'v8';
      return [...out, ...compatibleVector({ ...base, architecture: 'arm', variant })];
    }
    default:
      return [p];
  }
}

/**
 * Whether content for `have` runs on a `host` by containerd's default rules (platforms.Only, what
 * `ctr images import` and the CRI keep without --all-platforms): amd64 also runs 386, arm64 also
 * runs arm/v8..v5, arm/v7 also runs v6 and v5, arm64/v8.2 also runs v8.1 and v8.
 */
export function platformCompatible(host: Platform, have: Platform | undefined): boolean {
  return compatibleVector(normalizePlatform(host)).some((p) => platformMatches(p, have));
}

export function selectionMatches(sel: PlatformSelection, have: Platform | undefined): boolean {
  if (sel.all) return true;
  return sel.platforms.some((p) => platformMatches(p, have));
}

export function formatSelection(sel: PlatformSelection): string {
  return sel.all ? 'all' : sel.platforms.map(formatPlatformFull).join(',');
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/** This machine's platform as containerd names it (what `ctr import` keeps and Docker runs by default). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const architecture = arch[process.arch] ?? process.arch;
  return { os: process.platform === 'win32' ? 'windows' : process.platform, architecture, ...(architecture === 'arm' ? { variant: 'v7' } : {}) };
}
