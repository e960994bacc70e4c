#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assertIsolatedNetwork, which } from '../lab/index.js';
import { CLI } from '../../test/helpers/cli.js';
import { prepareSet, repoRoot, type BenchContext, type BenchSet } from './context.js';
import { describeMachine } from './machine.js';
import { parseOptions, USAGE, UsageError, type BenchOptions, type SuiteName } from './options.js';
import { markdown, resultsTable, targetsTable } from './report.js';
import type { Row } from './rows.js';
import { airgapPack, packOutputs, packSuite, skopeoPack } from './suites/pack.js';
import { loadRegistrySuite } from './suites/load-registry.js';
import { loadContainerdSuite } from './suites/load-containerd.js';
import { verifySuite } from './suites/verify.js';
import { serveSuite } from './suites/serve.js';
import { growthSuite, type BaseSides } from './suites/growth.js';
import { targetsOf } from './targets.js';

/**
 * `npm run bench`: airgap against skopeo, ctr, sha256sum and the distribution registry, and
 * against the raw limit of the machine, on the lab's synthetic Kubernetes set. Runs inside
 * `unshare -n` (scripts/bench.sh puts it there).
 */

async function preflight(): Promise<void> {
  if (process.getuid?.() !== 0) throw new UsageError('the benchmarks need root (containerd, unshare): sudo npm run bench');
  await assertIsolatedNetwork().catch(() => {
    throw new UsageError('run inside an empty network namespace: bash scripts/bench.sh (it uses unshare -n)');
  });
  const missing = ['skopeo', 'ctr', 'containerd', 'docker-registry', 'curl', 'sha256sum', 'openssl', 'tar', 'xargs'].filter((t) => !which(t));
  if (!existsSync('/usr/bin/time')) missing.push('time (/usr/bin/time)');
  if (missing.length) throw new UsageError(`missing tools: ${missing.join(', ')}; install them with: sudo bash scripts/lab-install.sh`);
}

async function main(): Promise<void> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(e.message ? `bench: ${e.message}\n\n${USAGE}` : USAGE);
      process.exitCode = e.message ? 2 : 0;
      return;
    }
    throw e;
  }
  await preflight();
  const root = repoRoot();
  const cli = CLI;
  if (!existsSync(cli)) throw new UsageError(`no built CLI at ${cli}: npm run build`);
  const started = Date.now();
  const machine = await describeMachine();
  const work = await mkdtemp(join(tmpdir(), 'airgap-bench-'));
  const ctx: BenchContext = {
    opts,
    root,
    work,
    logFile: join(work, 'commands.log'),
    cli,
    say: (line) => process.stdout.write(`${line}\n`),
  };
  ctx.say(`bench: scale ${opts.scale}, ${opts.reps} rep(s), suites ${opts.only.join(', ')}; work dir ${work}`);
  ctx.say(`  ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB.toFixed(1)} GiB, Node ${machine.node}, load ${machine.loadStart.map((x) => x.toFixed(2)).join(' ')}`);
  const want = (s: SuiteName): boolean => opts.only.includes(s);
  const rows: Row[] = [];
  const base: BaseSides = {};
  let set: BenchSet | undefined;
  let ok = false;
  try {
    set = await prepareSet(ctx, opts.scale);
    const out = packOutputs(set);
    if (want('pack')) {
      const r = await packSuite(ctx, set, opts.reps);
      base.pack = r[0]!.a;
      rows.push(...r);
    } else {
      // The other suites start from the bundles pack makes; made here, untimed.
      if (['load-registry', 'load-containerd', 'verify', 'serve'].some((s) => want(s as SuiteName))) await airgapPack(ctx, set)();
      if (want('load-registry')) await skopeoPack(ctx, set)();
    }
    if (want('verify')) {
      const r = await verifySuite(ctx, set, opts.reps);
      base.verify = r[0]!.a;
      rows.push(...r);
    }
    if (want('load-registry')) {
      const r = await loadRegistrySuite(ctx, set, opts.reps);
      base.load = r[0]!.a;
      rows.push(...r);
    }
    if (want('load-containerd')) rows.push(...(await loadContainerdSuite(ctx, set, opts.reps)));
    if (want('serve')) rows.push(...(await serveSuite(ctx, set, opts.reps)));
    if (want('growth')) rows.push(...(await growthSuite(ctx, set, base, Math.min(3, opts.reps))));

    machine.loadEnd = loadavg();
    const targets = targetsOf(rows);
    ctx.say(`\n${resultsTable(rows)}\n\n${targetsTable(targets)}\n`);
    if (opts.doc) {
      const notesFile = join(root, 'scripts', 'bench', 'notes.md');
      const notes = existsSync(notesFile) ? (await readFile(notesFile, 'utf8')).trim() : '(none)';
      const bundleBytes = existsSync(out.bundle) ? (await stat(out.bundle)).size : undefined;
      const doc = markdown({
        opts,
        machine,
        setSize: { images: set.gen.images.length, blobs: set.gen.blobs.count, bytes: set.gen.blobs.size, ...(bundleBytes ? { bundleBytes } : {}) },
        rows,
        targets,
        notes,
        wallSeconds: (Date.now() - started) / 1000,
      });
      const file = resolve(root, opts.doc);
      await writeFile(file, doc);
      ctx.say(`wrote ${file}`);
    }
    ok = true;
  } finally {
    await set?.reg.stop();
    if (opts.keep || !ok) ctx.say(`work dir kept: ${work} (commands.log has every command's output)`);
    else await rm(work, { recursive: true, force: true });
    ctx.say(`bench: ${((Date.now() - started) / 60000).toFixed(1)} min`);
  }
}

main().catch((e: unknown) => {
  if (e instanceof UsageError) {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
