#!/usr/bin/env node
/**
 * The test lab from the command line, for the demo and benchmarks:
 *   node dist/scripts/lab/cli.js up [--auth none|basic|token] [--tls] [--scale N] [--platforms a,b]
 *     starts a registry, seeds the kubeadm v1.30.14 set, prints one JSON line, runs until SIGTERM/SIGINT
 *   node dist/scripts/lab/cli.js generate --scale N --out DIR
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { generateImages, type GeneratedImages } from './generate.js';
import { startRegistry, type RegistryAuth } from './registry.js';
import { seedRegistry } from './seed.js';

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError('must be a number > 0');
  return n;
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

function imagesSummary(gen: GeneratedImages) {
  return gen.images.map((i) => ({
    ref: i.ref,
    digest: i.digest,
    mediaType: i.mediaType,
    platforms: i.platforms.map((p) => ({ platform: p.platform, digest: p.digest })),
  }));
}

const program = new Command('airgap-lab').description('test lab: real registry, containerd, synthetic Kubernetes images');

program
  .command('up')
  .description('start a registry seeded with the kubeadm v1.30.14 set; print one JSON line; stop on SIGTERM/SIGINT')
  .addOption(new Option('--auth <mode>', 'registry auth').choices(['none', 'basic', 'token']).default('none'))
  .option('--tls', 'serve HTTPS with a generated CA', false)
  .option('--scale <n>', '1 ≈ 350 MiB of unique blobs', positiveNumber, 0.01)
  .option('--platforms <list>', 'comma-separated platforms', list, ['linux/amd64', 'linux/arm64'])
  .option('--seed <s>', 'content seed', 'airgap-lab')
  .option('--prefix <p>', 'repository path prefix in the registry', '')
  .option('--anonymous-pull', 'token mode: anonymous clients may pull', false)
  .action(async (o: { auth: RegistryAuth; tls: boolean; scale: number; platforms: string[]; seed: string; prefix: string; anonymousPull: boolean }) => {
    const gen = await generateImages({ scale: o.scale, platforms: o.platforms, seed: o.seed });
    const reg = await startRegistry({ auth: o.auth, tls: o.tls, anonymousPull: o.anonymousPull });
    let stopping = false;
    const shutdown = (): void => {
      if (stopping) return;
      stopping = true;
      reg.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    try {
      await seedRegistry(reg, gen, { prefix: o.prefix });
    } catch (err) {
      await reg.stop();
      throw err;
    }
    const out: Record<string, unknown> = { url: reg.url, host: reg.host, pid: reg.pid, auth: reg.auth, tls: reg.tls };
    if (reg.caFile) out.caFile = reg.caFile;
    if (reg.username !== undefined) out.username = reg.username;
    if (reg.password !== undefined) out.password = reg.password;
    if (reg.tokenServer) out.tokenUrl = reg.tokenServer.url;
    out.prefix = o.prefix;
    out.layoutDir = gen.layoutDir;
    out.blobs = gen.blobs;
    out.images = imagesSummary(gen);
    process.stdout.write(JSON.stringify(out) + '\n');
    // Stay up until a signal; the registry child is unref'd, so hold the loop open ourselves.
    setInterval(() => {
      if (!stopping && reg.pid && !isAlive(reg.pid)) {
        process.stderr.write(`registry (pid ${reg.pid}) exited; see ${reg.logFile}\n`);
        process.exit(1);
      }
    }, 1000);
  });

program
  .command('generate')
  .description('write the synthetic kubeadm v1.30.14 set as an OCI layout directory')
  .option('--scale <n>', '1 ≈ 350 MiB of unique blobs', positiveNumber, 0.01)
  .option('--platforms <list>', 'comma-separated platforms', list, ['linux/amd64', 'linux/arm64'])
  .option('--seed <s>', 'content seed', 'airgap-lab')
  .requiredOption('--out <dir>', 'output directory (must not exist)')
  .action(async (o: { scale: number; platforms: string[]; seed: string; out: string }) => {
    const gen = await generateImages({ scale: o.scale, platforms: o.platforms, seed: o.seed, outDir: o.out });
    process.stdout.write(JSON.stringify({ layoutDir: gen.layoutDir, blobs: gen.blobs, images: imagesSummary(gen) }) + '\n');
  });

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`airgap-lab: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
