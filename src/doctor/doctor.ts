/**
 * `airgap doctor`: on a node, every reason a pull could still go to the internet or fail, each a
 * named check with a verdict and the fix. It reads and asks; it never changes anything.
 */
import { resolve } from 'node:path';
import { CriClient } from '../cri/index.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_HOSTS_DIR } from '../load/containerd/plan.js';
import { Ctr, findCtr, type CtrImage } from '../load/ctr.js';
import { parseVersionString, type ContainerdVersion } from '../load/containerd/version.js';
import { readBundleFacts, type BundleFacts } from './bundle-facts.js';
import { check, type CheckResult } from './check.js';
import { checkContainerdConfig } from './check-config.js';
import { checkImages } from './check-images.js';
import { checkKubeadm, readKubeadmConfig, type KubeadmFacts } from './check-kubeadm.js';
import { checkMirrors } from './check-mirrors.js';
import { checkRuntime } from './check-runtime.js';
import { checkSandbox } from './check-sandbox.js';
import { readConfigFacts, type ConfigFacts } from './config-facts.js';
import { runningSettings } from './running-settings.js';
import { detectRuntime, socketPath, type RuntimeFacts } from './runtime.js';

export interface DoctorOptions {
  /** The bundle the node should be served from (its images, registries and pause). */
  bundle?: string;
  /** containerd's main config (default /etc/containerd/config.toml). */
  containerdConfig?: string;
  /** Where hosts.toml files are (default: containerd's config_path, else /etc/containerd/certs.d). */
  hostsDir?: string;
  /** containerd's socket (default: kubelet's endpoint, else the usual sockets). */
  address?: string;
  /** A kubeadm configuration file (ClusterConfiguration's imageRepository, kubernetesVersion). */
  kubeadmConfig?: string;
  /** The Kubernetes version the node runs (default: the kubeadm config's, else the bundle's). */
  kubernetes?: string;
  /** kubelet's directory (kubeadm-flags.env, config.yaml); default /var/lib/kubelet. */
  kubeletDir?: string;
  /** crictl's config (default /etc/crictl.yaml). */
  crictlConfig?: string;
  /** The ctr to run, e.g. ["k3s", "ctr"]. */
  ctr?: string[];
  namespace?: string;
  /** Per network/daemon request (default 5000 ms). */
  timeoutMs?: number;
}

export interface DoctorReport {
  schemaVersion: 1;
  ok: boolean;
  summary: { ok: number; warn: number; fail: number };
  runtime: RuntimeFacts;
  bundle?: { path: string; images: number; registries: string[]; pause?: string };
  checks: CheckResult[];
}

/** What the running containerd told us. */
export interface ContainerdFacts {
  address: string;
  reachable: boolean;
  error?: string;
  version?: ContainerdVersion;
  /** Settings the running CRI plugin uses (undefined: CRI did not answer). */
  running?: { sandboxImage?: string; configPath?: string };
  criError?: string;
  images?: CtrImage[];
  imagesError?: string;
}

export interface DoctorContext {
  opts: DoctorOptions;
  runtime: RuntimeFacts;
  bundle?: BundleFacts;
  containerd?: ContainerdFacts;
  config?: ConfigFacts;
  hostsDir: string;
  kubeadm?: KubeadmFacts;
  /** The Kubernetes version to judge the pause image by, and where it came from. */
  kubernetes?: { version: string; distribution: string; source: string };
}

async function containerdFacts(address: string, opts: DoctorOptions): Promise<ContainerdFacts> {
  const out: ContainerdFacts = { address, reachable: false };
  let ctr: Ctr;
  try {
    ctr = new Ctr(await findCtr(address, opts.ctr), address, opts.namespace ?? 'k8s.io');
    const raw = await ctr.serverVersion();
    out.reachable = true;
    const v = parseVersionString(raw, 'ctr version');
    if (v) out.version = v;
  } catch (e) {
    out.error = (e as Error).message;
    return out;
  }
  try {
    const cri = new CriClient(address, { timeoutMs: opts.timeoutMs ?? 5000 });
    out.running = runningSettings((await cri.status({ verbose: true })).info);
  } catch (e) {
    out.criError = (e as Error).message;
  }
  try {
    out.images = await ctr.images();
  } catch (e) {
    out.imagesError = (e as Error).message;
  }
  return out;
}

function summarize(checks: CheckResult[]): DoctorReport['summary'] {
  const s = { ok: 0, warn: 0, fail: 0 };
  for (const c of checks) s[c.status]++;
  return s;
}

export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  const runtime = await detectRuntime({
    ...(opts.kubeletDir !== undefined ? { kubeletDir: opts.kubeletDir } : {}),
    ...(opts.crictlConfig !== undefined ? { crictlConfig: opts.crictlConfig } : {}),
    ...(opts.address !== undefined ? { address: opts.address } : {}),
  });
  const ctx: DoctorContext = { opts, runtime, hostsDir: resolve(opts.hostsDir ?? DEFAULT_HOSTS_DIR) };

  if (opts.bundle !== undefined) {
    try {
      ctx.bundle = await readBundleFacts(opts.bundle);
    } catch (e) {
      checks.push(check('images', 'bundle.read', 'fail', `cannot read the bundle ${opts.bundle}: ${(e as Error).message}`,
        'pass the bundle airgap pack made (airgap verify BUNDLE says what is wrong with it)'));
    }
  }
  if (opts.kubeadmConfig !== undefined) ctx.kubeadm = await readKubeadmConfig(opts.kubeadmConfig);
  const k8s = opts.kubernetes ?? ctx.kubeadm?.kubernetesVersion;
  if (k8s !== undefined) ctx.kubernetes = { version: k8s, distribution: 'kubeadm', source: opts.kubernetes !== undefined ? '--kubernetes' : opts.kubeadmConfig! };
  else if (ctx.bundle?.kubernetes) ctx.kubernetes = { ...ctx.bundle.kubernetes, source: 'the bundle' };

  checks.push(...checkRuntime(ctx));

  // containerd-side checks only where kubelet uses containerd (or nothing says otherwise).
  if (runtime.kind === 'containerd' || runtime.kind === 'unknown') {
    const fromKubelet = runtime.kind === 'containerd' && runtime.endpoint !== undefined ? socketPath(runtime.endpoint) : undefined;
    const address = opts.address ?? fromKubelet ?? '/run/containerd/containerd.sock';
    ctx.containerd = await containerdFacts(address, opts);
    const c = ctx.containerd;
    if (c.reachable) {
      checks.push(check('containerd', 'containerd.reachable', 'ok', `containerd ${c.version?.raw ?? '(version unknown)'} answers on ${address}`));
    } else {
      checks.push(check('containerd', 'containerd.reachable', 'fail', `containerd does not answer on ${address}: ${c.error ?? 'no answer'}`,
        `start containerd (systemctl start containerd) or pass its socket with --address; the image checks need it`));
    }
    ctx.config = await readConfigFacts(resolve(opts.containerdConfig ?? DEFAULT_CONFIG_PATH), c.version);
    const configured = (c.running?.configPath || ctx.config.registryConfigPath?.value || '').split(':').find((d) => d !== '');
    ctx.hostsDir = resolve(opts.hostsDir ?? configured ?? DEFAULT_HOSTS_DIR);
    checks.push(...checkContainerdConfig(ctx));
    checks.push(...checkSandbox(ctx));
    checks.push(...(await checkMirrors(ctx)));
    checks.push(...(await checkImages(ctx)));
  } else {
    checks.push(...(await checkImages(ctx)));
  }
  if (ctx.kubeadm) checks.push(...checkKubeadm(ctx));

  const summary = summarize(checks);
  return {
    schemaVersion: 1,
    ok: summary.fail === 0,
    summary,
    runtime,
    ...(ctx.bundle
      ? { bundle: { path: ctx.bundle.path, images: ctx.bundle.images.length, registries: ctx.bundle.registries, ...(ctx.bundle.pause ? { pause: ctx.bundle.pause.name } : {}) } }
      : {}),
    checks,
  };
}
