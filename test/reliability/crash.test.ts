import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertIsolatedNetwork, generateImages, seedRegistry, startRegistry, type GeneratedImages, type LabRegistry,
} from '../../scripts/lab/index.js';
import { runCli, sha256File } from './harness.js';
import { loadCrashTrial, packCrashTrial } from './trials.js';

/**
 * kill -9 at random moments during pack and load (a few trials; scripts/soak.ts runs 20+ each):
 * the re-run completes with the clean result, nothing wrong is ever under the final name, and the
 * node registry never serves a manifest whose blobs are missing — not even right after the kill.
 */

const isolated = await assertIsolatedNetwork().then(() => true, () => false);
const TRIALS = Number(process.env.AIRGAP_CRASH_TRIALS ?? 3);

describe('kill -9 during pack and load', { skip: isolated ? false : 'run inside unshare -n (scripts/test.sh does)' }, () => {
  let gen: GeneratedImages;
  let src: LabRegistry;
  let dir: string;
  let args: string[];
  let want: string;
  let cleanMs: number;
  let bundle: string;

  before(async () => {
    gen = await generateImages({ scale: 0.02 });
    src = await startRegistry();
    await seedRegistry(src, gen);
    dir = await mkdtemp(join(tmpdir(), 'airgap-crash-'));
    args = ['pack', '--kubernetes', 'v1.30.14', '--platform', 'all', '--registry-mirror', `registry.k8s.io=${src.url}/registry.k8s.io`, '--insecure-registry', src.host];
    bundle = join(dir, 'clean.tar');
    const clean = await runCli([...args, '-o', bundle]);
    assert.equal(clean.exitCode, 0, clean.stderr);
    cleanMs = clean.ms;
    want = await sha256File(bundle);
  });
  after(async () => {
    await src?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`pack: ${TRIALS} kills at random moments, each re-run byte-identical to a clean run`, async () => {
    let killed = 0;
    for (let i = 0; i < TRIALS; i++) {
      // Spread over the whole run: start-up, resolution, transfer, the final rename.
      const at = Math.round(((i + Math.random()) / TRIALS) * cleanMs);
      const r = await packCrashTrial({ args, out: join(dir, 'killed.tar'), want, killAfterMs: at });
      assert.deepEqual(r.problems, [], `trial ${i} (kill at ${at} ms of ${cleanMs})`);
      assert.ok(r.identical);
      if (r.killed) killed++;
    }
    assert.ok(killed > 0, 'at least one trial was killed mid-run');
  });

  it(`load: ${TRIALS} kills at random moments, the registry stays consistent and the re-run completes it`, async () => {
    const want = new Map(gen.images.map((i) => [`${i.registry}/${i.repository}:${i.tag}`, i.digest] as const));
    const clean = await loadCrashTrial({ bundle, want, killAfterMs: 60_000, workDir: dir });
    assert.deepEqual(clean.problems, []);
    let killed = 0;
    for (let i = 0; i < TRIALS; i++) {
      const at = Math.round(((i + Math.random()) / TRIALS) * clean.firstMs);
      const r = await loadCrashTrial({ bundle, want, killAfterMs: at, workDir: dir });
      assert.deepEqual(r.problems, [], `trial ${i} (kill at ${at} ms)`);
      if (r.killed) killed++;
    }
    assert.ok(killed > 0, 'at least one trial was killed mid-run');
  });
});
