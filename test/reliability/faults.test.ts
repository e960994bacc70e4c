import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertIsolatedNetwork, generateImages, seedRegistry, startRegistry, type GeneratedImages, type LabRegistry,
} from '../../scripts/lab/index.js';
import { describeError } from '../../src/cli/report-error.js';
import { load } from '../../src/load/load.js';
import { FAULT_TYPES, startFaultProxy, type FaultProxy, type FaultType } from './fault-proxy.js';
import { auditRegistry, runCli, sha256File } from './harness.js';

/**
 * pack and load through a proxy that injects network and registry faults (fault-proxy.ts) in
 * front of a real registry: every run either ends with exactly the bundle (or registry content)
 * of a clean run, or fails with exit 4 and leaves nothing wrong under the final name. The soak
 * (scripts/soak.ts) runs the same at length and writes the figures to docs/reliability.md.
 */

const isolated = await assertIsolatedNetwork().then(() => true, () => false);

/** Faults load meets on the destination side (no blob bodies flow back to it). */
const LOAD_FAULTS: FaultType[] = ['reset', 'http-500', 'http-502', 'http-503', 'throttle-429', 'stall'];

describe('faults between pack and the registry, and between load and the node registry', { skip: isolated ? false : 'run inside unshare -n (scripts/test.sh does)' }, () => {
  let gen: GeneratedImages;
  let src: LabRegistry;
  let proxy: FaultProxy;
  let dir: string;
  let want: string;
  let bundle: string;

  const packArgs = (out: string, via: string): string[] => [
    'pack', '--kubernetes', 'v1.30.14', '--platform', 'all', '-o', out,
    '--registry-mirror', `registry.k8s.io=${via}/registry.k8s.io`, '--insecure-registry', new URL(via).host,
  ];

  async function outputs(prefix: string): Promise<string[]> {
    return (await readdir(dir)).filter((n) => n.startsWith(prefix)).sort();
  }

  before(async () => {
    gen = await generateImages({ scale: 0.02 });
    src = await startRegistry();
    await seedRegistry(src, gen);
    dir = await mkdtemp(join(tmpdir(), 'airgap-faults-'));
    proxy = await startFaultProxy({ upstream: src.url, seed: 'faults-test', retryAfterSeconds: 1, stallMs: 800 });
    // The clean run goes through the proxy too (faults off): the bundle records where images came from.
    bundle = join(dir, 'clean.tar');
    const clean = await runCli(packArgs(bundle, proxy.url));
    assert.equal(clean.exitCode, 0, clean.stderr);
    want = await sha256File(bundle);
  });
  after(async () => {
    await proxy?.stop();
    await src?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const fault of FAULT_TYPES) {
    it(`pack survives ${fault} and writes the bundle of a clean run`, async () => {
      proxy.reset();
      // Transient: any one URL fails at most twice in a row, then is served cleanly.
      proxy.configure({ rate: 0.2, faults: [fault], maxPerUrl: 2 });
      const out = join(dir, `pack-${fault}.tar`);
      const r = await runCli(packArgs(out, proxy.url));
      proxy.configure({ rate: 0 });
      assert.ok(proxy.injected[fault] > 0, `the proxy injected ${fault} (${proxy.requests} requests)`);
      assert.equal(r.exitCode, 0, `${fault} x${proxy.injected[fault]}: ${r.stderr}`);
      assert.equal(await sha256File(out), want, 'byte-identical to the clean run');
      assert.deepEqual(await outputs(`pack-${fault}.tar`), [`pack-${fault}.tar`], 'no partial files left behind');
    });
  }

  it('pack fails with exit 4 when every blob arrives corrupted, leaves no bundle, and a later run completes', async () => {
    proxy.reset();
    proxy.configure({ rate: 1, faults: ['corrupt'], maxPerUrl: Infinity });
    const out = join(dir, 'corrupt.tar');
    const r = await runCli(packArgs(out, proxy.url));
    proxy.configure({ rate: 0 });
    assert.equal(r.exitCode, 4, r.stderr);
    assert.match(r.stderr, /^airgap: error: /m);
    assert.match(r.stderr, /does not match its digest: expected sha256:[0-9a-f]{64}/, 'names the blob');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!(await outputs('corrupt.tar')).includes('corrupt.tar'), 'nothing under the final name');
    // What the failed run kept (OUT.partial) holds no wrong bytes: the next run ends identical.
    const again = await runCli(packArgs(out, proxy.url));
    assert.equal(again.exitCode, 0, again.stderr);
    assert.equal(await sha256File(out), want);
  });

  it('pack fails with exit 4 and a clear message when the registry keeps answering 503', async () => {
    proxy.reset();
    proxy.configure({ rate: 1, faults: ['http-503'], maxPerUrl: Infinity });
    const out = join(dir, 'down.tar');
    const r = await runCli(packArgs(out, proxy.url));
    proxy.configure({ rate: 0 });
    assert.equal(r.exitCode, 4, r.stderr);
    assert.match(r.stderr, /503/);
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('airgap: error:')).length, 1);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.deepEqual((await outputs('down.tar')).filter((n) => n === 'down.tar'), []);
  });

  for (const fault of LOAD_FAULTS) {
    it(`load survives ${fault} from the node registry and leaves it complete`, async () => {
      const node = await startRegistry();
      const front = await startFaultProxy({ upstream: node.url, seed: `load-${fault}`, rate: 0.1, maxPerUrl: 2, faults: [fault], retryAfterSeconds: 1, stallMs: 800 });
      try {
        const r = await runCli(['load', bundle, '--registry', front.url, '--json']);
        assert.ok(front.injected[fault] > 0, `the proxy injected ${fault} (${front.requests} requests)`);
        assert.equal(r.exitCode, 0, `${fault} x${front.injected[fault]}: ${r.stderr}`);
        const audit = await auditRegistry(node.url);
        assert.deepEqual(audit.problems, []);
        for (const img of gen.images) assert.equal(audit.tags.get(`${img.registry}/${img.repository}:${img.tag}`), img.digest, img.ref);
      } finally {
        await front.stop();
        await node.stop();
      }
    });
  }

  it('load fails with exit 4 when the node registry keeps refusing, and serves no manifest without its blobs', async () => {
    const node = await startRegistry();
    // Only etcd's manifests are refused (503 every time): the other images land, etcd's blobs land, its tag must not.
    const front = await startFaultProxy({
      upstream: node.url, seed: 'load-down', rate: 1, faults: ['http-503'],
      eligible: (req) => req.method === 'PUT' && /\/etcd\/manifests\//.test(req.url ?? ''),
    });
    try {
      // In process with short retry pauses: the CLI's policy (5 tries, backoff to seconds) is the same code, only slower.
      const err = await load({ bundle, registry: { url: front.url, retry: { attempts: 2, baseDelayMs: 10 } } }).then(() => undefined, (e: unknown) => e);
      const d = describeError(err);
      assert.equal(d.exitCode, 4, d.message);
      assert.match(d.message, /etcd.*503/);
      assert.ok(!d.message.includes('\n'), 'one line');
      const partial = await auditRegistry(node.url);
      assert.deepEqual(partial.problems, []);
      assert.equal(partial.tags.size, gen.images.length - 1, 'every image but etcd');
      assert.ok(![...partial.tags.keys()].some((t) => t.includes('/etcd:')));
      front.configure({ rate: 0 });
      const again = await runCli(['load', bundle, '--registry', front.url]);
      assert.equal(again.exitCode, 0, again.stderr);
      const audit = await auditRegistry(node.url);
      assert.deepEqual(audit.problems, []);
      assert.equal(audit.tags.size, gen.images.length);
    } finally {
      await front.stop();
      await node.stop();
    }
  });
});
