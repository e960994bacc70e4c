/**
 * The lab as the integration suites set it up: a temp work dir, the lab's kubeadm v1.30.14 set,
 * a real registry (empty, or seeded as registry.k8s.io's mirror), a bundle of the set, a node's
 * containerd, and the built CLI to run against them. Each start function undoes what it started if
 * a later step fails, and its stop() undoes everything in reverse order.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { assertIsolatedNetwork, generateImages, seedRegistry, startRegistry, type GeneratedImages, type LabRegistry } from '../../scripts/lab/index.js';
import { startNodeContainerd, writeNodeConfig, type NodeConfig, type NodeContainerd } from '../node/containerd/node-containerd.js';
import { CLI } from './cli.js';
import { bundleFromLayout } from './lab-bundle.js';
import { makeTempDir } from './make-bundle.js';

/** Is this process in an empty network namespace (only lo), as containerd and pack tests need? */
export const isolated: boolean = await assertIsolatedNetwork().then(
  () => true,
  () => false,
);

/** node:test `skip` for suites that need `unshare -n` (and root, to mount and run containerd). */
export function labSkip(opts: { root?: boolean } = {}): string | false {
  if (!isolated) return 'needs an empty network namespace: run inside unshare -n (scripts/test.sh does)';
  if (opts.root && process.getuid?.() !== 0) return 'needs root';
  return false;
}

/** `airgap ARGS` from the built bundle, never throwing on a non-zero exit; plain, non-live output. */
export function runCli(args: string[], env: Record<string, string> = {}) {
  return execa('node', [CLI, ...args], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1', CI: '1', ...env } });
}

/** Runs `steps` in order; when one fails, runs `stop` (which must tolerate a partial start) and rethrows. */
async function startAll<T>(stop: () => Promise<void>, steps: () => Promise<T>): Promise<T> {
  try {
    return await steps();
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface SeededLab {
  work: string;
  gen: GeneratedImages;
  /** Serves the generated set under registry.k8s.io/… */
  upstream: LabRegistry;
  /** `--registry-mirror registry.k8s.io=… --insecure-registry …`: pack's flags to pull from upstream. */
  mirrorArgs: string[];
  stop(): Promise<void>;
}

/** A work dir and a registry seeded with the generated kubeadm set, standing in for registry.k8s.io. */
export async function startSeededLab(prefix: string, opts: { scale?: number } = {}): Promise<SeededLab> {
  const { dir: work, cleanup } = await makeTempDir(prefix);
  let upstream: LabRegistry | undefined;
  const stop = async (): Promise<void> => {
    await upstream?.stop();
    await cleanup();
  };
  return startAll(stop, async () => {
    const gen = await generateImages({ scale: opts.scale ?? 0.01 });
    upstream = await startRegistry();
    await seedRegistry(upstream, gen);
    const mirrorArgs = ['--registry-mirror', `registry.k8s.io=${upstream.url}/registry.k8s.io`, '--insecure-registry', upstream.host];
    return { work, gen, upstream, mirrorArgs, stop };
  });
}

export interface BundleLab {
  work: string;
  gen: GeneratedImages;
  /** <work>/k8s.tar: the generated set, every platform, kubeadm v1.30.14 metadata. */
  bundle: string;
  /** An empty registry: the node's registry to load into. */
  reg: LabRegistry;
  stop(): Promise<void>;
}

/** A work dir, a bundle of the generated kubeadm set, and an empty node registry. */
export async function startBundleLab(prefix: string): Promise<BundleLab> {
  const { dir: work, cleanup } = await makeTempDir(prefix);
  let reg: LabRegistry | undefined;
  const stop = async (): Promise<void> => {
    await reg?.stop();
    await cleanup();
  };
  return startAll(stop, async () => {
    const gen = await generateImages({ scale: 0.01 });
    const bundle = (await bundleFromLayout(gen.layoutDir, join(work, 'k8s.tar'), { kubernetes: { version: 'v1.30.14', distribution: 'kubeadm' } })).path;
    reg = await startRegistry();
    return { work, gen, bundle, reg, stop };
  });
}

export interface NodeLab extends BundleLab {
  /** The node's containerd config (as installed, no registry config) under <work>/node. */
  node: NodeConfig;
  ctd: NodeContainerd;
  /** <work>/node/certs.d: where `--configure-containerd` points containerd's config_path. */
  hostsDir: string;
  /** Stop the node's containerd and start it again on the same config (as after an edit); stop() stops the new one. */
  restartContainerd(logName: string): Promise<NodeContainerd>;
}

/** startBundleLab plus a node's containerd 1.6 started on a node-like config. */
export async function startNodeLab(prefix: string): Promise<NodeLab> {
  const lab = await startBundleLab(prefix);
  let ctd: NodeContainerd | undefined;
  const stop = async (): Promise<void> => {
    await ctd?.stop();
    await lab.stop();
  };
  return startAll(stop, async () => {
    await mkdir(join(lab.work, 'node'));
    const node = await writeNodeConfig(join(lab.work, 'node'));
    ctd = await startNodeContainerd(node);
    const restartContainerd = async (logName: string): Promise<NodeContainerd> => {
      await ctd?.stop();
      ctd = undefined;
      ctd = await startNodeContainerd(node, logName);
      return ctd;
    };
    return { ...lab, node, ctd, hostsDir: join(lab.work, 'node', 'certs.d'), restartContainerd, stop };
  });
}
