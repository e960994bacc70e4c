/**
 * `airgap doctor`: on a node, every reason a pull could still go to the internet or fail, each a
 * named check with a verdict and the fix. It reads and asks; it never changes anything.
 */
import { resolve } from 'node:path';
import { readBundleFacts } from '../bundle/facts.js';
import { check, type CheckResult } from '../node/check.js';
import type { ContainerdFacts, NodeCheckContext } from '../node/check-context.js';
import { checkContainerdConfig } from '../node/containerd/checks/config.js';
import { checkImages } from '../node/containerd/checks/images.js';
import { checkMirrors } from '../node/containerd/checks/mirrors.js';
import { checkSandbox } from '../node/containerd/checks/sandbox.js';
import { readConfigFacts } from '../node/containerd/config-facts.js';
import { gatherContainerdFacts } from '../node/containerd/facts.js';
import { DEFAULT_HOSTS_DIR } from '../node/containerd/plan.js';
import type { NodeDetection } from '../node/node.js';
import { DockerNode } from '../node/docker/node.js';
import { resolveNode } from '../node/resolve.js';
import { detectRuntime, socketPath, type RuntimeFacts } from '../node/runtime.js';
import { sealosChecks } from '../node/sealos/checks.js';
import { readShimConfig } from '../node/sealos/shim.js';
import { checkKubeadm, readKubeadmConfig, type KubeadmFacts } from './check-kubeadm.js';
import { checkRuntime } from './check-runtime.js';

export type { ContainerdFacts };

export interface DoctorOptions {
  /** The bundle the node should be served from (its images, registries and pause). */
  bundle?: string;
  /** auto (default: detected), kubeadm, k3s, rke2, k0s */
  distribution?: string;
  /** The file system root to find the node's files under (tests; default /). */
  root?: string;
  /** containerd's main config on a kubeadm node (default /etc/containerd/config.toml). */
  containerdConfig?: string;
  /** Where hosts.toml files are (default: containerd's config_path, else the node's). */
  hostsDir?: string;
  /** containerd's socket (default: kubelet's endpoint, else the node's). */
  address?: string;
  /** A kubeadm configuration file (ClusterConfiguration's imageRepository, kubernetesVersion). */
  kubeadmConfig?: string;
  /** The version the node runs: Kubernetes (v1.30.14) or the distribution's release (v1.30.14+k3s1). */
  kubernetes?: string;
  /** kubelet's directory (kubeadm-flags.env, config.yaml); default /var/lib/kubelet. */
  kubeletDir?: string;
  /** crictl's config (default /etc/crictl.yaml). */
  crictlConfig?: string;
  /** Sealos: image-cri-shim's configuration (default /etc/image-cri-shim.yaml). */
  shimConfig?: string;
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
  /** The kind of node the checks were chosen for, and why. */
  node?: NodeDetection;
  bundle?: { path: string; images: number; registries: string[]; pause?: string };
  checks: CheckResult[];
}

export interface DoctorContext extends NodeCheckContext {
  opts: DoctorOptions;
  kubeadm?: KubeadmFacts;
  /** cri-dockerd's command line as systemd runs it (docker nodes), and the file it came from. */
  criDockerd?: { exec?: string; file?: string };
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

  if (runtime.kind === 'docker') ctx.criDockerd = await new DockerNode(opts.root !== undefined ? { root: opts.root } : {}).effectiveExecStart();
  checks.push(...checkRuntime(ctx));
  // Sealos: kubelet pulls through image-cri-shim, which rewrites every pull to its registry; its
  // checks (sealos.*) replace the hosts.toml ones and judge kubeadm's imageRepository too.
  const sealos = await sealosChecks(ctx, await readShimConfig(opts.shimConfig), ctx.kubeadm);

  // containerd-side checks only where kubelet uses containerd (or nothing says otherwise).
  if (runtime.kind === 'containerd' || runtime.kind === 'unknown') {
    const fromKubelet = runtime.kind === 'containerd' && runtime.endpoint !== undefined ? socketPath(runtime.endpoint) : undefined;
    const { detection, node } = await resolveNode({
      ...(opts.distribution !== undefined ? { distribution: opts.distribution } : {}),
      ...(opts.root !== undefined ? { root: opts.root } : {}),
      ...((opts.address ?? fromKubelet) !== undefined ? { socket: (opts.address ?? fromKubelet)! } : {}),
      kubeadm: {
        ...(opts.containerdConfig !== undefined ? { configPath: opts.containerdConfig } : {}),
        ...(opts.hostsDir !== undefined ? { hostsDir: opts.hostsDir } : {}),
      },
      // The release the node runs: --kubernetes, or the bundle's when it was packed for this distribution.
      ...(opts.kubernetes !== undefined ? { release: { version: opts.kubernetes, source: '--kubernetes' } }
        : ctx.bundle?.kubernetes && ctx.bundle.kubernetes.distribution !== 'kubeadm' ? { release: { version: ctx.bundle.kubernetes.version, source: 'the bundle' } } : {}),
    });
    ctx.node = detection;
    ctx.nodeKind = node;
    if (ctx.kubernetes && opts.kubernetes !== undefined) ctx.kubernetes.distribution = detection.distribution;
    const found = detection.evidence.filter((e) => !e.startsWith('--distribution')).slice(0, 4).join('; ');
    checks.push(check('node', 'node.kind', 'ok',
      `${node.title} node (${detection.source === 'given' ? 'as --distribution says' : detection.source === 'default' ? 'assumed' : 'detected'}${found ? `: ${found}` : ''})`,
      undefined, { distribution: detection.distribution, source: detection.source, evidence: detection.evidence }));

    const address = opts.address ?? fromKubelet ?? node.containerdSocket;
    ctx.containerd = await gatherContainerdFacts(address, {
      ...(opts.ctr ? { ctr: opts.ctr } : {}),
      ...(node.ctrFallback ? { ctrFallback: node.ctrFallback } : {}),
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    const c = ctx.containerd;
    if (c.reachable) {
      checks.push(check('containerd', 'containerd.reachable', 'ok', `containerd ${c.version?.raw ?? '(version unknown)'} answers on ${address}`));
    } else {
      checks.push(check('containerd', 'containerd.reachable', 'fail', `containerd does not answer on ${address}: ${c.error ?? 'no answer'}`,
        node.distribution === 'kubeadm' ? 'start containerd (systemctl start containerd) or pass its socket with --address; the image checks need it'
          : `start ${node.title} (it runs containerd on ${node.containerdSocket}) or pass the socket with --address; the image checks need it`));
    }
    ctx.config = await readConfigFacts(resolve(node.containerdConfig), c.version);
    const configured = (c.running?.configPath || ctx.config.registryConfigPath?.value || '').split(':').find((d) => d !== '');
    ctx.hostsDir = resolve(opts.hostsDir ?? configured ?? (await node.hostsDir()));
    // k3s, RKE2 and k0s write containerd's configuration themselves: their own files are checked instead.
    if (node.distribution === 'kubeadm') checks.push(...checkContainerdConfig(ctx));
    checks.push(...(await node.checks(ctx)));
    checks.push(...checkSandbox(ctx));
    if (sealos) {
      checks.push(check('mirrors', 'mirrors.image-cri-shim', 'ok', 'image-cri-shim rewrites every pull to its registry (sealos.shim-registry): containerd\'s hosts.toml mirrors are not in the path'));
    } else checks.push(...(await checkMirrors(ctx)));
    checks.push(...(await checkImages(ctx)));
  } else if (runtime.kind === 'cri-o') {
    // CRI-O reads its own files (registries.conf(.d), crio.conf(.d)): its checks replace containerd's.
    const { detection, node } = await resolveNode({
      runtime: { kind: 'cri-o', source: 'detected', evidence: `kubelet uses CRI-O (${runtime.endpoint ?? ''}, from ${runtime.source})` },
      ...(opts.root !== undefined ? { root: opts.root } : {}),
    });
    ctx.nodeKind = node;
    ctx.node = detection;
    checks.push(check('node', 'node.kind', 'ok', `CRI-O node (kubelet's runtime endpoint ${runtime.endpoint ?? ''}, from ${runtime.source})`, undefined,
      { distribution: 'kubeadm', runtime: 'cri-o', source: 'detected', evidence: ctx.node.evidence }));
    checks.push(...(await node.checks(ctx)));
  } else {
    checks.push(...(await checkImages(ctx)));
  }
  if (sealos) checks.push(...sealos);
  if (ctx.kubeadm && !sealos) checks.push(...checkKubeadm(ctx));

  const summary = summarize(checks);
  return {
    schemaVersion: 1,
    ok: summary.fail === 0,
    summary,
    runtime,
    ...(ctx.node ? { node: ctx.node } : {}),
    ...(ctx.bundle
      ? { bundle: { path: ctx.bundle.path, images: ctx.bundle.images.length, registries: ctx.bundle.registries, ...(ctx.bundle.pause ? { pause: ctx.bundle.pause.name } : {}) } }
      : {}),
    checks,
  };
}
