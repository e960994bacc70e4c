/**
 * What the CRI-O end-to-end test does INSIDE a private mount namespace (run through
 * inMountNamespace; compiled to dist/test/node/crio/scenarios.js; not a test file): /etc/containers,
 * /etc/crio and /run/crio are empty tmpfs. kubelet's kubeadm-flags.env names CRI-O's socket (a
 * listening socket stands for CRI-O), doctor runs before and after `airgap load --runtime crio
 * --configure`, and podman — containers/image, CRI-O's own image library, reading the same
 * registries.conf.d — pulls every bundle image by its original name with storage under a temp dir.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { airgap, doctor, type CliRun, type DoctorReportLite } from '../scenarios.js';

export interface CrioLoadArg {
  bundle: string;
  registryUrl: string;
  /** The image references the bundle holds (pulled by name at the end). */
  refs: string[];
}

export interface PodmanPull {
  image: string;
  exitCode: number;
  stderr: string;
  repoDigests: string[];
}

export interface CrioLoadResult {
  doctorBefore: DoctorReportLite;
  first: CliRun;
  second: CliRun;
  files: Record<string, string>;
  pulls: PodmanPull[];
  doctorAfter: DoctorReportLite;
}

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

export async function crioLoad(arg: CrioLoadArg): Promise<CrioLoadResult> {
  const work = await mkdtemp(join(tmpdir(), 'airgap-crio-'));
  const crio = createServer();
  try {
    // kubelet on CRI-O, as kubeadm writes it; a socket listens where CRI-O would.
    const kubelet = join(work, 'kubelet');
    await mkdir(kubelet);
    await writeFile(join(kubelet, 'kubeadm-flags.env'), 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/crio/crio.sock"\n');
    await new Promise<void>((res, rej) => {
      crio.once('error', rej);
      crio.listen('/run/crio/crio.sock', () => res());
    });
    const doctorArgs = ['--bundle', arg.bundle, '--kubelet-dir', kubelet];
    const doctorBefore = await doctor(doctorArgs);
    const first = await airgap(['load', arg.bundle, '--registry', arg.registryUrl, '--runtime', 'crio', '--configure']);
    // The second run finds CRI-O from kubelet's file (no --runtime) and says it changes nothing.
    const second = await airgap(['load', arg.bundle, '--registry', arg.registryUrl, '--configure', '--kubelet-dir', kubelet, '--json']);
    const written = { ...files('/etc/containers'), ...files('/etc/crio') };

    // podman pulls as CRI-O would: same library, same registries.conf.d; its own storage; any signature accepted.
    const policy = join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const base = ['--root', join(work, 'storage'), '--runroot', join(work, 'run'), '--tmpdir', join(work, 'tmp'), '--storage-driver', 'vfs',
      '--cgroup-manager', 'cgroupfs', '--events-backend', 'none'];
    const pulls: PodmanPull[] = [];
    for (const image of arg.refs) {
      const p = await execa('podman', [...base, 'pull', '--signature-policy', policy, image], { reject: false, stdin: 'ignore', timeout: 60_000 });
      const inspect = await execa('podman', [...base, 'image', 'inspect', '--format', '{{json .RepoDigests}}', image], { reject: false, stdin: 'ignore' });
      let repoDigests: string[] = [];
      try {
        repoDigests = JSON.parse(String(inspect.stdout)) as string[];
      } catch {
        // not pulled
      }
      pulls.push({ image, exitCode: p.exitCode ?? -1, stderr: String(p.stderr).slice(-2000), repoDigests });
    }
    return { doctorBefore, first, second, files: written, pulls, doctorAfter: await doctor(doctorArgs) };
  } finally {
    await new Promise<void>((res) => crio.close(() => res()));
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}
