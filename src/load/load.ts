import { openArchive } from '../archive/open.js';
import { trace } from '../trace.js';
import { AirgapError } from '../errors.js';
import type { Platform } from '../oci/platform.js';
import { RegistryClient } from '../registry/client.js';
import type { RegistryEvent } from '../registry/events.js';
import { configureNode, type ConfigPhaseResult } from './configure.js';
import { DockerNode } from '../node/docker/node.js';
import { KubeadmNode } from '../node/kubeadm/node.js';
import { resolveNode } from '../node/resolve.js';
import { detectRuntime, socketPath } from '../node/runtime.js';
import type { NodeDetection, NodeKind, Runtime } from '../node/node.js';
import { isSocket } from '../node/containerd/ctr.js';
import { placeInImagesDir, type AutoloadResult } from './autoload.js';
import { LoadFailedError, LoadUsageError } from './errors.js';
import type { LoadEvent, LoadSummary } from './events.js';
import { bundleImages, sandboxImageOf, uniqueContent, type LoadImage } from '../bundle/images.js';
import { mirrorSpecs, parseRegistryUrl } from './registry-url.js';
import { loadIntoContainerd, type ContainerdPhaseResult } from './to-containerd.js';
import { DEFAULT_DOCKER_SOCKET, loadIntoDocker, type DockerPhaseResult } from './to-docker.js';
import { loadIntoRegistry, type RegistryPhaseResult } from './to-registry.js';

/**
 * `airgap load`: the bundle's images into the node registry (under their source names), into
 * containerd (k8s.io namespace, pause pinned), and containerd configured to pull through the node
 * registry — each step skipped where the node already has it, so a re-run changes nothing and an
 * interrupted run completes.
 */

export const DEFAULT_LOAD_CONCURRENCY = 8;

export interface LoadRegistryOptions {
  /** http://127.0.0.1:5000, https://registry.local:5000/prefix, or host[:port] */
  url: string;
  /** "REGISTRY=USER:PASSWORD" */
  credentials?: string[];
  dockerConfig?: string;
  caFiles?: string[];
  /** hosts allowed over http or without TLS verification */
  insecure?: string[];
  /**
   * registry (default): <registry>/<source registry>/<repository>, the layout hosts.toml mirrors and
   * airgap serve use; flat: <registry>/<repository>, what Sealos's image-cri-shim asks for.
   */
  layout?: 'registry' | 'flat';
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
}

export interface LoadContainerdOptions {
  /** default: the first of /run/containerd/containerd.sock, k3s's, k0s's that exists */
  socket?: string;
  /** the ctr to run, e.g. ["k3s", "ctr"]; default found on PATH */
  ctr?: string[];
  namespace?: string;
  /** unpack at import (default true) */
  unpack?: boolean;
  platform?: Platform;
}

export interface LoadDockerOptions {
  /** Docker Engine's socket (default /var/run/docker.sock) */
  socket?: string;
  /** the platform to load (default this machine's) */
  platform?: Platform;
}

export interface LoadConfigureOptions {
  configPath?: string;
  hostsDir?: string;
  dropInPath?: string;
  /** the registry containerd pulls through (default the --registry URL), e.g. an `airgap serve` address */
  mirror?: string;
  /** CA (PEM) of the mirror's certificate; default the first --ca-file */
  caFile?: string;
  skipVerify?: boolean;
  containerdVersion?: string;
}

export interface LoadOptions {
  /** the bundle, any OCI layout tar or docker-archive, plain or .gz/.zst; "-" for standard input */
  bundle: string;
  /** the stream "-" names (default this process's stdin) */
  stdin?: import('node:stream').Readable;
  /** where content a stream passes before it is needed waits (default the system's temp directory) */
  tmpDir?: string;
  /** auto (default: detected from the node's files, sockets and binaries), kubeadm, k3s, rke2, k0s */
  distribution?: string;
  /**
   * The runtime kubelet uses: auto (default: kubelet's runtime endpoint, then the sockets present),
   * containerd, crio (cri-o), docker. On CRI-O, --configure writes registries.conf.d and crio.conf.d.
   */
  runtime?: string;
  /** the release the node runs (v1.30.14+k3s1), when the bundle does not say: judges its pause image */
  release?: string;
  /** also place the bundle where the distribution imports archives at every start (k3s/RKE2 agent/images, k0s images) */
  autoload?: boolean;
  /** the file system root to find the node's files under (tests; default /) */
  root?: string;
  /** for archives that name images only by tag (skopeo's "3.9"): the repository they belong to */
  baseName?: string;
  registry?: LoadRegistryOptions;
  containerd?: LoadContainerdOptions;
  configureContainerd?: LoadConfigureOptions;
  /** every image into Docker Engine's image store (a node whose kubelet uses cri-dockerd) */
  docker?: LoadDockerOptions;
  /** kubelet's directory, to learn the runtime it uses (default /var/lib/kubelet) */
  kubeletDir?: string;
  dryRun?: boolean;
  /** blobs in flight at once (default 4) */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?(e: LoadEvent): void;
  onRegistryEvent?(e: RegistryEvent): void;
}

export interface LoadResult {
  images: { name: string; digest: string; role?: string; pause: boolean; platforms: string[] }[];
  /** which kind of node was configured or imported into, and why (only when a node step ran) */
  node?: NodeDetection;
  autoload?: AutoloadResult;
  registry?: RegistryPhaseResult;
  containerd?: ContainerdPhaseResult;
  docker?: DockerPhaseResult;
  config?: ConfigPhaseResult;
  summary: LoadSummary;
}

function safe(sink: ((e: LoadEvent) => void) | undefined): (e: LoadEvent) => void {
  return (e) => {
    try {
      sink?.(e);
    } catch {
      /* an observer's bug does not fail the load */
    }
  };
}

export async function load(opts: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const emit = safe(opts.onEvent);
  const dryRun = opts.dryRun ?? false;
  if (!opts.registry && !opts.containerd && !opts.configureContainerd && !opts.autoload && !opts.docker) {
    throw new LoadUsageError('ERR_LOAD_NOTHING_TO_DO', 'nothing to load into: name a target',
      'add --registry URL (the node registry), --containerd [SOCKET], --configure-containerd and/or --autoload; or --docker [SOCKET] on a node whose kubelet uses cri-dockerd');
  }
  const mirrorUrl = opts.configureContainerd?.mirror ?? opts.registry?.url;
  const nodeRegistry = opts.registry ? { ...parseRegistryUrl(opts.registry.url), ...(opts.registry.layout === 'flat' ? { flat: true } : {}) } : undefined;
  if (opts.registry?.layout === 'flat' && opts.configureContainerd) {
    throw new LoadUsageError('ERR_LOAD_FLAT_LAYOUT', '--layout flat cannot go with --configure-containerd: a mirror configured per source registry needs the registry layout',
      'on a Sealos node image-cri-shim does the rewriting: airgap load BUNDLE --registry http://sealos.hub:5000 --layout flat --creds …; elsewhere drop --layout flat');
  }
  const mirror = mirrorUrl !== undefined ? parseRegistryUrl(mirrorUrl) : undefined;
  const concurrency = opts.concurrency ?? DEFAULT_LOAD_CONCURRENCY;

  // The node: which distribution, and which runtime its kubelet uses (never run containerd steps
  // on a cri-dockerd or CRI-O node, nor Docker steps on a containerd or CRI-O node).
  const nodeSteps = Boolean(opts.containerd || opts.configureContainerd || opts.autoload);
  const runtime = nodeSteps || opts.docker ? await refuseOtherRuntime(opts) : undefined;
  // Every runtime but Docker's pulls through a mirror; cri-dockerd only needs the pause.
  if (opts.configureContainerd && mirrorUrl === undefined && runtime?.kind !== 'docker') {
    throw new LoadUsageError('ERR_LOAD_NO_MIRROR', '--configure-containerd needs the registry containerd should pull through',
      'add --registry URL (pushes there and configures it), or --mirror URL (e.g. an airgap serve address)');
  }
  let node: NodeKind | undefined;
  let detection: NodeDetection | undefined;
  if (nodeSteps) {
    ({ node, detection } = await resolveNode({
      ...(runtime ? { runtime } : {}),
      ...(opts.distribution !== undefined ? { distribution: opts.distribution } : {}),
      ...(opts.root !== undefined ? { root: opts.root } : {}),
      ...(opts.containerd?.socket !== undefined ? { socket: opts.containerd.socket } : {}),
      ...(opts.release !== undefined ? { release: { version: opts.release, source: '--kubernetes' } } : {}),
      ...(opts.configureContainerd ? {
        kubeadm: {
          ...(opts.configureContainerd.configPath ? { configPath: opts.configureContainerd.configPath } : {}),
          ...(opts.configureContainerd.hostsDir ? { hostsDir: opts.configureContainerd.hostsDir } : {}),
          ...(opts.configureContainerd.dropInPath ? { dropInPath: opts.configureContainerd.dropInPath } : {}),
        },
      } : {}),
    }));
    if (node instanceof DockerNode && opts.configureContainerd && (await node.unit()) === undefined) throw node.missingUnitError();
    const c = opts.configureContainerd;
    if (!(node instanceof KubeadmNode) && (c?.configPath || c?.dropInPath || c?.hostsDir)) {
      throw new LoadUsageError('ERR_LOAD_FLAG_DISTRIBUTION', `--containerd-config and --hosts-dir are for kubeadm nodes with containerd; ${node.runtime === 'containerd' ? `this is a ${node.title} node` : `kubelet on this node uses ${node.title}`} (${detection.evidence[0] ?? detection.source})`,
        `drop them: on ${node.title} airgap writes ${node.configures}${node.runtime === 'containerd' ? `; or pass --distribution kubeadm if this is not a ${node.title} node` : ''}`);
    }
  }

  trace('load: start');
  if (opts.autoload && opts.bundle === '-') {
    throw new LoadUsageError('ERR_LOAD_AUTOLOAD', '--autoload places the bundle file where the node imports archives at start; standard input is no file to place',
      'save the stream to a file first, then: airgap load FILE --autoload');
  }
  const contentTargets = [nodeRegistry, opts.containerd, opts.docker].filter(Boolean).length;
  const reader = await openArchive(opts.bundle, {
    mode: 'load',
    // Read once from a stream, each blob reaches one target as it passes; a second target needs it kept.
    ...(contentTargets > 1 ? { retain: true } : {}),
    ...(opts.tmpDir ? { tmpDir: opts.tmpDir } : {}),
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
    onNotice: (message) => emit({ event: 'notice', message }),
  });
  trace('load: bundle opened (tar index)');
  for (const n of reader.docker?.notes ?? []) emit({ event: 'notice', message: n });
  let client: RegistryClient | undefined;
  try {
    const images: LoadImage[] = await bundleImages(reader, opts.baseName !== undefined ? { baseName: opts.baseName } : {});
    trace('load: images read (manifests parsed)');
    const content = uniqueContent(images);
    if (nodeRegistry?.flat) refuseFlatCollisions(images);
    const targets = [
      ...(nodeRegistry ? [`registry ${nodeRegistry.url}`] : []),
      ...(opts.containerd ? ['containerd'] : []),
      ...(opts.docker ? [`docker ${opts.docker.socket ?? DEFAULT_DOCKER_SOCKET}`] : []),
      ...(opts.configureContainerd ? [`${node && (node.distribution !== 'kubeadm' || node.runtime !== 'containerd') ? node.title : 'containerd'} configuration`] : []),
    ];
    emit({ event: 'start', bundle: opts.bundle, images: images.length, blobs: content.blobs, bytes: content.bytes, targets, dryRun });
    if (node && detection) {
      emit({ event: 'node', distribution: detection.distribution, title: node.title, source: detection.source, evidence: detection.evidence, containerdSocket: node.containerdSocket });
    }
    for (const img of images) {
      if (img.graph.absent.length > 0) {
        emit({
          event: 'notice',
          message: `${img.name}: the bundle holds ${img.graph.platforms.join(', ') || 'no platform'} of its ${img.graph.platforms.length + img.graph.absent.length} platforms`,
        });
      }
    }

    const result: LoadResult = {
      images: images.map((i) => ({ name: i.name, digest: i.descriptor.digest, ...(i.role ? { role: i.role } : {}), pause: i.pause, platforms: i.graph.platforms })),
      ...(detection ? { node: detection } : {}),
      summary: { dryRun, changed: false, seconds: 0, ...(detection ? { distribution: detection.distribution } : {}), ...(node && node.runtime !== 'containerd' ? { runtime: node.runtime } : {}) },
    };
    const failures: { image: string; target: string; error: AirgapError }[] = [];

    if (nodeRegistry && opts.registry) {
      const reg = opts.registry;
      client = new RegistryClient({
        mirrors: mirrorSpecs(nodeRegistry, images.map((i) => i.ref.registry)),
        ...(reg.credentials ? { credentials: reg.credentials } : {}),
        ...(reg.dockerConfig ? { dockerConfig: reg.dockerConfig } : {}),
        ...(reg.caFiles ? { caFiles: reg.caFiles } : {}),
        ...(reg.insecure ? { insecure: reg.insecure } : {}),
        ...(reg.retry ? { retry: reg.retry } : {}),
        ...(opts.onRegistryEvent ? { onEvent: opts.onRegistryEvent } : {}),
      });
      const r = await loadIntoRegistry({
        bundle: reader,
        images,
        client,
        registry: nodeRegistry,
        concurrency,
        dryRun,
        ...(opts.signal ? { signal: opts.signal } : {}),
        emit,
      });
      trace('load: registry phase done');
      result.registry = r;
      for (const i of r.images) if (i.error) failures.push({ image: i.image, target: `registry ${nodeRegistry.url}`, error: i.error });
      result.summary.registry = {
        url: r.url,
        images: r.images.length,
        pushed: r.images.filter((i) => i.status === 'pushed' || i.status === 'would-push').length,
        present: r.images.filter((i) => i.status === 'present').length,
        failed: r.images.filter((i) => i.status === 'failed').length,
        blobs: r.blobs,
        bytes: r.bytes,
      };
    }

    // A node whose registry did not get the images must not be pointed at it: stop here.
    if (failures.length && (opts.containerd || opts.configureContainerd)) {
      emit({ event: 'notice', message: `${node?.runtime === 'cri-o' ? 'CRI-O' : 'containerd'} was left as it is because the registry did not get every image` });
    }
    if (failures.length && opts.docker) {
      emit({ event: 'notice', message: 'Docker was left as it is because the registry did not get every image' });
    }
    if (!failures.length && opts.docker) {
      const d = opts.docker;
      const r = await loadIntoDocker({
        bundle: reader,
        images,
        ...(d.socket ? { socket: d.socket } : {}),
        ...(d.platform ? { platform: d.platform } : {}),
        dryRun,
        ...(opts.signal ? { signal: opts.signal } : {}),
        emit,
      });
      trace('load: docker phase done');
      const pause = sandboxImageOf(images);
      if (pause && !opts.configureContainerd) {
        emit({ event: 'notice', message: `cri-dockerd starts pods with the image its --pod-infra-container-image names: add --configure to make it ${pause.name} (a cri-docker.service drop-in)` });
      }
      result.docker = r;
      for (const i of r.images) if (i.error) failures.push({ image: i.image, target: `docker ${r.socket}`, error: i.error });
      result.summary.docker = {
        socket: r.socket,
        version: r.version,
        images: r.images.length,
        loaded: r.images.filter((i) => i.status === 'loaded' || i.status === 'would-load').length,
        present: r.images.filter((i) => i.status === 'present').length,
        failed: r.images.filter((i) => i.status === 'failed').length,
      };
    }
    if (!failures.length && opts.containerd) {
      const c = opts.containerd;
      // The node's own socket, unless the user named one or the node's is not there (then the usual ones are tried).
      const socket = c.socket ?? (node && (await isSocket(node.containerdSocket)) ? node.containerdSocket : undefined);
      const r = await loadIntoContainerd({
        bundle: reader,
        images,
        ...(socket ? { socket } : {}),
        ...(c.ctr ? { ctr: c.ctr } : {}),
        ...(node?.ctrFallback ? { ctrFallback: node.ctrFallback } : {}),
        ...(c.namespace ? { namespace: c.namespace } : {}),
        ...(c.unpack !== undefined ? { unpack: c.unpack } : {}),
        ...(c.platform ? { platform: c.platform } : {}),
        dryRun,
        ...(opts.signal ? { signal: opts.signal } : {}),
        emit,
      });
      result.containerd = r;
      for (const i of r.images) if (i.error) failures.push({ image: i.image, target: `containerd ${r.address}`, error: i.error });
      result.summary.containerd = {
        address: r.address,
        images: r.images.length,
        imported: r.images.filter((i) => i.status === 'imported' || i.status === 'would-import').length,
        present: r.images.filter((i) => i.status === 'present').length,
        failed: r.images.filter((i) => i.status === 'failed').length,
        pinned: r.pinned,
      };
    }

    if (failures.length && opts.configureContainerd && result.containerd) {
      emit({ event: 'notice', message: 'the containerd configuration was left as it is because not every image was imported' });
    }
    if (!failures.length && opts.configureContainerd && (mirror || node?.runtime === 'docker') && node) {
      const c = opts.configureContainerd;
      const sandbox = sandboxImageOf(images);
      const r = await configureNode({
        node,
        registries: [...new Set(images.map((i) => i.ref.registry))],
        ...(mirror ? { mirror } : {}),
        ...(sandbox ? { sandboxImage: sandbox.name } : {}),
        ...((c.caFile ?? opts.registry?.caFiles?.[0]) ? { caFile: c.caFile ?? opts.registry?.caFiles?.[0] } : {}),
        skipVerify: c.skipVerify ?? (mirror !== undefined && mirror.origin.startsWith('https:') && (opts.registry?.insecure ?? []).some((h) => h === mirror.host || h === mirror.host.replace(/:\d+$/, ''))),
        ...(c.containerdVersion ? { containerdVersion: c.containerdVersion }
          : result.containerd ? { containerdVersion: result.containerd.version } : {}),
        ...(result.containerd ? { containerdAddress: result.containerd.address } : opts.containerd?.socket ? { containerdAddress: opts.containerd.socket }
          : (await isSocket(node.containerdSocket)) ? { containerdAddress: node.containerdSocket } : {}),
        dryRun,
        emit,
      });
      result.config = r;
      result.summary.config = {
        changed: r.changed,
        unchanged: r.unchanged,
        ...(r.sandboxImage ? { sandboxImage: r.sandboxImage } : {}),
        restartNeeded: r.restartNeeded,
        restartWhat: r.restartWhat,
        restartCommand: r.restartCommand,
      };
    }

    if (!failures.length && node?.imagesDir) {
      if (opts.autoload) {
        const a = await placeInImagesDir(opts.bundle, node.imagesDir, dryRun);
        result.autoload = a;
        emit({ event: 'autoload', path: a.path, status: a.status, how: a.how, note: node.imagesDir.note });
        result.summary.autoload = { path: a.path, status: a.status };
      } else if (opts.containerd || opts.configureContainerd) {
        emit({ event: 'notice', message: `${node.imagesDir.note}: add --autoload to place this bundle there (hard-linked when on the same file system), so a wiped containerd gets the images back` });
      }
    } else if (opts.autoload && node && !node.imagesDir) {
      throw new LoadUsageError('ERR_LOAD_AUTOLOAD', `${node.title} nodes import no archives at start: --autoload has nowhere to put the bundle`,
        'drop --autoload; airgap load --containerd imports the images into containerd directly');
    }

    const s = result.summary;
    s.changed = Boolean(
      (s.registry && (s.registry.pushed > 0 || s.registry.blobs.pushed > 0 || s.registry.blobs.mounted > 0)) ||
      (s.containerd && (s.containerd.imported > 0 || s.containerd.pinned.length > 0)) ||
      (s.docker && s.docker.loaded > 0) ||
      (s.config && s.config.changed.length > 0) ||
      (s.autoload && (s.autoload.status === 'placed' || s.autoload.status === 'replaced')),
    );
    s.seconds = (Date.now() - started) / 1000;
    emit({ event: 'summary', summary: s });
    if (failures.length) throw new LoadFailedError(failures);
    return result;
  } finally {
    await client?.close().catch(() => undefined);
    await reader.close().catch(() => undefined);
  }
}

/** --runtime: auto, containerd, crio (cri-o), docker. */
export function parseRuntimeFlag(value: string | undefined): Runtime | 'auto' {
  const v = (value ?? 'auto').toLowerCase();
  if (v === 'auto') return 'auto';
  if (v === 'containerd') return 'containerd';
  if (v === 'crio' || v === 'cri-o') return 'cri-o';
  if (v === 'docker' || v === 'cri-dockerd') return 'docker';
  throw new LoadUsageError('ERR_USAGE', `unknown --runtime ${JSON.stringify(value)}`,
    'use --runtime auto (the default: kubelet\'s runtime endpoint, then the sockets present), containerd, crio or docker');
}

type RuntimeChoice = { kind: Runtime; source: 'given' | 'detected'; evidence: string };

/**
 * Never do containerd steps on a node whose kubelet uses another runtime, nor Docker steps on a
 * node whose kubelet uses containerd (a KubeKey install once ran cri-dockerd steps on a containerd
 * node, and the reverse is as wrong): kubelet would not see a single image. Returns the runtime
 * when it is not containerd's (--runtime, or kubelet's files): the node to configure follows it.
 */
async function refuseOtherRuntime(opts: LoadOptions): Promise<RuntimeChoice | undefined> {
  const containerdSteps = [
    ...(opts.containerd ? ['--containerd'] : []),
    ...(opts.configureContainerd ? ['--configure-containerd'] : []),
    ...(opts.autoload ? ['--autoload'] : []),
  ];
  const given = parseRuntimeFlag(opts.runtime);
  const crioAdvice = 'on CRI-O there is no import: airgap load BUNDLE --registry URL --runtime crio --configure (registries.conf.d mirror, pause_image in crio.conf.d), then systemctl reload crio';
  const crioRefusal = (why: string, details: Record<string, unknown>): never => {
    const steps = [...(opts.containerd ? ['--containerd'] : []), ...(opts.autoload ? ['--autoload'] : []), ...(opts.docker ? ['--docker'] : [])];
    throw new LoadUsageError('ERR_NODE_RUNTIME_MISMATCH',
      `${why}: ${steps.join(', ')} would change nothing kubelet sees (CRI-O has no image import; it pulls, through its registries.conf mirrors)`,
      crioAdvice, { ...details, flags: steps });
  };
  if (given === 'cri-o') {
    if (opts.containerd || opts.autoload || opts.docker) crioRefusal('--runtime crio', { runtime: 'cri-o', source: '--runtime' });
    return { kind: 'cri-o', source: 'given', evidence: '--runtime crio' };
  }
  // --configure goes with --docker: on cri-dockerd it writes cri-docker.service's drop-in.
  const importSteps = containerdSteps.filter((f) => f !== '--configure-containerd');
  if (opts.docker && importSteps.length) {
    throw new LoadUsageError('ERR_NODE_RUNTIME_MISMATCH',
      `--docker cannot go with ${importSteps.join(', ')}: kubelet uses one runtime, Docker Engine (through cri-dockerd) or containerd, and only its image store counts`,
      'on a cri-dockerd node: airgap load BUNDLE --docker [SOCKET] --configure (with --registry URL for the node registry); on a containerd node: airgap load BUNDLE --registry URL --containerd --configure-containerd, without --docker',
      { flags: ['--docker', ...importSteps] });
  }
  const dockerChoice = (source: 'given' | 'detected', evidence: string): RuntimeChoice | undefined =>
    opts.configureContainerd ? { kind: 'docker', source, evidence } : undefined;
  if (given === 'containerd') {
    if (opts.docker) {
      throw new LoadUsageError('ERR_NODE_RUNTIME_MISMATCH', '--runtime containerd cannot go with --docker: kubelet uses containerd, whose image store Docker Engine\'s is not',
        'drop --docker and load into containerd: airgap load BUNDLE --registry URL --containerd --configure-containerd', { runtime: 'containerd', source: '--runtime' });
    }
    return undefined;
  }
  if (given === 'docker') {
    if (importSteps.length) {
      throw new LoadUsageError('ERR_NODE_RUNTIME_MISMATCH',
        `--runtime docker cannot go with ${importSteps.join(', ')}: kubelet uses Docker Engine through cri-dockerd, and containerd steps would change nothing kubelet sees`,
        'load into Docker Engine instead: airgap load BUNDLE --docker [SOCKET] --configure (add --registry URL for the node registry)', { runtime: 'docker', source: '--runtime', flags: importSteps });
    }
    return dockerChoice('given', '--runtime docker');
  }
  const runtime = await detectRuntime({
    ...(opts.kubeletDir !== undefined ? { kubeletDir: opts.kubeletDir } : {}),
    ...(opts.containerd?.socket ? { address: opts.containerd.socket } : {}),
  });
  // Only when kubelet (or crictl) says so: a Docker node has containerd's socket too (dockerd's own).
  const fromKubelet = runtime.source !== 'socket found';
  const details = { runtime: runtime.kind, endpoint: runtime.endpoint, source: runtime.source, socket: runtime.endpoint ? socketPath(runtime.endpoint) : undefined };
  if (opts.docker) {
    if (!fromKubelet || (runtime.kind !== 'containerd' && runtime.kind !== 'cri-o')) {
      return dockerChoice(fromKubelet && runtime.kind === 'docker' ? 'detected' : 'given',
        fromKubelet && runtime.kind === 'docker' ? `kubelet uses cri-dockerd (${runtime.endpoint ?? ''}, from ${runtime.source})` : '--docker');
    }
    const name = runtime.kind === 'containerd' ? 'containerd' : 'CRI-O';
    throw new LoadUsageError('ERR_NODE_RUNTIME_MISMATCH',
      `kubelet on this node uses ${name} (${runtime.endpoint ?? ''}, from ${runtime.source}): loading into Docker Engine (--docker) would change nothing kubelet sees`,
      runtime.kind === 'containerd'
        ? 'drop --docker and load into containerd: airgap load BUNDLE --registry URL --containerd --configure-containerd'
        : `drop --docker; ${crioAdvice}`,
      details);
  }
  if (runtime.kind !== 'docker' && runtime.kind !== 'cri-o') return undefined;
  // Only when kubelet says so, or when no containerd socket is here at all.
  const containerdHere = opts.containerd?.socket !== undefined
    ? await isSocket(opts.containerd.socket)
    : (await Promise.all(['/run/containerd/containerd.sock', '/run/k3s/containerd/containerd.sock', '/run/k0s/containerd.sock'].map((p) => isSocket(p)))).some(Boolean);
  if (!fromKubelet && containerdHere) return undefined;
  const evidence = `kubelet uses CRI-O (${runtime.endpoint ?? ''}, from ${runtime.source})`;
  if (runtime.kind === 'cri-o') {
    if (opts.containerd || opts.autoload) crioRefusal(`kubelet on this node uses CRI-O (${runtime.endpoint ?? ''}, from ${runtime.source})`, details);
    return { kind: 'cri-o', source: 'detected', evidence };
  }
  if (!importSteps.length) return dockerChoice('detected', `kubelet uses cri-dockerd (${runtime.endpoint ?? ''}, from ${runtime.source})`);
  throw new LoadUsageError('ERR_NODE_RUNTIME_MISMATCH',
    `kubelet on this node uses Docker Engine through cri-dockerd (${runtime.endpoint ?? ''}, from ${runtime.source}): containerd steps (${importSteps.join(', ')}) would change nothing kubelet sees`,
    'load into Docker Engine instead: airgap load BUNDLE --docker [SOCKET] --configure (add --registry URL for the node registry; --configure sets cri-dockerd\'s --pod-infra-container-image to the bundle\'s pause)',
    details);
}

/** In the flat layout two source registries can claim one name (quay.io/x/app:1, docker.io/x/app:1): refuse before pushing. */
function refuseFlatCollisions(images: readonly LoadImage[]): void {
  const seen = new Map<string, LoadImage>();
  for (const img of images) {
    const key = `${img.ref.repository}:${img.ref.tag ?? img.descriptor.digest}`;
    const other = seen.get(key);
    if (other && other.ref.registry !== img.ref.registry && other.descriptor.digest !== img.descriptor.digest) {
      throw new LoadUsageError('ERR_LOAD_FLAT_COLLISION', `--layout flat puts ${other.name} and ${img.name} under the same name ${key}, and they differ`,
        'load them into separate registries (or prefixes: --registry URL/PREFIX), or use the default layout', { images: [other.name, img.name] });
    }
    seen.set(key, img);
  }
}
