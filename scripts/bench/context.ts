import { execa } from 'execa';
import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateImages, seedRegistry, startRegistry, type GeneratedImages, type LabRegistry } from '../lab/index.js';
import type { BenchOptions } from './options.js';

/** Where a suite works, logs, and finds the CLI. */
export interface BenchContext {
  opts: BenchOptions;
  /** the repository root */
  root: string;
  /** a scratch directory for bundles, layouts and downloads */
  work: string;
  /** every command's output is appended here */
  logFile: string;
  /** the built CLI */
  cli: string;
  say(line: string): void;
}

/** A synthetic Kubernetes set at one scale, pushed into a lab registry standing in for registry.k8s.io. */
export interface BenchSet {
  scale: number;
  gen: GeneratedImages;
  reg: LabRegistry;
  dir: string;
  /** every blob once: manifests and indexes by the manifests endpoint, configs and layers by blobs */
  unique: Array<{ url: string; digest: string; size: number; manifest: boolean }>;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export async function prepareSet(ctx: BenchContext, scale: number): Promise<BenchSet> {
  const t0 = Date.now();
  const gen = await generateImages({ scale });
  ctx.say(`  set at scale ${scale}: ${gen.images.length} images, ${gen.blobs.count} blobs, ${(gen.blobs.size / 2 ** 20).toFixed(0)} MiB (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const t1 = Date.now();
  const reg = await startRegistry();
  await seedRegistry(reg, gen);
  // The seeding's writeback (GiBs at scale 4) would otherwise compete with the first timed runs.
  await execa('sync');
  ctx.say(`  seeded ${reg.url} (${((Date.now() - t1) / 1000).toFixed(1)} s)`);
  const dir = join(ctx.work, `scale-${scale}`);
  await mkdir(dir, { recursive: true });

  const unique = new Map<string, BenchSet['unique'][number]>();
  const add = (repo: string, digest: string, size: number, manifest: boolean): void => {
    if (unique.has(digest)) return;
    unique.set(digest, { url: `${reg.url}/v2/${repo}/${manifest ? 'manifests' : 'blobs'}/${digest}`, digest, size, manifest });
  };
  for (const img of gen.images) {
    const repo = `${img.registry}/${img.repository}`;
    add(repo, img.digest, img.size, true);
    for (const p of img.platforms) {
      add(repo, p.digest, p.size, true);
      add(repo, p.config.digest, p.config.size, false);
      for (const l of p.layers) add(repo, l.digest, l.size, false);
    }
  }
  return { scale, gen, reg, dir, unique: [...unique.values()] };
}

/** The flags that make `airgap pack` fetch the set from the lab registry. */
export function packArgs(set: BenchSet, out: string): string[] {
  return ['pack', '--kubernetes', 'v1.30.14', '--platform', 'all', '--registry-mirror', `registry.k8s.io=${set.reg.url}/registry.k8s.io`,
    '--insecure-registry', set.reg.host, '--json', '-o', out];
}

/**
 * skopeo's blob-info cache remembers where a blob was pushed before and turns the next push into a
 * cross-repository mount: a repeated run would time the cache, not the copy.
 */
export async function clearSkopeoCache(): Promise<void> {
  await Promise.all([
    rm('/var/lib/containers/cache/blob-info-cache-v1.boltdb', { force: true }),
    rm(join(homedir(), '.local', 'share', 'containers', 'cache'), { recursive: true, force: true }),
  ]);
}

export function repoRoot(): string {
  // dist/scripts/bench/context.js -> the repository root
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}
