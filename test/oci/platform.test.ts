import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatPlatform,
  formatPlatformFull,
  formatSelection,
  InvalidPlatformError,
  normalizePlatform,
  parsePlatform,
  parsePlatformSelection,
  platformCompatible,
  platformMatches,
  selectionMatches,
  type Platform,
} from '../../src/oci/index.js';

const p = (os: string, architecture: string, variant?: string): Platform => (variant === undefined ? { os, architecture } : { os, architecture, variant });

describe('parsePlatform', () => {
  const cases: [string, Platform, string][] = [
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['linux/arm64/8', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['linux/arm64/v8.0', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['linux/arm64/v9.0', { os: 'linux', architecture: 'arm64', variant: 'v9' }, 'linux/arm64/v9'],
    ['linux/arm64/v8.2', { os: 'linux', architecture: 'arm64', variant: 'v8.2' }, 'linux/arm64/v8.2'],
    ['linux/aarch64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['linux/x86_64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/x86-64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/amd64/v1', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/amd64/v3', { os: 'linux', architecture: 'amd64', variant: 'v3' }, 'linux/amd64/v3'],
    ['linux/i386', { os: 'linux', architecture: '386' }, 'linux/386'],
    ['linux/arm', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    ['linux/arm/7', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    ['linux/arm/v6', { os: 'linux', architecture: 'arm', variant: 'v6' }, 'linux/arm/v6'],
    ['linux/arm/5', { os: 'linux', architecture: 'arm', variant: 'v5' }, 'linux/arm/v5'],
    ['linux/armhf', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    ['linux/armel', { os: 'linux', architecture: 'arm', variant: 'v6' }, 'linux/arm/v6'],
    ['linux/ppc64le', { os: 'linux', architecture: 'ppc64le' }, 'linux/ppc64le'],
    ['linux/s390x', { os: 'linux', architecture: 's390x' }, 'linux/s390x'],
    ['linux/riscv64', { os: 'linux', architecture: 'riscv64' }, 'linux/riscv64'],
    ['LINUX/AMD64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['Linux/ARM64/V8', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    [' linux/amd64 ', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['macos/arm64', { os: 'darwin', architecture: 'arm64' }, 'darwin/arm64'],
    ['windows/amd64', { os: 'windows', architecture: 'amd64' }, 'windows/amd64'],
    // a bare architecture means linux
    ['arm64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['aarch64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['amd64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['armhf', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
  ];
  for (const [input, want, formatted] of cases) {
    it(`${JSON.stringify(input)} -> ${formatted}`, () => {
      const got = parsePlatform(input);
      assert.deepEqual(got, want);
      assert.equal(formatPlatform(got), formatted);
      // the formatted form parses back to the same platform
      assert.deepEqual(parsePlatform(formatted), want);
    });
  }

  it('reads containerd\'s os(version+features) syntax', () => {
    assert.deepEqual(parsePlatform('windows(10.0.20348)/amd64'), { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348' });
    assert.deepEqual(parsePlatform('windows(10.0.17763+win32k)/amd64'), {
      os: 'windows',
      architecture: 'amd64',
      'os.version': '10.0.17763',
      'os.features': ['win32k'],
    });
    assert.deepEqual(parsePlatform('linux(+b+a+b)/amd64'), { os: 'linux', architecture: 'amd64', 'os.features': ['a', 'b'] });
    assert.deepEqual(parsePlatform('windows(10.0%2B1)/amd64')['os.version'], '10.0+1');
    assert.equal(formatPlatformFull(parsePlatform('windows(10.0.17763+win32k)/amd64')), 'windows(10.0.17763+win32k)/amd64');
    assert.equal(formatPlatformFull({ os: 'windows', architecture: 'amd64', 'os.version': '10.0+1' }), 'windows(10.0%2B1)/amd64');
    assert.equal(formatPlatform(parsePlatform('windows(10.0.17763)/amd64')), 'windows/amd64');
  });

  const bad: [string, string][] = [
    ['', 'empty'],
    ['   ', 'empty'],
    ['linux', 'no architecture given; write e.g. linux/amd64'],
    ['windows(10.0.17763)', 'no architecture given'],
    ['amd46', 'unknown architecture "amd46"'],
    ['lunix/amd64', 'unknown operating system "lunix"'],
    ['linux/amd46', 'unknown architecture "amd46"'],
    ['linux/arm64/v8/extra', '4 parts; expected os/arch[/variant]'],
    ['linux//amd64', 'has an empty component'],
    ['linux/amd64/', 'has an empty component'],
    ['/amd64', 'the operating system is empty'],
    ['linux/*', 'wildcards are not supported'],
    ['*', 'wildcards are not supported'],
    ['linux/amd 64', '"amd 64" is not a valid platform component'],
    ['li:nux/amd64', '"li:nux" is not a valid operating system'],
    ['windows(10.0%zz)/amd64', 'malformed %-escape'],
  ];
  for (const [input, fragment] of bad) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parsePlatform(input),
        (e: unknown) => {
          assert.ok(e instanceof InvalidPlatformError);
          assert.equal(e.code, 'ERR_INVALID_PLATFORM');
          assert.equal(e.kind, 'usage');
          assert.ok(e.message.includes(fragment), `${e.message} lacks ${fragment}`);
          assert.ok(e.hint);
          return true;
        },
      );
    });
  }
  it('refuses what is not a string', () => {
    assert.throws(() => parsePlatform(undefined as unknown as string), { code: 'ERR_INVALID_PLATFORM' });
  });
});

describe('normalizePlatform', () => {
  it('settles each architecture\'s default variant and aliases as containerd does', () => {
    assert.deepEqual(normalizePlatform(p('linux', 'arm64', 'v8')), p('linux', 'arm64'));
    assert.deepEqual(normalizePlatform(p('linux', 'arm64', '9')), p('linux', 'arm64', 'v9'));
    assert.deepEqual(normalizePlatform(p('linux', 'arm')), p('linux', 'arm', 'v7'));
    assert.deepEqual(normalizePlatform(p('linux', 'arm', '8')), p('linux', 'arm', 'v8'));
    assert.deepEqual(normalizePlatform(p('linux', 'i386', 'whatever')), p('linux', '386'));
    assert.deepEqual(normalizePlatform(p('linux', 'armhf', 'v6')), p('linux', 'arm', 'v7'));
    assert.deepEqual(normalizePlatform(p('Linux', 'PPC64LE')), p('linux', 'ppc64le'));
    assert.deepEqual(normalizePlatform(p('linux', 'mips64le', 'R6')), p('linux', 'mips64le', 'r6'));
  });

  it('keeps os.version and sorts and dedupes os.features', () => {
    assert.deepEqual(normalizePlatform({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.5329', 'os.features': ['win32k', 'a', 'win32k'] }), {
      os: 'windows',
      architecture: 'amd64',
      'os.version': '10.0.17763.5329',
      'os.features': ['a', 'win32k'],
    });
  });

  it('does not throw on missing or mistyped fields', () => {
    assert.deepEqual(normalizePlatform({} as Platform), { os: '', architecture: '' });
    assert.deepEqual(normalizePlatform({ os: 5, architecture: null, variant: [] } as unknown as Platform), { os: '', architecture: '' });
  });
});

describe('platformMatches (containerd NewMatcher)', () => {
  const yes: [Platform, Platform][] = [
    [p('linux', 'arm64'), p('linux', 'arm64', 'v8')],
    [p('linux', 'arm64', 'v8'), p('linux', 'arm64')],
    [p('linux', 'arm64'), p('linux', 'aarch64')],
    [p('linux', 'arm64'), p('linux', 'aarch64', 'v8')],
    [p('linux', 'amd64'), p('linux', 'x86_64')],
    [p('linux', 'amd64'), p('linux', 'amd64', 'v1')],
    [p('linux', 'arm'), p('linux', 'arm', 'v7')],
    [p('linux', 'arm', 'v7'), p('linux', 'arm')],
    [p('linux', 'arm', 'v7'), p('linux', 'armhf')],
    [p('linux', 'arm', 'v7'), p('linux', 'arm', '7')],
    [p('linux', 'arm', 'v6'), p('linux', 'armel')],
    [p('linux', '386'), p('linux', 'i386')],
    [p('linux', 'amd64'), p('Linux', 'AMD64')],
    [p('darwin', 'arm64'), p('macos', 'arm64')],
  ];
  for (const [want, have] of yes) {
    it(`${JSON.stringify(want)} matches ${JSON.stringify(have)}`, () => assert.equal(platformMatches(want, have), true));
  }
  const no: [Platform, Platform | undefined][] = [
    [p('linux', 'amd64'), p('linux', 'arm64')],
    [p('linux', 'amd64'), p('windows', 'amd64')],
    [p('linux', 'arm', 'v7'), p('linux', 'arm', 'v6')],
    [p('linux', 'arm'), p('linux', 'arm64')],
    [p('linux', 'arm64'), p('linux', 'arm64', 'v9')],
    [p('linux', 'arm64'), p('linux', 'arm64', 'v8.2')],
    [p('linux', 'amd64'), p('linux', 'amd64', 'v2')],
    [p('linux', 'amd64'), p('linux', '386')],
    [p('linux', 'amd64'), undefined],
    [p('linux', 'amd64'), p('', 'amd64')],
    [p('linux', 'amd64'), p('linux', '')],
    // attestation manifests in buildx indexes
    [p('linux', 'amd64'), p('unknown', 'unknown')],
  ];
  for (const [want, have] of no) {
    it(`${JSON.stringify(want)} does not match ${JSON.stringify(have)}`, () => assert.equal(platformMatches(want, have), false));
  }

  it('ignores a Windows image\'s os.version when the selection names none', () => {
    for (const v of ['10.0.17763.5329', '10.0.20348.2227', '10.0.26100.1', 'garbage']) {
      assert.equal(platformMatches(p('windows', 'amd64'), { os: 'windows', architecture: 'amd64', 'os.version': v }), true, v);
    }
  });

  it('applies containerd\'s Windows host/container rules when the selection names a version', () => {
    const want = (v: string): Platform => ({ os: 'windows', architecture: 'amd64', 'os.version': v });
    const have = (v: string): Platform => ({ os: 'windows', architecture: 'amd64', 'os.version': v });
    // before ltsc2022 the build must be equal
    assert.equal(platformMatches(want('10.0.17763'), have('10.0.17763.5329')), true);
    assert.equal(platformMatches(want('10.0.17763'), have('10.0.20348.2227')), false);
    // ltsc2022 runs only itself; 2025 runs 2022 and itself; newer builds never run on older hosts
    assert.equal(platformMatches(want('10.0.20348'), have('10.0.20348.1')), true);
    assert.equal(platformMatches(want('10.0.20348'), have('10.0.17763.1')), false);
    assert.equal(platformMatches(want('10.0.26100'), have('10.0.20348.1')), true);
    assert.equal(platformMatches(want('10.0.26100'), have('10.0.26100.1')), true);
    assert.equal(platformMatches(want('10.0.20348'), have('10.0.26100.1')), false);
    // an image with no version matches any; an unreadable selection version matches all
    assert.equal(platformMatches(want('10.0.17763'), p('windows', 'amd64')), true);
    assert.equal(platformMatches(want('10.0'), have('10.0.17763.1')), true);
    // the version is a Windows matter only
    assert.equal(platformMatches({ os: 'linux', architecture: 'amd64', 'os.version': '5.15' }, { os: 'linux', architecture: 'amd64', 'os.version': '6.1' }), true);
  });

  it('requires the image\'s os.features to be a subset of the selection\'s (win32k ignored on Windows)', () => {
    assert.equal(platformMatches(p('linux', 'amd64'), { os: 'linux', architecture: 'amd64', 'os.features': ['sse4'] }), false);
    assert.equal(platformMatches({ os: 'linux', architecture: 'amd64', 'os.features': ['sse4', 'x'] }, { os: 'linux', architecture: 'amd64', 'os.features': ['sse4'] }), true);
    assert.equal(platformMatches(p('windows', 'amd64'), { os: 'windows', architecture: 'amd64', 'os.features': ['win32k'] }), true);
  });
});

describe('platformCompatible (containerd platforms.Only)', () => {
  it('lets a host run the older platforms containerd would pick', () => {
    assert.equal(platformCompatible(p('linux', 'amd64'), p('linux', '386')), true);
    assert.equal(platformCompatible(p('linux', 'amd64', 'v3'), p('linux', 'amd64', 'v2')), true);
    assert.equal(platformCompatible(p('linux', 'amd64', 'v3'), p('linux', 'amd64')), true);
    assert.equal(platformCompatible(p('linux', 'amd64'), p('linux', 'amd64', 'v2')), false);
    assert.equal(platformCompatible(p('linux', 'arm64'), p('linux', 'arm', 'v7')), true);
    assert.equal(platformCompatible(p('linux', 'arm64'), p('linux', 'arm', 'v8')), true);
    assert.equal(platformCompatible(p('linux', 'arm64'), p('linux', 'arm', 'v5')), true);
    assert.equal(platformCompatible(p('linux', 'arm64', 'v8.2'), p('linux', 'arm64', 'v8.1')), true);
    assert.equal(platformCompatible(p('linux', 'arm64', 'v8.2'), p('linux', 'arm64')), true);
    assert.equal(platformCompatible(p('linux', 'arm64'), p('linux', 'arm64', 'v8.2')), false);
    assert.equal(platformCompatible(p('linux', 'arm64', 'v9.2'), p('linux', 'arm64', 'v8.7')), true);
    assert.equal(platformCompatible(p('linux', 'arm64', 'v9.2'), p('linux', 'arm64', 'v8.8')), false);
    assert.equal(platformCompatible(p('linux', 'arm', 'v7'), p('linux', 'arm', 'v6')), true);
    assert.equal(platformCompatible(p('linux', 'arm', 'v6'), p('linux', 'arm', 'v7')), false);
    assert.equal(platformCompatible(p('linux', 'arm64'), p('linux', 'amd64')), false);
    assert.equal(platformCompatible(p('linux', 'amd64'), p('linux', 'arm64')), false);
    assert.equal(platformCompatible(p('linux', 's390x'), p('linux', 's390x')), true);
  });
});

describe('parsePlatformSelection', () => {
  it('"all" selects everything, including entries without a platform', () => {
    for (const input of ['all', 'ALL', ' all ', ['all']]) {
      const sel = parsePlatformSelection(input);
      assert.deepEqual(sel, { all: true });
      assert.equal(selectionMatches(sel, p('windows', 'amd64')), true);
      assert.equal(selectionMatches(sel, undefined), true);
      assert.equal(formatSelection(sel), 'all');
    }
  });

  it('reads comma lists and repeated flags, collapsing duplicates after normalization', () => {
    const sel = parsePlatformSelection(['linux/amd64,linux/arm64/v8', 'linux/aarch64', 'linux/x86_64, linux/arm/v7']);
    assert.equal(sel.all, false);
    assert.equal(formatSelection(sel), 'linux/amd64,linux/arm64,linux/arm/v7');
    assert.equal(selectionMatches(sel, p('linux', 'arm64', 'v8')), true);
    assert.equal(selectionMatches(sel, p('linux', 'armhf')), true);
    assert.equal(selectionMatches(sel, p('linux', 'arm', 'v6')), false);
    assert.equal(selectionMatches(sel, p('linux', 's390x')), false);
    assert.equal(selectionMatches(sel, undefined), false);
  });

  it('keeps Windows versions apart', () => {
    const sel = parsePlatformSelection('windows(10.0.17763)/amd64,windows(10.0.20348)/amd64');
    assert.equal(formatSelection(sel), 'windows(10.0.17763)/amd64,windows(10.0.20348)/amd64');
    assert.equal(selectionMatches(sel, { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.1' }), true);
    assert.equal(selectionMatches(sel, { os: 'windows', architecture: 'amd64', 'os.version': '10.0.19041.1' }), false);
  });

  it('refuses empty lists, "all" mixed with others, and bad items naming them', () => {
    assert.throws(() => parsePlatformSelection(''), { code: 'ERR_INVALID_PLATFORM', message: /empty/ });
    assert.throws(() => parsePlatformSelection(' , '), { code: 'ERR_INVALID_PLATFORM', message: /empty/ });
    assert.throws(() => parsePlatformSelection([]), { code: 'ERR_INVALID_PLATFORM', message: /empty/ });
    assert.throws(() => parsePlatformSelection('all,linux/amd64'), { code: 'ERR_INVALID_PLATFORM', message: /"all" cannot be combined/ });
    assert.throws(() => parsePlatformSelection('linux/amd64,linux/amd46'), { code: 'ERR_INVALID_PLATFORM', message: /invalid platform "linux\/amd46": unknown architecture "amd46"/ });
  });
});
