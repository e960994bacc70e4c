/**
 * What the node-layer end-to-end tests do INSIDE a private mount namespace (run through
 * inMountNamespace; compiled to dist/test/node/scenarios.js; not a test file). Each scenario lays
 * out a distribution's node on empty tmpfs directories, starts a real containerd where that
 * distribution runs it, runs the airgap CLI as a user would, then plays the distribution's part
 * (k3s writing hosts.toml from registries.yaml at start, k0s merging its drop-ins) and starts a
 * fresh containerd on the result to prove kubelet's pulls resolve from the mirror alone.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI } from '../helpers/cli.js';
import { startDistroContainerd, type DistroContainerd } from '../helpers/distro-containerd.js';
import { renderK3sHosts } from '../helpers/k3s-hosts.js';
import { startK0sContainerd } from '../helpers/k0s-containerd.js';

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** `airgap ARGS` inside the namespace, as a user runs it. */
export async function airgap(args: string[]): Promise<CliRun> {
  const r = await execa('node', [CLI, ...args], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1', CI: '1' } });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(join(d, e.name));
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

const sha = (path: string): string | null => (existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : null);

export interface ContainerdImage {
  name: string;
  digest: string;
  pinned: boolean;
}

async function images(ctd: DistroContainerd): Promise<ContainerdImage[]> {
  const out = await ctd.ctr(['-n', 'k8s.io', 'images', 'ls']);
  // CRI also records each image under its config digest (sha256:…): those are not names.
  return out.split('\n').slice(1).filter((l) => l.trim() !== '' && !l.startsWith('sha256:')).map((l) => {
    const t = l.trim().split(/\s+/);
    return { name: t[0]!, digest: t[2]!, pinned: /io\.cri-containerd\.pinned=pinned/.test(l) };
  });
}

export interface PullResult {
  image: string;
  repoDigests: string[];
  error?: string;
}

async function pullAll(ctd: DistroContainerd, refs: string[]): Promise<PullResult[]> {
  const out: PullResult[] = [];
  for (const image of refs) {
    try {
      await ctd.cri.pullImage(image);
      const st = await ctd.cri.imageStatus(image);
      out.push({ image, repoDigests: st?.repoDigests ?? [] });
    } catch (e) {
      out.push({ image, repoDigests: [], error: (e as Error).message });
    }
  }
  return out;
}

export interface K3sLoadArg {
  flavour: 'k3s' | 'rke2';
  bundle: string;
  registryUrl: string;
  /** The image references the bundle holds (pulled by name at the end). */
  refs: string[];
  /** registries.yaml as the user had it before airgap (absent: none). */
  registriesYaml?: string;
  /** The sandbox image k3s's containerd config names (k3s's --pause-image). */
  sandboxImage: string;
}

export interface K3sLoadResult {
  first: CliRun;
  second: CliRun;
  events: Record<string, unknown>[];
  registriesYaml: string | null;
  /** Everything under /etc/containerd after load (a tmpfs here: must stay empty). */
  etcContainerd: string[];
  generatedConfigBefore: string | null;
  generatedConfigAfter: string | null;
  imagesAfterLoad: ContainerdImage[];
  autoload: { path: string; sameContent: boolean } | null;
  hostsFiles: Record<string, string>;
  pulls: PullResult[];
  sandboxAfterRestart: string;
}

/** k3s / RKE2: the usual load command line, then k3s's restart (hosts.toml from registries.yaml), then pulls. */
export async function k3sLoad(arg: K3sLoadArg): Promise<K3sLoadResult> {
  const f = arg.flavour;
  const certsDir = `/var/lib/rancher/${f}/agent/etc/containerd/certs.d`;
  await mkdir(`/etc/rancher/${f}`, { recursive: true });
  await writeFile(`/etc/rancher/${f}/config.yaml`, 'write-kubeconfig-mode: "0644"\n');
  if (arg.registriesYaml !== undefined) await writeFile(`/etc/rancher/${f}/registries.yaml`, arg.registriesYaml);
  const start = (root: string): Promise<DistroContainerd> => startDistroContainerd({
    socket: '/run/k3s/containerd/containerd.sock',
    root: `/var/lib/rancher/${f}/agent/${root}`,
    state: `/run/k3s/${root}`,
    workDir: `/var/lib/rancher/${f}/agent/etc/containerd`,
    hostsDir: certsDir,
    sandboxImage: arg.sandboxImage,
  });
  let ctd = await start('containerd');
  const generated = ctd.configFile;
  const generatedConfigBefore = sha(generated);
  let first: CliRun;
  let second: CliRun;
  let imagesAfterLoad: ContainerdImage[];
  try {
    first = await airgap(['load', arg.bundle, '--registry', arg.registryUrl, '--containerd', '--configure-containerd', '--autoload']);
    second = await airgap(['load', arg.bundle, '--registry', arg.registryUrl, '--containerd', '--configure-containerd', '--autoload', '--json']);
    imagesAfterLoad = await images(ctd);
  } finally {
    await ctd.stop();
  }
  const registriesYaml = existsSync(`/etc/rancher/${f}/registries.yaml`) ? readFileSync(`/etc/rancher/${f}/registries.yaml`, 'utf8') : null;
  const placed = `/var/lib/rancher/${f}/agent/images/${arg.bundle.split('/').pop()}`;
  const autoload = existsSync(placed) ? { path: placed, sameContent: sha(placed) === sha(arg.bundle) } : null;
  const generatedConfigAfter = sha(generated);

  // k3s restarts: it writes the hosts.toml files from registries.yaml; containerd starts with an empty store.
  const hostsFiles: Record<string, string> = {};
  if (registriesYaml !== null) {
    const r = await renderK3sHosts(registriesYaml, certsDir, { program: f });
    for (const [dir, file] of r.files) hostsFiles[dir] = readFileSync(file, 'utf8');
  }
  await rm(`/var/lib/rancher/${f}/agent/containerd`, { recursive: true, force: true });
  ctd = await start('containerd-fresh');
  try {
    const pulls = await pullAll(ctd, arg.refs);
    const status = await ctd.cri.status({ verbose: true });
    const sandboxAfterRestart = (status.info.config as { sandboxImage: string }).sandboxImage;
    return {
      first,
      second,
      events: second.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
      registriesYaml,
      etcContainerd: tree('/etc/containerd'),
      generatedConfigBefore,
      generatedConfigAfter,
      imagesAfterLoad,
      autoload,
      hostsFiles,
      pulls,
      sandboxAfterRestart,
    };
  } finally {
    await ctd.stop();
  }
}

export interface K0sLoadArg {
  bundle: string;
  registryUrl: string;
  refs: string[];
  /** /etc/k0s/containerd.toml replaced by the user (absent: k0s manages it). */
  containerdToml?: string;
}

export interface K0sLoadResult {
  load: CliRun;
  containerdTomlBefore: string | null;
  containerdTomlAfterLoad: string | null;
  dropIns: Record<string, string>;
  hostsFiles: string[];
  imagesAfterLoad: ContainerdImage[];
  sandboxBefore: string;
  sandboxAfterRestart: string;
  merged: string[];
  pulls: PullResult[];
  doctorBefore?: CliRun;
  doctorAfter?: CliRun;
}

async function sandboxOf(ctd: DistroContainerd): Promise<string> {
  const status = await ctd.cri.status({ verbose: true });
  return (status.info.config as { sandboxImage: string }).sandboxImage;
}

/** k0s: containerd as k0s runs it, the usual load command line, then k0s's restart (drop-ins merged), then pulls. */
export async function k0sLoad(arg: K0sLoadArg): Promise<K0sLoadResult> {
  await mkdir('/etc/k0s/containerd.d', { recursive: true });
  await writeFile('/etc/k0s/k0s.yaml', 'apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n');
  let { containerd } = await startK0sContainerd();
  const containerdTomlBefore = existsSync('/etc/k0s/containerd.toml') ? readFileSync('/etc/k0s/containerd.toml', 'utf8') : null;
  let load: CliRun;
  let imagesAfterLoad: ContainerdImage[];
  let sandboxBefore: string;
  try {
    sandboxBefore = await sandboxOf(containerd);
    load = await airgap(['load', arg.bundle, '--registry', arg.registryUrl, '--containerd', '--configure-containerd', '--json']);
    imagesAfterLoad = await images(containerd);
  } finally {
    await containerd.stop();
  }
  const containerdTomlAfterLoad = existsSync('/etc/k0s/containerd.toml') ? readFileSync('/etc/k0s/containerd.toml', 'utf8') : null;
  const dropIns: Record<string, string> = {};
  for (const n of readdirSync('/etc/k0s/containerd.d').filter((x) => x.endsWith('.toml'))) dropIns[n] = readFileSync(join('/etc/k0s/containerd.d', n), 'utf8');
  const hostsFiles = tree('/etc/k0s/containerd.d/certs.d').filter((p) => p.endsWith('hosts.toml'));

  // k0s restarts: it merges the CRI drop-ins into its CRI config; containerd starts with an empty store.
  await rm('/var/lib/k0s/containerd', { recursive: true, force: true });
  const restarted = await startK0sContainerd();
  containerd = restarted.containerd;
  try {
    return {
      load,
      containerdTomlBefore,
      containerdTomlAfterLoad,
      dropIns,
      hostsFiles,
      imagesAfterLoad,
      sandboxBefore,
      sandboxAfterRestart: await sandboxOf(containerd),
      merged: restarted.config.merged,
      pulls: await pullAll(containerd, arg.refs),
    };
  } finally {
    await containerd.stop();
  }
}

export interface DoctorReportLite {
  ok: boolean;
  summary: { ok: number; warn: number; fail: number };
  node?: { distribution: string };
  checks: { id: string; status: string; message: string; fix?: string }[];
}

export interface DoctorFixResult {
  before: DoctorReportLite;
  /** The commands the fix named, as run. */
  applied: CliRun[];
  after: DoctorReportLite;
}

/** `airgap doctor ARGS --json`, parsed. */
export async function doctor(args: string[]): Promise<DoctorReportLite> {
  const r = await airgap(['doctor', ...args, '--json']);
  try {
    return JSON.parse(r.stdout) as DoctorReportLite;
  } catch {
    throw new Error(`airgap doctor printed no report (exit ${r.exitCode}): ${r.stderr}`);
  }
}

export interface K3sWildcardArg {
  bundle: string;
  registryUrl: string;
  /** The release with containerd 2.0 whose "*" fallback broke. */
  release: string;
  sandboxImage: string;
}

/**
 * The k3s field report: registries.yaml with a "*" mirror on v1.32.2+k3s1. doctor must fail with a
 * fix; the fix applied (airgap load's explicit entries, the "*" entry removed, k3s restarted) must
 * turn the report green.
 */
export async function k3sWildcardDoctor(arg: K3sWildcardArg): Promise<DoctorFixResult> {
  const certsDir = '/var/lib/rancher/k3s/agent/etc/containerd/certs.d';
  await mkdir('/etc/rancher/k3s', { recursive: true });
  await writeFile('/etc/rancher/k3s/config.yaml', 'write-kubeconfig-mode: "0644"\n');
  const wildcard = `mirrors:\n  "*":\n    endpoint:\n      - "${arg.registryUrl}"\n`;
  await writeFile('/etc/rancher/k3s/registries.yaml', wildcard);
  await renderK3sHosts(wildcard, certsDir);
  const start = (): Promise<DistroContainerd> => startDistroContainerd({
    socket: '/run/k3s/containerd/containerd.sock',
    root: '/var/lib/rancher/k3s/agent/containerd',
    state: '/run/k3s/containerd',
    workDir: '/var/lib/rancher/k3s/agent/etc/containerd',
    hostsDir: certsDir,
    sandboxImage: arg.sandboxImage,
  });
  let ctd = await start();
  const applied: CliRun[] = [];
  let before: DoctorReportLite;
  try {
    before = await doctor(['--bundle', arg.bundle, '--kubernetes', arg.release]);
    applied.push(await airgap(['load', arg.bundle, '--registry', arg.registryUrl, '--containerd', '--configure-containerd', '--kubernetes', arg.release]));
  } finally {
    await ctd.stop();
  }
  // The fix's other half: remove the "*" entry (the bundle's registries have their own now).
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(readFileSync('/etc/rancher/k3s/registries.yaml', 'utf8'));
  doc.deleteIn(['mirrors', '*']);
  await writeFile('/etc/rancher/k3s/registries.yaml', doc.toString());
  // k3s restarts: hosts.toml from registries.yaml, same content store.
  await renderK3sHosts(readFileSync('/etc/rancher/k3s/registries.yaml', 'utf8'), certsDir);
  ctd = await start();
  try {
    return { before, applied, after: await doctor(['--bundle', arg.bundle, '--kubernetes', arg.release]) };
  } finally {
    await ctd.stop();
  }
}

export interface K0sReplacedArg {
  bundle: string;
  registryUrl: string;
}

/**
 * The k0s field report: /etc/k0s/containerd.toml replaced by an old-format file, so containerd
 * runs on its built-in pause while the bundle holds pause:3.9. doctor must fail with a fix; the fix
 * applied (the file removed so k0s writes its own, airgap load's drop-in, k0s restarted) must turn
 * the report green.
 */
export async function k0sReplacedDoctor(arg: K0sReplacedArg): Promise<DoctorFixResult> {
  await mkdir('/etc/k0s/containerd.d', { recursive: true });
  await mkdir('/var/lib/k0s/lab-cni/bin', { recursive: true });
  await mkdir('/var/lib/k0s/lab-cni/conf', { recursive: true });
  // A version 1 file (no `version` line, short plugin names), as older guides wrote it.
  await writeFile('/etc/k0s/containerd.toml', [
    '# my containerd config',
    '[plugins.cri.containerd]',
    '  snapshotter = "native"',
    '[plugins.cri.cni]',
    '  bin_dir = "/var/lib/k0s/lab-cni/bin"',
    '  conf_dir = "/var/lib/k0s/lab-cni/conf"',
    '',
  ].join('\n'));
  let { containerd } = await startK0sContainerd({ snapshotter: 'native' });
  const applied: CliRun[] = [];
  let before: DoctorReportLite;
  try {
    before = await doctor(['--bundle', arg.bundle]);
    // The fix: the user's settings moved into a drop-in (here: nothing of theirs is needed), the file removed.
    await rm('/etc/k0s/containerd.toml');
  } finally {
    await containerd.stop();
  }
  ({ containerd } = await startK0sContainerd({ snapshotter: 'native' }));
  try {
    applied.push(await airgap(['load', arg.bundle, '--registry', arg.registryUrl, '--containerd', '--configure-containerd']));
  } finally {
    await containerd.stop();
  }
  ({ containerd } = await startK0sContainerd({ snapshotter: 'native' }));
  try {
    return { before, applied, after: await doctor(['--bundle', arg.bundle]) };
  } finally {
    await containerd.stop();
  }
}
