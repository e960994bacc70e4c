/**
 * Which container runtime kubelet really uses: the endpoint from kubelet's own files (kubeadm's
 * kubeadm-flags.env, the KubeletConfiguration's containerRuntimeEndpoint), then crictl's, then
 * the sockets present; and where kubelet pulls images when that is set apart (Sealos's
 * image-cri-shim in front of containerd). A node on Docker Engine through cri-dockerd keeps its
 * images in Docker's store, so containerd's k8s.io namespace and hosts.toml mean nothing to kubelet there.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SOCKETS, isSocket } from './containerd/ctr.js';

export type RuntimeKind = 'containerd' | 'docker' | 'cri-o' | 'unknown';

export interface RuntimeFacts {
  kind: RuntimeKind;
  /** unix:///run/containerd/containerd.sock as configured, or the socket found. */
  endpoint?: string;
  /** The file (and key) it came from, or "socket found". */
  source: string;
  /** The endpoint's socket exists (undefined: not a unix endpoint). */
  socketExists?: boolean;
  /** kubelet's --pod-infra-container-image, when kubeadm-flags.env sets it. */
  podInfraImage?: string;
  /**
   * kubelet's image service endpoint, when set apart from the runtime's (`--image-service-endpoint`,
   * `imageServiceEndpoint`): pulls go there — on Sealos, image-cri-shim's socket.
   */
  imageEndpoint?: string;
  /** The file (and key) imageEndpoint came from. */
  imageEndpointSource?: string;
  /** imageEndpoint's socket exists (undefined: not a unix endpoint, or no imageEndpoint). */
  imageSocketExists?: boolean;
}

/** kubelet's image service endpoint from kubeadm-flags.env, else its KubeletConfiguration. */
async function imageEndpointFacts(flags: string | undefined, flagsFile: string, config: string, configFile: string): Promise<Partial<RuntimeFacts>> {
  const fromFlags = flags !== undefined ? flag(flags, 'image-service-endpoint') : undefined;
  const fromConfig = yamlScalar(config, 'imageServiceEndpoint');
  const endpoint = fromFlags ?? fromConfig;
  if (endpoint === undefined) return {};
  const sock = socketPath(endpoint);
  return {
    imageEndpoint: endpoint,
    imageEndpointSource: fromFlags !== undefined ? `${flagsFile} (--image-service-endpoint)` : `${configFile} (imageServiceEndpoint)`,
    ...(sock !== undefined ? { imageSocketExists: await isSocket(sock) } : {}),
  };
}

export const DEFAULT_KUBELET_DIR = '/var/lib/kubelet';
export const DEFAULT_CRICTL_CONFIG = '/etc/crictl.yaml';
export const CRI_DOCKERD_SOCKETS = ['/run/cri-dockerd.sock', '/var/run/cri-dockerd.sock'];
const CRIO_SOCKETS = ['/run/crio/crio.sock', '/var/run/crio/crio.sock'];

async function text(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}


export function classifyEndpoint(endpoint: string): RuntimeKind {
  if (/cri-dockerd|dockershim/.test(endpoint)) return 'docker';
  if (/crio/.test(endpoint)) return 'cri-o';
  if (/containerd/.test(endpoint)) return 'containerd';
  return 'unknown';
}

export function socketPath(endpoint: string): string | undefined {
  if (endpoint.startsWith('unix://')) return endpoint.slice('unix://'.length);
  if (endpoint.startsWith('/')) return endpoint;
  return undefined;
}

/** `--flag=value` or `--flag value` in a kubeadm-flags.env line. */
function flag(env: string, name: string): string | undefined {
  const m = new RegExp(`--${name}(?:=|\\s+)["']?([^\\s"']+)`).exec(env);
  return m?.[1];
}

/** A top-level `key: value` of a small YAML file (no YAML library: these files are flat). */
export function yamlScalar(yaml: string, key: string): string | undefined {
  const m = new RegExp(`^${key}:[ \\t]*["']?([^"'\\s#]+)`, 'm').exec(yaml);
  return m?.[1];
}

export interface RuntimeOptions {
  kubeletDir?: string;
  crictlConfig?: string;
  /** The containerd socket given with --address. */
  address?: string;
}

export async function detectRuntime(opts: RuntimeOptions = {}): Promise<RuntimeFacts> {
  const kubeletDir = opts.kubeletDir ?? DEFAULT_KUBELET_DIR;
  const flagsFile = join(kubeletDir, 'kubeadm-flags.env');
  const configFile = join(kubeletDir, 'config.yaml');
  const crictl = opts.crictlConfig ?? DEFAULT_CRICTL_CONFIG;
  const flags = await text(flagsFile);
  const config = (await text(configFile)) ?? '';
  const podInfraImage = flags !== undefined ? flag(flags, 'pod-infra-container-image') : undefined;
  const image = await imageEndpointFacts(flags, flagsFile, config, configFile);
  const candidates: [string | undefined, string][] = [
    [flags !== undefined ? flag(flags, 'container-runtime-endpoint') : undefined, `${flagsFile} (--container-runtime-endpoint)`],
    [yamlScalar(config, 'containerRuntimeEndpoint'), `${configFile} (containerRuntimeEndpoint)`],
    [yamlScalar((await text(crictl)) ?? '', 'runtime-endpoint'), `${crictl} (runtime-endpoint)`],
  ];
  for (const [endpoint, source] of candidates) {
    if (endpoint === undefined) continue;
    const sock = socketPath(endpoint);
    return {
      kind: classifyEndpoint(endpoint),
      endpoint,
      source,
      ...(sock !== undefined ? { socketExists: await isSocket(sock) } : {}),
      ...(podInfraImage ? { podInfraImage } : {}),
      ...image,
    };
  }
  // No runtime endpoint in kubelet's files (before kubeadm init/join): go by the sockets present.
  for (const s of CRI_DOCKERD_SOCKETS) if (await isSocket(s)) return { kind: 'docker', endpoint: `unix://${s}`, source: 'socket found', socketExists: true, ...image };
  for (const s of CRIO_SOCKETS) if (await isSocket(s)) return { kind: 'cri-o', endpoint: `unix://${s}`, source: 'socket found', socketExists: true, ...image };
  for (const s of opts.address !== undefined ? [opts.address] : DEFAULT_SOCKETS) {
    if (await isSocket(s)) return { kind: 'containerd', endpoint: `unix://${s}`, source: opts.address !== undefined ? '--address' : 'socket found', socketExists: true, ...image };
  }
  return { kind: 'unknown', source: 'no kubelet configuration and no runtime socket found', ...image };
}
