import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle } from '../helpers/make-bundle.js';
import { runCli } from './harness.js';

/**
 * Bad command lines and input files, table-driven: each is answered with one error line that names
 * the input (and a hint), exit 2 for usage or 3 for I/O, never a stack trace. Nothing here needs
 * the network: every case fails before a registry would be asked.
 */

interface Case {
  name: string;
  args: (f: Files) => string[];
  exit: 2 | 3;
  /** the command may have printed its report or plan before meeting the bad input */
  stdoutOk?: boolean;
  /** the error line must name this (the bad input) */
  names: (f: Files) => RegExp;
  env?: Record<string, string>;
  input?: string;
}

interface Files {
  dir: string;
  bundle: string;
  text: string;
  junkList: string;
  emptyList: string;
  commentsOnly: string;
  badLock: string;
  badPem: string;
  missing: string;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const NO_REGISTRY = ['--registry-mirror', 'registry.k8s.io=http://127.0.0.1:9/registry.k8s.io'];
const PACK = (...a: string[]): string[] => ['pack', '--kubernetes', 'v1.30.14', ...NO_REGISTRY, '--dry-run', ...a];

const CASES: Case[] = [
  // Kubernetes versions and distributions
  { name: 'an unknown Kubernetes version', args: () => ['pack', '--kubernetes', 'v1.99.0', '--dry-run'], exit: 2, names: () => /v1\.99\.0/ },
  { name: 'a version that is not a version', args: () => ['pack', '--kubernetes', 'banana', '--dry-run'], exit: 2, names: () => /banana/ },
  { name: 'a version with junk after it', args: () => ['images', '--kubernetes', 'v1.30.14-rc.0;rm'], exit: 2, names: () => /v1\.30\.14-rc\.0;rm/ },
  { name: 'an unknown distribution', args: () => ['images', '--kubernetes', 'v1.30.14', '--distribution', 'openshift'], exit: 2, names: () => /openshift/ },
  { name: 'images with no version and no image', args: () => ['images'], exit: 2, names: () => /kubernetes|image/i },
  { name: 'pack with nothing to pack', args: () => ['pack', '--dry-run'], exit: 2, names: () => /kubernetes|image/i },
  // platforms
  { name: 'an unknown architecture (a typo)', args: () => PACK('--platform', 'linux/amd46'), exit: 2, names: () => /amd46/ },
  { name: 'an unknown OS', args: () => PACK('--platform', 'beos/amd64'), exit: 2, names: () => /beos/ },
  { name: 'a platform with an empty component', args: () => PACK('--platform', 'linux/amd64,linux/'), exit: 2, names: () => /linux\//i },
  { name: '"all" mixed with a platform', args: () => PACK('--platform', 'all,linux/amd64'), exit: 2, names: () => /all/ },
  { name: 'a platform with too many parts', args: () => PACK('--platform', 'linux/arm/v7/extra'), exit: 2, names: () => /linux\/arm\/v7\/extra/ },
  { name: 'verify with a bad platform', args: (f) => ['verify', f.bundle, '--platform', 'amd64/linux'], exit: 2, names: () => /amd64\/linux/ },
  // image references
  { name: 'an upper-case repository', args: () => PACK('--image', 'registry.k8s.io/Pause:3.9'), exit: 2, names: () => /Pause:3\.9/ },
  { name: 'a reference ending in ":"', args: () => PACK('--image', 'registry.k8s.io/pause:'), exit: 2, names: () => /registry\.k8s\.io\/pause:/ },
  { name: 'a short digest', args: () => PACK('--image', 'registry.k8s.io/pause@sha256:1234'), exit: 2, names: () => /sha256:1234/ },
  { name: 'an unknown digest algorithm', args: () => PACK('--image', `registry.k8s.io/pause@md5:${'a'.repeat(32)}`), exit: 2, names: () => /md5/ },
  { name: 'a reference with spaces', args: () => PACK('--image', 'registry.k8s.io/pause 3.9'), exit: 2, names: () => /pause 3\.9/ },
  { name: 'a tag too long', args: () => PACK('--image', `registry.k8s.io/pause:${'x'.repeat(129)}`), exit: 2, names: () => /pause/ },
  { name: 'a bad --image-repository', args: () => ['images', '--kubernetes', 'v1.30.14', '--image-repository', 'http://mirror.local/k8s'], exit: 2, names: () => /http:\/\/mirror\.local\/k8s/ },
  // mirrors, credentials, trust
  { name: 'a mirror without "="', args: () => ['pack', '--kubernetes', 'v1.30.14', '--registry-mirror', 'registry.k8s.io', '--dry-run'], exit: 2, names: () => /registry\.k8s\.io/ },
  { name: 'a mirror with an ftp URL', args: () => ['pack', '--kubernetes', 'v1.30.14', '--registry-mirror', 'registry.k8s.io=ftp://127.0.0.1/x', '--dry-run'], exit: 2, names: () => /ftp:\/\/127\.0\.0\.1\/x/ },
  { name: 'a mirror with no source', args: () => ['pack', '--kubernetes', 'v1.30.14', '--registry-mirror', '=http://127.0.0.1:5000', '--dry-run'], exit: 2, names: () => /=http:\/\/127\.0\.0\.1:5000|mirror/ },
  { name: 'a mirror URL that does not parse', args: () => ['pack', '--kubernetes', 'v1.30.14', '--registry-mirror', 'registry.k8s.io=http://[::1', '--dry-run'], exit: 2, names: () => /http:\/\/\[::1/ },
  { name: 'credentials without "="', args: () => PACK('--creds', 'registry.k8s.io'), exit: 2, names: () => /creds|registry\.k8s\.io/ },
  { name: 'credentials without a password', args: () => PACK('--creds', 'registry.k8s.io=user'), exit: 2, names: () => /registry\.k8s\.io/ },
  { name: 'a missing CA file', args: (f) => PACK('--ca-file', f.missing), exit: 3, names: (f) => new RegExp(esc(f.missing)) },
  { name: 'a CA file that is not PEM', args: (f) => PACK('--ca-file', f.badPem), exit: 2, names: (f) => new RegExp(esc(f.badPem)) },
  { name: 'a directory as CA file', args: (f) => PACK('--ca-file', f.dir), exit: 3, names: (f) => new RegExp(esc(f.dir)) },
  // numbers and environment
  { name: '--concurrency 0', args: () => PACK('--concurrency', '0'), exit: 2, names: () => /--concurrency "0"/ },
  { name: '--concurrency abc', args: () => PACK('--concurrency', 'abc'), exit: 2, names: () => /abc/ },
  { name: '--limit-rate 5Q', args: () => PACK('--limit-rate', '5Q'), exit: 2, names: () => /5Q/ },
  { name: 'SOURCE_DATE_EPOCH not a number', args: () => PACK(), env: { SOURCE_DATE_EPOCH: 'yesterday' }, exit: 2, names: () => /yesterday/ },
  { name: 'an unknown flag', args: () => ['pack', '--frobnicate'], exit: 2, names: () => /frobnicate/ },
  { name: 'an unknown command', args: () => ['unpack'], exit: 2, names: () => /unpack/ },
  // list files
  { name: 'a missing images file', args: (f) => PACK('--images-file', f.missing), exit: 3, names: (f) => new RegExp(esc(f.missing)) },
  { name: 'a directory as images file', args: (f) => PACK('--images-file', f.dir), exit: 3, names: (f) => new RegExp(esc(f.dir)) },
  { name: 'an images file with a junk line', args: (f) => PACK('--images-file', f.junkList), exit: 2, names: (f) => new RegExp(`${esc(f.junkList)}|not a valid`) },
  { name: 'a binary file as images file', args: (f) => PACK('--images-file', f.bundle), exit: 3, names: (f) => new RegExp(`${esc(f.bundle)}|not a valid`) },
  { name: 'an empty images file on stdin', args: () => ['images', '--images-file', '-'], input: '', exit: 2, names: () => /stdin|empty|no image/i },
  { name: 'a missing --list', args: (f) => PACK('--list', f.missing), exit: 3, names: (f) => new RegExp(esc(f.missing)) },
  { name: 'an empty --list', args: (f) => PACK('--list', f.emptyList), exit: 2, names: (f) => new RegExp(esc(f.emptyList)) },
  { name: 'a --list of comments only', args: (f) => PACK('--list', f.commentsOnly), exit: 2, names: (f) => new RegExp(esc(f.commentsOnly)) },
  { name: 'a --list with junk', args: (f) => PACK('--list', f.junkList), exit: 2, names: (f) => new RegExp(`${esc(f.junkList)}|not a valid`) },
  { name: 'a verify --list that is a directory', args: (f) => ['verify', f.bundle, '--list', f.dir], exit: 3, names: (f) => new RegExp(esc(f.dir)) },
  { name: 'a lock file that is not JSON', args: (f) => PACK('--lock', f.badLock), exit: 2, stdoutOk: true, names: (f) => new RegExp(esc(f.badLock)) },
  { name: 'a lock file that is a directory', args: (f) => PACK('--lock', f.dir), exit: 3, stdoutOk: true, names: (f) => new RegExp(esc(f.dir)) },
  // output
  { name: 'output into a missing directory', args: (f) => ['pack', '--kubernetes', 'v1.30.14', ...NO_REGISTRY, '-o', join(f.missing, 'x.tar')], exit: 3, names: (f) => new RegExp(esc(f.missing)) },
  { name: 'output onto a directory', args: (f) => ['pack', '--kubernetes', 'v1.30.14', ...NO_REGISTRY, '-o', f.dir], exit: 3, names: (f) => new RegExp(esc(f.dir)) },
  { name: 'a JUnit report into a missing directory', args: (f) => ['verify', f.bundle, '--junit', join(f.missing, 'r.xml')], exit: 3, stdoutOk: true, names: (f) => new RegExp(esc(f.missing)) },
  // bundles
  { name: 'verify a missing bundle', args: (f) => ['verify', f.missing], exit: 3, names: (f) => new RegExp(esc(f.missing)) },
  { name: 'verify a directory', args: (f) => ['verify', f.dir], exit: 3, names: (f) => new RegExp(esc(f.dir)) },
  { name: 'verify a text file', args: (f) => ['verify', f.text], exit: 3, names: (f) => new RegExp(esc(f.text)) },
  { name: 'inspect a missing bundle', args: (f) => ['inspect', f.missing], exit: 3, names: (f) => new RegExp(esc(f.missing)) },
  { name: 'serve a missing bundle', args: (f) => ['serve', f.missing, '--addr', '127.0.0.1:0'], exit: 3, names: (f) => new RegExp(esc(f.missing)) },
  { name: 'serve on a bad address', args: (f) => ['serve', f.bundle, '--addr', 'banana:port'], exit: 2, names: () => /banana:port/ },
  { name: 'serve on port 99999', args: (f) => ['serve', f.bundle, '--addr', '127.0.0.1:99999'], exit: 2, names: () => /99999/ },
  { name: 'load a missing bundle', args: (f) => ['load', f.missing, '--registry', 'http://127.0.0.1:9'], exit: 3, names: (f) => new RegExp(esc(f.missing)) },
  { name: 'load a text file', args: (f) => ['load', f.text, '--registry', 'http://127.0.0.1:9'], exit: 3, names: (f) => new RegExp(esc(f.text)) },
  // load flags
  { name: 'load with no target', args: (f) => ['load', f.bundle], exit: 2, names: () => /--registry|target/ },
  { name: 'load into an ftp registry', args: (f) => ['load', f.bundle, '--registry', 'ftp://127.0.0.1:5000'], exit: 2, names: () => /ftp:\/\/127\.0\.0\.1:5000/ },
  { name: 'load --concurrency 99', args: (f) => ['load', f.bundle, '--registry', 'http://127.0.0.1:9', '--concurrency', '99'], exit: 2, names: () => /99/ },
  { name: 'a containerd config flag without --configure-containerd', args: (f) => ['load', f.bundle, '--registry', 'http://127.0.0.1:9', '--hosts-dir', f.dir], exit: 2, names: () => /--configure-containerd/ },
];

describe('bad command lines and input files: one line, the right exit code, no stack trace', { concurrency: 4 }, () => {
  let f: Files;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airgap-bad-input-'));
    const sub = join(dir, 'a-directory');
    await mkdir(sub);
    const b = await makeBundle({ dir });
    f = {
      dir: sub,
      bundle: b.path,
      text: join(dir, 'notes.txt'),
      junkList: join(dir, 'junk.txt'),
      emptyList: join(dir, 'empty.txt'),
      commentsOnly: join(dir, 'comments.txt'),
      badLock: join(dir, 'lock.json'),
      badPem: join(dir, 'ca.pem'),
      missing: join(dir, 'no-such-file'),
    };
    await writeFile(f.text, 'these are not the images you are looking for\n'.repeat(40));
    await writeFile(f.junkList, 'registry.k8s.io/pause:3.9\n<<<not an image>>>\n');
    await writeFile(f.emptyList, '');
    await writeFile(f.commentsOnly, '# nothing here\n\n# still nothing\n');
    await writeFile(f.badLock, '{"lockVersion": 1, "images": ');
    await writeFile(f.badPem, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
  });
  after(async () => {
    if (f) await rm(join(f.dir, '..'), { recursive: true, force: true });
  });

  it(`has at least 40 cases (${CASES.length})`, () => assert.ok(CASES.length >= 40));

  for (const c of CASES) {
    it(c.name, async () => {
      const r = await runCli(c.args(f), { ...(c.env ? { env: c.env } : {}), ...(c.input !== undefined ? { input: c.input } : {}), timeoutMs: 20_000 });
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, `no stack trace:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /internal error/, r.stderr);
      assert.equal(r.exitCode, c.exit, r.stderr);
      const errorLine = lines.find((l) => /^(airgap: )?error/.test(l));
      assert.ok(errorLine, `an error line:\n${r.stderr}`);
      assert.match(errorLine, c.names(f), `the error names the input:\n${r.stderr}`);
      assert.ok(lines.length <= 3, `short (the error, a hint, maybe a pointer to --help):\n${r.stderr}`);
      if (!c.stdoutOk) assert.equal(r.stdout.trim(), '', 'nothing on stdout');
    });
  }

  it('a full disk: the verify report, written onto a full tmpfs, is exit 3 naming the file', async (t) => {
    const mnt = await mkdtemp(join(tmpdir(), 'airgap-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    } catch {
      await rm(mnt, { recursive: true, force: true });
      t.skip('cannot mount a tmpfs here (needs root)');
      return;
    }
    try {
      // Fill it to the last byte.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'fill')}`, 'bs=4k'], { stdio: 'ignore' });
      } catch {
        /* dd ends with ENOSPC, as intended */
      }
      const report = join(mnt, 'report.xml');
      const r = await runCli(['verify', f.bundle, '--junit', report]);
      assert.equal(r.exitCode, 3, r.stderr);
      assert.match(r.stderr, /no space left on device/);
      assert.match(r.stderr, new RegExp(esc(report)));
      assert.doesNotMatch(r.stderr, /^\s+at /m);
    } finally {
      execFileSync('umount', [mnt]);
      await rm(mnt, { recursive: true, force: true });
    }
  });
});
