/**
 * Sealos nodes: kubelet pulls through image-cri-shim (its image service endpoint), which rewrites
 * each image to the node registry named in /etc/image-cri-shim.yaml. Three ways a pull still fails
 * offline: nothing answers on the shim's socket, the registry lacks an image under the name the
 * shim asks for, or kubeadm's imageRepository names a public registry (kubeadm pulls through its
 * criSocket, not the shim).
 */
import pLimit from 'p-limit';
import { kubernetesImages } from '../../kubernetes/image-set.js';
import { registryNamespace } from '../../oci/registry-namespace.js';
import { CriClient } from '../../cri/index.js';
import { check, type CheckResult } from '../check.js';
import type { NodeCheckContext } from '../check-context.js';
import { dispatcherFor, probeManifest } from '../containerd/mirror-probe.js';
import { socketPath } from '../runtime.js';
import { isShimEndpoint, registryBaseUrl, registryHost, SEALOS_REGISTRY, type ShimConfig, type ShimConfigRead } from './shim.js';

/** What --kubeadm-config said (doctor's KubeadmFacts). */
export interface KubeadmRepositoryFacts {
  file: string;
  imageRepository?: string;
  kubernetesVersion?: string;
  error?: string;
}

/** Public registries an air-gapped node cannot reach (kubeadm's defaults and the usual sources). */
export const PUBLIC_REGISTRIES = ['registry.k8s.io', 'k8s.gcr.io', 'gcr.io', 'docker.io', 'index.docker.io', 'registry-1.docker.io', 'quay.io', 'ghcr.io', 'mcr.microsoft.com', 'public.ecr.aws', 'registry.aliyuncs.com'];

export function isPublicRegistry(host: string): boolean {
  const h = host.toLowerCase();
  return PUBLIC_REGISTRIES.includes(h) || /^registry\.[a-z0-9-]+\.aliyuncs\.com$/.test(h) || /(^|\.)gcr\.io$/.test(h);
}

/** A Sealos node for doctor: kubelet's image endpoint is the shim's socket, or the shim's config exists. */
export function isSealosNode(ctx: NodeCheckContext, shim: ShimConfigRead): boolean {
  const socket = 'config' in shim ? shim.config.shim : undefined;
  return shim.found || isShimEndpoint(ctx.runtime.imageEndpoint, socket);
}

/** Where the shim asks for an image: <registry>/<repository>:<tag> (the source registry dropped). */
export function shimName(repository: string, reference: string): string {
  return `${repository}${reference.includes(':') ? '@' : ':'}${reference}`;
}

async function checkShimSocket(ctx: NodeCheckContext, config: ShimConfig | undefined, configFile: string): Promise<CheckResult> {
  const r = ctx.runtime;
  const shimSocket = config?.shim ?? '/var/run/image-cri-shim.sock';
  const restart = 'systemctl restart image-cri-shim (journalctl -u image-cri-shim says why it stopped)';
  if (r.imageEndpoint === undefined) {
    return check('node', 'sealos.shim-socket', 'warn',
      `${configFile} configures image-cri-shim, but kubelet has no image service endpoint: kubelet pulls straight from ${r.endpoint ?? 'the runtime'}, and nothing rewrites its images to the Sealos registry`,
      `set --image-service-endpoint=unix://${shimSocket} in kubelet's kubeadm-flags.env (or imageServiceEndpoint in its config.yaml) and restart kubelet`);
  }
  const at = `${r.imageEndpoint} (kubelet's image service endpoint, from ${r.imageEndpointSource})`;
  const sock = socketPath(r.imageEndpoint);
  try {
    const v = await new CriClient(r.imageEndpoint, { timeoutMs: ctx.opts.timeoutMs ?? 5000 }).version();
    const shimOk = isShimEndpoint(r.imageEndpoint, shimSocket);
    return check('node', 'sealos.shim-socket', shimOk ? 'ok' : 'warn',
      shimOk ? `image-cri-shim answers CRI on ${at}: kubelet pulls through it (runtime behind it: ${v.runtimeName} ${v.runtimeVersion})`
        : `kubelet's image service endpoint ${r.imageEndpoint} (from ${r.imageEndpointSource}) answers CRI but is not image-cri-shim's socket ${shimSocket} (${configFile}): kubelet's pulls are not rewritten to the Sealos registry`,
      shimOk ? undefined : `point kubelet's --image-service-endpoint at unix://${shimSocket}, or fix shim in ${configFile}`,
      { endpoint: r.imageEndpoint, runtime: `${v.runtimeName} ${v.runtimeVersion}` });
  } catch (e) {
    const why = (e as Error).message;
    const state = sock !== undefined && r.imageSocketExists ? 'the socket file is there but nothing accepts on it (a stale socket: image-cri-shim stopped or crashed)'
      : sock !== undefined ? 'the socket does not exist (image-cri-shim is not running)' : 'no answer';
    return check('node', 'sealos.shim-socket', 'fail',
      `nothing answers CRI on ${at}: ${state}; kubelet pulls every image through image-cri-shim, so no image can be pulled and new pods do not start (${why})`,
      `${restart}; kubelet pulls through it, so check again once it answers (crictl --image-endpoint ${r.imageEndpoint} images)`,
      { endpoint: r.imageEndpoint, error: why });
  }
}

interface Missing { image: string; wanted: string; why: string; unanswered: boolean; airgapLayout?: boolean }

async function checkShimRegistry(ctx: NodeCheckContext, config: ShimConfig): Promise<CheckResult | undefined> {
  const b = ctx.bundle;
  if (b === undefined) return undefined;
  const reg = config.registry;
  if (reg === undefined) {
    return check('node', 'sealos.shim-registry', 'fail', `${config.file} names no registry (address): image-cri-shim rewrites nothing, every pull goes to its source registry`,
      `set address: http://${SEALOS_REGISTRY} (and auth: USER:PASSWORD) in ${config.file}, then systemctl restart image-cri-shim`);
  }
  let base: string;
  try {
    base = registryBaseUrl(reg.address);
  } catch {
    return check('node', 'sealos.shim-registry', 'fail', `${config.file}: address ${JSON.stringify(reg.address)} is not a registry address`, `set address: http://${SEALOS_REGISTRY} in ${config.file}`);
  }
  const host = registryHost(reg.address);
  const headers: Record<string, string> = reg.auth ? { authorization: `Basic ${Buffer.from(`${reg.auth.username}:${reg.auth.password}`).toString('base64')}` } : {};
  const entry = { url: base, capabilities: ['pull', 'resolve'], overridePath: false, ca: [], skipVerify: true };
  const dispatcher = await dispatcherFor(entry, ctx.opts.timeoutMs ?? 5000);
  const limit = pLimit(4);
  const missing: Missing[] = [];
  let served = 0;
  let down: string | undefined;
  try {
    await Promise.all(b.images.map((img) => limit(async () => {
      const reference = img.ref.tag ?? img.ref.digest ?? 'latest';
      const accepted = [img.descriptor.digest, img.reduced?.descriptor.digest ?? ''];
      const wanted = `${host}/${shimName(img.ref.repository, reference)}`;
      const url = (repository: string): string => `${base}/v2/${repository}/manifests/${reference}`;
      const r = await probeManifest(dispatcher, url(img.ref.repository), headers);
      if (r.status === 200 && (r.digest === undefined || accepted.includes(r.digest))) {
        served++;
        return;
      }
      if (r.error !== undefined) down ??= r.error;
      const why = r.error ?? (r.status === 200 ? `serves ${r.digest}, the bundle has ${img.descriptor.digest}`
        : r.status === 401 || r.status === 403 ? `HTTP ${r.status}: the credentials in auth are refused` : `HTTP ${r.status}`);
      // Where airgap load puts it (<registry>/<source registry>/<repository>): there, the shim does not look.
      const ns = `${registryNamespace(img.ref.registry)}/${img.ref.repository}`;
      const other = r.error === undefined ? await probeManifest(dispatcher, url(ns), headers) : undefined;
      missing.push({ image: img.name, wanted, why, unanswered: r.error !== undefined, ...(other?.status === 200 ? { airgapLayout: true } : {}) });
    })));
  } finally {
    await dispatcher.close();
  }
  const user = reg.auth ? ` (as ${reg.auth.username})` : '';
  if (missing.length === 0) {
    return check('node', 'sealos.shim-registry', 'ok', `${base}${user} serves all ${served} bundle image(s) under the names image-cri-shim asks for (${host}/<repository>:<tag>) with the bundle's digests`,
      undefined, { registry: base, images: served });
  }
  const bundle = b.path;
  const creds = reg.auth ? ` --creds ${host}=${reg.auth.username}:PASSWORD` : '';
  if (down !== undefined && missing.every((m) => m.unanswered)) {
    return check('node', 'sealos.shim-registry', 'fail', `the Sealos registry ${base} (address in ${config.file}) does not answer: ${down}; image-cri-shim passes every image on unchanged and the pulls go to the internet`,
      `start the registry (systemctl status registry; on Sealos it runs on the first master), or fix address in ${config.file}`, { registry: base, error: down });
  }
  missing.sort((x, y) => x.image.localeCompare(y.image));
  const inLayout = missing.filter((m) => m.airgapLayout);
  const list = missing.slice(0, 5).map((m) => `${m.wanted} (${m.why})`).join(', ');
  const fix = `load the bundle under the names image-cri-shim asks for: airgap load ${bundle} --registry ${base} --layout flat${creds}` +
    (inLayout.length > 0 ? ` (the images are there under their source registry, ${host}/<source registry>/<repository>, where image-cri-shim does not look)` : '');
  return check('node', 'sealos.shim-registry', 'fail',
    `${base}${user} lacks ${missing.length} of ${b.images.length} bundle image(s) under the names image-cri-shim asks for: ${list}${missing.length > 5 ? ', …' : ''}; image-cri-shim passes those on unchanged and they are pulled from the internet`,
    fix, { registry: base, missing: missing.map((m) => ({ image: m.image, wanted: m.wanted, why: m.why, ...(m.airgapLayout ? { underSourceRegistry: true } : {}) })) });
}

function checkImageRepository(ctx: NodeCheckContext, config: ShimConfig | undefined, k: KubeadmRepositoryFacts): CheckResult {
  if (k.error !== undefined) return check('node', 'sealos.image-repository', 'fail', `cannot read ${k.file}: ${k.error}`, 'pass the kubeadm configuration file with --kubeadm-config');
  let shimHost = SEALOS_REGISTRY;
  try {
    if (config?.registry) shimHost = registryHost(config.registry.address);
  } catch {
    // an unusable address is sealos.shim-registry's finding
  }
  const repo = k.imageRepository ?? 'registry.k8s.io';
  const repoHost = repo.split('/')[0]!;
  const setIt = `set imageRepository: ${shimHost} in the ClusterConfiguration of ${k.file} (kubeadm then asks ${shimHost}/kube-apiserver:<version>, where image-cri-shim finds the images too)`;
  if (isPublicRegistry(repoHost)) {
    return check('node', 'sealos.image-repository', 'fail',
      `${k.file}: imageRepository ${k.imageRepository === undefined ? `is not set (kubeadm's default ${repo})` : repo} is a public registry: kubeadm pulls its own images (the preflight of init, join and upgrade; kubeadm config images pull) through its criSocket, not through image-cri-shim, and on an air-gapped node those pulls fail`,
      setIt, { imageRepository: repo, registry: shimHost });
  }
  if (repoHost !== shimHost) {
    return check('node', 'sealos.image-repository', 'warn', `${k.file}: imageRepository ${repo} is not the Sealos registry ${shimHost}: kubeadm pulls from ${repoHost}, which must serve its images`,
      `${setIt}, unless ${repoHost} is a registry on this network that serves them`, { imageRepository: repo, registry: shimHost });
  }
  const version = ctx.kubernetes?.version;
  if (ctx.bundle === undefined || version === undefined) {
    return check('node', 'sealos.image-repository', 'ok', `${k.file}: imageRepository ${repo} is the Sealos registry`);
  }
  let wanted: string[];
  try {
    wanted = kubernetesImages(version, { imageRepository: repo }).images.map((i) => i.ref.slice(repo.length + 1));
  } catch {
    return check('node', 'sealos.image-repository', 'ok', `${k.file}: imageRepository ${repo} is the Sealos registry`);
  }
  const have = new Set(ctx.bundle.images.map((i) => shimName(i.ref.repository, i.ref.tag ?? i.ref.digest ?? 'latest')));
  const missing = wanted.filter((w) => !have.has(w));
  if (missing.length === 0) return check('node', 'sealos.image-repository', 'ok', `${k.file}: imageRepository ${repo} is the Sealos registry; every image kubeadm ${version} asks there is in the bundle`);
  return check('node', 'sealos.image-repository', 'fail',
    `${k.file}: kubeadm ${version} with imageRepository ${repo} asks for ${missing.map((m) => `${repo}/${m}`).join(', ')}, which the bundle does not hold under those names`,
    `copy them to those names in ${shimHost} (kubeadm drops coredns's "coredns/" path under a custom imageRepository), e.g. skopeo copy --all --preserve-digests docker://${shimHost}/coredns/coredns:<tag> docker://${shimHost}/coredns:<tag>`,
    { imageRepository: repo, missing });
}

/**
 * The Sealos checks, or undefined when this is not a Sealos node (kubelet's image endpoint is not
 * image-cri-shim's socket and its configuration does not exist).
 */
export async function sealosChecks(ctx: NodeCheckContext, shim: ShimConfigRead, kubeadm?: KubeadmRepositoryFacts): Promise<CheckResult[] | undefined> {
  if (!isSealosNode(ctx, shim)) return undefined;
  const out: CheckResult[] = [];
  const config = 'config' in shim ? shim.config : undefined;
  if ('error' in shim) {
    out.push(check('node', 'sealos.shim-config', 'fail', `cannot read image-cri-shim's configuration ${shim.file}: ${shim.error}`,
      `fix ${shim.file} (keys shim, cri, address, auth, registries; --shim-config names another file), then systemctl restart image-cri-shim`));
  } else if (!shim.found) {
    out.push(check('node', 'sealos.shim-config', 'warn', `kubelet pulls through image-cri-shim (${ctx.runtime.imageEndpoint}), but ${shim.file} does not exist: the registry it rewrites to is unknown`,
      `pass image-cri-shim's configuration with --shim-config FILE`));
  }
  out.push(await checkShimSocket(ctx, config, shim.file));
  if (config) {
    const reg = await checkShimRegistry(ctx, config);
    if (reg) out.push(reg);
  }
  if (kubeadm) out.push(checkImageRepository(ctx, config, kubeadm));
  return out;
}
