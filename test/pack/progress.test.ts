import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import { createPackReporter } from '../../src/cli/progress.js';
import { formatBytes, formatDuration, RateMeter } from '../../src/cli/progress-format.js';
import type { PackEvent } from '../../src/pack/events.js';
import { defaultOutputName } from '../../src/pack/pack.js';
import { parsePlatformSelection } from '../../src/oci/platform.js';
import { CLI } from '../helpers/cli.js';

const EVENTS: PackEvent[] = [
  { event: 'start', kubernetes: { version: 'v1.30.14', distribution: 'kubeadm', requested: 'v1.30.14', exact: true }, platforms: 'linux/amd64', defaultPlatform: true, images: 1, output: 'k8s.tar' },
  { event: 'resolving', ref: 'registry.k8s.io/pause:3.9' },
  { event: 'resolved', ref: 'registry.k8s.io/pause:3.9', role: 'pause', digest: 'sha256:aa', mediaType: 'x', platforms: ['linux/amd64'], layers: 1, bytes: 3000, pinned: false },
  { event: 'plan', images: 1, blobs: 4, layers: 1, bytes: 3000, bytesWithoutDedup: 3000, toFetch: 2000, resumedBytes: 0, resumedBlobs: 0, bundleSize: 8192, dryRun: false },
  { event: 'blob-start', digest: 'sha256:bb', size: 2000, offset: 0, images: ['registry.k8s.io/pause:3.9'] },
  { event: 'blob-progress', digest: 'sha256:bb', bytes: 2000 },
  { event: 'blob-done', digest: 'sha256:bb', size: 2000, fetched: 2000, resumedFrom: 0 },
  { event: 'image-done', ref: 'registry.k8s.io/pause:3.9', digest: 'sha256:aa', platforms: ['linux/amd64'], bytes: 3000, blobs: 4 },
  { event: 'summary', images: 1, platforms: 'linux/amd64', blobs: 4, bytes: 3000, savedByDedup: 0, fetched: 2000, resumedBytes: 0, bundleSize: 8192, output: 'k8s.tar', seconds: 0.5, dryRun: false },
];

function render(mode: 'json' | 'lines'): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const r = createPackReporter(mode, out);
  for (const e of EVENTS) r.onEvent(e);
  r.stop();
  return text;
}

describe('pack progress', () => {
  it('--json writes one event per line, without the per-chunk progress', () => {
    const lines = render('json').trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    assert.deepEqual(lines.map((l) => l.event), EVENTS.filter((e) => e.event !== 'blob-progress').map((e) => e.event));
  });

  it('off a terminal: the platform default said, a line per image, and a summary', () => {
    const text = render('lines');
    assert.match(text, /platform linux\/amd64 \(the default; choose with --platform, or --platform all\)/);
    assert.match(text, /^✓ registry\.k8s\.io\/pause:3\.9 {2}linux\/amd64/m);
    assert.match(text, /Packed 1 image \(linux\/amd64\) into k8s\.tar/);
    assert.match(text, /4 unique blobs, 2\.93 KiB; dedup saved 0 B/);
    assert.doesNotMatch(text, /\x1b\[/, 'no terminal escapes');
  });

  it('formats numbers for people', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(350 * 1024 * 1024), '350 MiB');
    assert.equal(formatDuration(4.21), '4.2s');
    assert.equal(formatDuration(65), '1m05s');
    assert.equal(formatDuration(7384), '2h03m');
    let t = 0;
    const m = new RateMeter(5000, () => t);
    m.add(0);
    t = 1000;
    m.add(1024 * 1024);
    assert.equal(Math.round(m.rate()), 1024 * 1024);
  });

  it('names the default bundle for the version and platforms', () => {
    assert.equal(defaultOutputName('v1.30.14', parsePlatformSelection('linux/amd64')), 'airgap-k8s-v1.30.14-linux-amd64.tar');
    assert.equal(defaultOutputName('v1.30.14', parsePlatformSelection('all')), 'airgap-k8s-v1.30.14-all.tar');
    assert.equal(defaultOutputName(undefined, parsePlatformSelection('linux/amd64,linux/arm64/v8')), 'airgap-images-linux-amd64_linux-arm64.tar');
  });
});

describe('airgap pack flags', () => {
  const run = (args: string[]) => execa(process.execPath, [CLI, 'pack', ...args], { reject: false });

  it('refuses bad flags with exit 2 before any work', async () => {
    for (const args of [
      ['--kubernetes', 'v1.30.14', '--concurrency', '0'],
      ['--kubernetes', 'v1.30.14', '--platform', 'linux/amd64/v9/x'],
      ['--kubernetes', 'v1.30.14', '--limit-rate', 'fast'],
      ['--kubernetes', 'v1.30.14', '--image', 'Not A Ref'],
      [],
    ]) {
      const r = await run([...args, '--dry-run', '-o', '/nonexistent/x.tar']);
      assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^airgap: error: /m);
    }
  });

  it('has --help with examples', async () => {
    const r = await run(['--help']);
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /--registry-mirror <src=url>/);
    assert.match(r.stdout, /Examples:/);
  });
});
