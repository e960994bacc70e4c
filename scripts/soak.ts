/**
 * The reliability soak: pack and load through a fault-injecting proxy (every fault type mixed, at a
 * seeded rate), then kill -9 at random moments during pack and load, many times each. Prints the
 * figures as Markdown and, with --write-docs, puts them into docs/reliability.md.
 *
 *   npm run soak                      # 20 kill trials each, 12 fault runs each
 *   npm run soak -- --trials 50 --fault-runs 30 --rate 0.1 --write-docs
 *
 * Runs itself inside `unshare -n` (needs root), like the test suite: nothing leaves the machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { assertIsolatedNetwork, generateImages, seedRegistry, startRegistry } from './lab/index.js';
import { FAULT_TYPES, startFaultProxy, zeroCounts, type FaultType } from '../test/reliability/fault-proxy.js';
import { auditRegistry, runCli, sha256File } from '../test/reliability/harness.js';
import { loadCrashTrial, packCrashTrial } from '../test/reliability/trials.js';

const LOAD_FAULTS: FaultType[] = ['reset', 'http-500', 'http-502', 'http-503', 'throttle-429', 'stall'];

const { values: flags } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    'fault-runs': { type: 'string', default: '12' },
    rate: { type: 'string', default: '0.1' },
    seed: { type: 'string', default: 'soak' },
    'write-docs': { type: 'boolean', default: false },
  },
});

if (!(await assertIsolatedNetwork().then(() => true, () => false))) {
  // Again, inside an empty network namespace with only lo up.
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, self, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const trials = Number(flags.trials);
const faultRuns = Number(flags['fault-runs']);
const rate = Number(flags.rate);
const log = (s: string): void => void process.stderr.write(`${s}\n`);

interface FaultFigures {
  runs: number;
  completed: number;
  failedCleanly: number;
  wrong: number;
  injected: Record<FaultType, number>;
  survived: Record<FaultType, number>;
  failures: string[];
}

const newFigures = (): FaultFigures => ({ runs: 0, completed: 0, failedCleanly: 0, wrong: 0, injected: zeroCounts(), survived: zeroCounts(), failures: [] });

const gen = await generateImages({ scale: 0.02 });
const src = await startRegistry();
const dir = await mkdtemp(join(tmpdir(), 'airgap-soak-'));
const started = Date.now();
try {
  await seedRegistry(src, gen);
  const proxy = await startFaultProxy({ upstream: src.url, seed: flags.seed!, retryAfterSeconds: 1, stallMs: 1000, maxPerUrl: 2 });
  const packArgs = ['pack', '--kubernetes', 'v1.30.14', '--platform', 'all', '--registry-mirror', `registry.k8s.io=${proxy.url}/registry.k8s.io`, '--insecure-registry', proxy.host];
  const clean = join(dir, 'clean.tar');
  const c = await runCli([...packArgs, '-o', clean]);
  if (c.exitCode !== 0) throw new Error(`clean pack failed: ${c.stderr}`);
  const want = await sha256File(clean);
  const wantTags = new Map(gen.images.map((i) => [`${i.registry}/${i.repository}:${i.tag}`, i.digest] as const));

  // 1. pack through faults
  const pack = newFigures();
  for (let i = 0; i < faultRuns; i++) {
    proxy.reset();
    proxy.configure({ rate, faults: FAULT_TYPES });
    const out = join(dir, `fault-${i}.tar`);
    const r = await runCli([...packArgs, '-o', out]);
    proxy.configure({ rate: 0 });
    pack.runs++;
    for (const t of FAULT_TYPES) pack.injected[t] += proxy.injected[t];
    const names = await readdir(dir);
    if (r.exitCode === 0 && (await sha256File(out)) === want) {
      pack.completed++;
      for (const t of FAULT_TYPES) pack.survived[t] += proxy.injected[t];
    } else if (r.exitCode === 4 && !names.includes(`fault-${i}.tar`)) {
      pack.failedCleanly++;
      pack.failures.push(r.stderr.trim().split('\n')[0]!);
    } else {
      pack.wrong++;
      pack.failures.push(`WRONG: exit ${r.exitCode}: ${r.stderr.trim()}`);
    }
    await rm(out, { force: true });
    log(`pack fault run ${i + 1}/${faultRuns}: exit ${r.exitCode}, ${FAULT_TYPES.map((t) => proxy.injected[t]).reduce((a, b) => a + b)} faults, ${r.ms} ms`);
  }

  // 2. load through faults on the node registry's side
  const load = newFigures();
  for (let i = 0; i < faultRuns; i++) {
    const node = await startRegistry();
    const front = await startFaultProxy({ upstream: node.url, seed: `${flags.seed}-load-${i}`, rate, faults: LOAD_FAULTS, retryAfterSeconds: 1, stallMs: 1000, maxPerUrl: 2 });
    try {
      const r = await runCli(['load', clean, '--registry', front.url]);
      load.runs++;
      for (const t of FAULT_TYPES) load.injected[t] += front.injected[t];
      const audit = await auditRegistry(node.url);
      const complete = audit.problems.length === 0 && [...wantTags].every(([t, d]) => audit.tags.get(t) === d);
      if (r.exitCode === 0 && complete) {
        load.completed++;
        for (const t of FAULT_TYPES) load.survived[t] += front.injected[t];
      } else if (r.exitCode === 4 && audit.problems.length === 0) {
        load.failedCleanly++;
        load.failures.push(r.stderr.trim().split('\n')[0]!);
      } else {
        load.wrong++;
        load.failures.push(`WRONG: exit ${r.exitCode}: ${r.stderr.trim()} ${audit.problems.join('; ')}`);
      }
      log(`load fault run ${i + 1}/${faultRuns}: exit ${r.exitCode}, ${LOAD_FAULTS.map((t) => front.injected[t]).reduce((a, b) => a + b)} faults, ${r.ms} ms`);
    } finally {
      await front.stop();
      await node.stop();
    }
  }
  await proxy.stop();

  // 3. kill -9 during pack and during load
  const direct = ['pack', '--kubernetes', 'v1.30.14', '--platform', 'all', '--registry-mirror', `registry.k8s.io=${src.url}/registry.k8s.io`, '--insecure-registry', src.host];
  const directBundle = join(dir, 'direct.tar');
  const d = await runCli([...direct, '-o', directBundle]);
  if (d.exitCode !== 0) throw new Error(`clean pack failed: ${d.stderr}`);
  const directWant = await sha256File(directBundle);
  const packMs = d.ms;
  const crash = { pack: { trials: 0, killed: 0, identical: 0, problems: [] as string[] }, load: { trials: 0, killed: 0, identical: 0, problems: [] as string[], consistentAtKill: 0 } };
  for (let i = 0; i < trials; i++) {
    const at = Math.round(((i + Math.random()) / trials) * packMs);
    const r = await packCrashTrial({ args: direct, out: join(dir, 'killed.tar'), want: directWant, killAfterMs: at });
    crash.pack.trials++;
    if (r.killed) crash.pack.killed++;
    if (r.identical && !r.problems.length) crash.pack.identical++;
    crash.pack.problems.push(...r.problems);
    log(`pack kill trial ${i + 1}/${trials}: kill at ${at} ms, ${r.killed ? 'killed' : 'finished first'}, ${r.problems.length ? r.problems.join('; ') : 'ok'}`);
  }
  const cleanLoad = await loadCrashTrial({ bundle: directBundle, want: wantTags, killAfterMs: 120_000, workDir: dir });
  if (cleanLoad.problems.length) throw new Error(`clean load failed: ${cleanLoad.problems.join('; ')}`);
  // Kills spread over one uninterrupted load (node start-up included).
  const loadMs = cleanLoad.firstMs;
  for (let i = 0; i < trials; i++) {
    const at = Math.round(((i + Math.random()) / trials) * loadMs);
    const r = await loadCrashTrial({ bundle: directBundle, want: wantTags, killAfterMs: at, workDir: dir });
    crash.load.trials++;
    if (r.killed) crash.load.killed++;
    if (r.identical && !r.problems.length) crash.load.identical++;
    if (!r.problems.some((p) => p.startsWith('after kill'))) crash.load.consistentAtKill++;
    crash.load.problems.push(...r.problems);
    log(`load kill trial ${i + 1}/${trials}: kill at ${at} ms, ${r.killed ? `killed (${r.manifestsAtKill} manifests served at the kill)` : 'finished first'}, ${r.problems.length ? r.problems.join('; ') : 'ok'}`);
  }

  const row = (name: string, f: FaultFigures, t: FaultType): string => `| ${name} | ${t} | ${f.injected[t]} | ${f.survived[t]} |`;
  const md = [
    `Soak of ${new Date().toISOString().slice(0, 10)}: \`npm run soak -- --trials ${trials} --fault-runs ${faultRuns} --rate ${rate} --seed ${flags.seed}\` ` +
      `(synthetic kubeadm v1.30.14 set, all platforms, ${gen.blobs.count} blobs, ${(gen.blobs.size / 1048576).toFixed(1)} MiB; ${((Date.now() - started) / 1000).toFixed(0)} s).`,
    '',
    '### Faults',
    '',
    `| command | runs | completed byte-identical | failed cleanly (exit 4, nothing under the final name) | wrong result |`,
    '|---|---|---|---|---|',
    `| pack | ${pack.runs} | ${pack.completed} | ${pack.failedCleanly} | ${pack.wrong} |`,
    `| load | ${load.runs} | ${load.completed} | ${load.failedCleanly} | ${load.wrong} |`,
    '',
    '| command | fault | injected | survived |',
    '|---|---|---|---|',
    ...FAULT_TYPES.map((t) => row('pack', pack, t)),
    ...LOAD_FAULTS.map((t) => row('load', load, t)),
    '',
    '### kill -9',
    '',
    '| command | trials | killed mid-run | re-run identical to a clean run | registry consistent right after the kill | problems |',
    '|---|---|---|---|---|---|',
    `| pack | ${crash.pack.trials} | ${crash.pack.killed} | ${crash.pack.identical} | n/a | ${crash.pack.problems.length} |`,
    `| load | ${crash.load.trials} | ${crash.load.killed} | ${crash.load.identical} | ${crash.load.consistentAtKill} | ${crash.load.problems.length} |`,
    ...(pack.failures.length || load.failures.length || crash.pack.problems.length || crash.load.problems.length
      ? ['', 'Failures and problems:', '', ...[...pack.failures, ...load.failures, ...crash.pack.problems, ...crash.load.problems].map((f) => `- ${f.replace(/\n/g, ' ')}`)]
      : []),
  ].join('\n');
  process.stdout.write(`${md}\n`);
  if (flags['write-docs']) {
    const doc = fileURLToPath(new URL('../../docs/reliability.md', import.meta.url));
    const text = await readFile(doc, 'utf8');
    const begin = '<!-- soak:begin -->';
    const end = '<!-- soak:end -->';
    if (!text.includes(begin) || !text.includes(end)) throw new Error(`${doc} lacks the ${begin} … ${end} markers`);
    await writeFile(doc, `${text.slice(0, text.indexOf(begin) + begin.length)}\n${md}\n${text.slice(text.indexOf(end))}`);
    log(`wrote the figures to ${doc}`);
  }
  const bad = pack.wrong + load.wrong + crash.pack.problems.length + crash.load.problems.length;
  process.exitCode = bad ? 1 : 0;
} finally {
  await src.stop();
  await rm(dir, { recursive: true, force: true });
}
