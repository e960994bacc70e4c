/**
 * Functions the harness tests run INSIDE a mount namespace through inMountNamespace() (compiled to
 * dist/test/lab/ns-scenarios.js). Each takes and returns JSON. Not a test file.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startDistroContainerd } from '../helpers/distro-containerd.js';
import { renderK3sHosts } from '../helpers/k3s-hosts.js';
import { startK0sContainerd, type K0sContainerdOptions } from '../helpers/k0s-containerd.js';

export const SCENARIOS = new URL('./ns-scenarios.js', import.meta.url);

/** Mount points (from /proc/self/mountinfo) of this process that are tmpfs, by path. */
function tmpfsMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - tmpfs /.test(l))
    .map((l) => l.split(' ')[4]!);
}

function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

export async function writeFiles(arg: { files: Record<string, string>; list: string[] }): Promise<{ pid: number; mounts: string[]; trees: Record<string, string[]> }> {
  for (const [path, text] of Object.entries(arg.files)) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
  const trees: Record<string, string[]> = {};
  for (const d of arg.list) trees[d] = listTree(d);
  return { pid: process.pid, mounts: tmpfsMounts(), trees };
}

export async function fail(arg: { message: string; code: string }): Promise<never> {
  throw Object.assign(new Error(arg.message), { code: arg.code });
}

/** Starts `sleep` and returns without stopping it: the child must refuse and kill it. */
export async function leaveRunning(arg: { pidFile: string }): Promise<{ pid: number }> {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  c.unref();
  await writeFile(arg.pidFile, String(c.pid));
  return { pid: c.pid! };
}

/** Starts `sleep`, records its pid on the host, and never returns. */
export async function hang(arg: { pidFile: string }): Promise<never> {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  await writeFile(arg.pidFile, String(c.pid));
  return new Promise<never>(() => {
    setInterval(() => undefined, 1000);
  });
}

export interface K3sScenarioArg {
  /** registries.yaml text written to /etc/rancher/k3s/registries.yaml (omitted: none). */
  registriesYaml?: string;
  sandboxImage: string;
  /** Pull this ref over CRI (after rendering hosts.toml). */
  pull?: string;
  program?: 'k3s' | 'rke2';
}

export interface K3sScenarioResult {
  socket: string;
  pid: number;
  runtimeName: string;
  ready: boolean;
  sandboxImage: string;
  configPath: string;
  hostsFiles: Record<string, string>;
  pulled?: { id: string; repoDigests: string[]; repoTags: string[] };
  socketAfterStop: boolean;
  runDirAfterStop: string[];
}

/** A k3s (or RKE2) node: registries.yaml -> generated hosts.toml -> containerd at k3s's paths. */
export async function k3sNode(arg: K3sScenarioArg): Promise<K3sScenarioResult> {
  const p = arg.program ?? 'k3s';
  const certsDir = `/var/lib/rancher/${p}/agent/etc/containerd/certs.d`;
  const hostsFiles: Record<string, string> = {};
  if (arg.registriesYaml !== undefined) {
    await mkdir(`/etc/rancher/${p}`, { recursive: true });
    await writeFile(`/etc/rancher/${p}/registries.yaml`, arg.registriesYaml);
    const r = await renderK3sHosts(readFileSync(`/etc/rancher/${p}/registries.yaml`, 'utf8'), certsDir, { program: p });
    for (const [dir, file] of r.files) hostsFiles[dir] = readFileSync(file, 'utf8');
  }
  const socket = `/run/${p}/containerd/containerd.sock`;
  const ctd = await startDistroContainerd({
    socket,
    root: `/var/lib/rancher/${p}/agent/containerd`,
    state: `/run/${p}/containerd`,
    workDir: `/var/lib/rancher/${p}/agent/etc/containerd`,
    hostsDir: certsDir,
    sandboxImage: arg.sandboxImage,
  });
  try {
    const version = await ctd.cri.version();
    const status = await ctd.cri.status({ verbose: true });
    const config = status.info.config as { sandboxImage: string; registry: { configPath: string } };
    let pulled: K3sScenarioResult['pulled'];
    if (arg.pull) {
      const id = await ctd.cri.pullImage(arg.pull);
      const st = await ctd.cri.imageStatus(arg.pull);
      pulled = { id, repoDigests: st?.repoDigests ?? [], repoTags: st?.repoTags ?? [] };
    }
    await ctd.stop();
    return {
      socket,
      pid: ctd.pid,
      runtimeName: version.runtimeName,
      ready: status.conditions.some((c) => c.type === 'RuntimeReady' && c.status),
      sandboxImage: config.sandboxImage,
      configPath: config.registry.configPath,
      hostsFiles,
      ...(pulled ? { pulled } : {}),
      socketAfterStop: existsSync(socket),
      runDirAfterStop: listTree(`/run/${p}`).filter((f) => f.endsWith('.sock') || f.endsWith('.ttrpc')),
    };
  } finally {
    await ctd.stop();
  }
}

export interface K0sScenarioArg {
  dropIns: Record<string, string>;
  /** An existing /etc/k0s/containerd.toml (omitted: none, so k0s manages it). */
  containerdToml?: string;
  pauseImage?: string;
}

export interface K0sScenarioResult {
  managed: boolean;
  merged: string[];
  imports: string[];
  containerdToml: string;
  criToml?: string;
  sandboxImage: string;
  configPath: string;
  maxConcurrentDownloads: number;
  socket: string;
  pid: number;
}

/** A k0s worker: drop-ins in /etc/k0s/containerd.d -> k0s's config files -> containerd as k0s starts it. */
export async function k0sNode(arg: K0sScenarioArg): Promise<K0sScenarioResult> {
  await mkdir('/etc/k0s/containerd.d', { recursive: true });
  for (const [name, text] of Object.entries(arg.dropIns)) await writeFile(join('/etc/k0s/containerd.d', name), text);
  if (arg.containerdToml !== undefined) await writeFile('/etc/k0s/containerd.toml', arg.containerdToml);
  const opts: K0sContainerdOptions = arg.pauseImage ? { pauseImage: arg.pauseImage } : {};
  const { config, containerd } = await startK0sContainerd(opts);
  try {
    const status = await containerd.cri.status({ verbose: true });
    const c = status.info.config as { sandboxImage: string; maxConcurrentDownloads: number; registry: { configPath: string } };
    return {
      managed: config.managed,
      merged: config.merged,
      imports: config.imports,
      containerdToml: readFileSync(config.confPath, 'utf8'),
      ...(config.criConfigPath ? { criToml: readFileSync(config.criConfigPath, 'utf8') } : {}),
      sandboxImage: c.sandboxImage,
      configPath: c.registry.configPath,
      maxConcurrentDownloads: c.maxConcurrentDownloads,
      socket: config.socket,
      pid: containerd.pid,
    };
  } finally {
    await containerd.stop();
  }
}
