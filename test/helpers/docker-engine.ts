/**
 * A real Docker Engine (Debian's docker.io 20.10) for one suite: dockerd as a plain process with
 * its data root, exec root, socket and pid file under a temp dir, no iptables, no bridge, in a
 * private mount namespace (its overlay mounts never reach the machine's). Stopped by PID (SIGTERM,
 * then SIGKILL); a missing dockerd fails the suite, it never skips.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabError, startDaemon, which, type Daemon } from '../../scripts/lab/index.js';
import { isSocket } from '../../src/node/containerd/ctr.js';

export interface DockerEngineLab {
  /** the API socket (unix) */
  socket: string;
  logFile: string;
  daemon: Daemon;
  /** `docker -H unix://SOCKET ARGS`, never throwing on a non-zero exit */
  docker(args: string[]): ReturnType<typeof execa>;
  stop(): Promise<void>;
}

export async function startDockerEngine(dir: string): Promise<DockerEngineLab> {
  for (const tool of ['dockerd', 'docker']) {
    if (!which(tool)) {
      throw new LabError('ERR_LAB_MISSING_TOOL', `'${tool}' is not installed (not found on PATH)`, { hint: 'install the test lab packages: bash scripts/lab-install.sh (docker.io)' });
    }
  }
  await mkdir(dir, { recursive: true });
  const socket = join(dir, 'docker.sock');
  const logFile = join(dir, 'dockerd.log');
  const daemon = await startDaemon({
    name: 'dockerd',
    command: 'unshare',
    args: [
      '-m', '--propagation', 'private', 'dockerd',
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '-H', `unix://${socket}`,
      '--pidfile', join(dir, 'docker.pid'),
      '--iptables=false', '--ip6tables=false', '--bridge=none',
    ],
    logFile,
    cwd: dir,
    ready: async () => (await isSocket(socket)) && (await execa('docker', ['-H', `unix://${socket}`, 'version'], { reject: false, stdin: 'ignore' })).exitCode === 0,
    readyTimeoutMs: 30_000,
    stopTimeoutMs: 15_000,
  });
  return {
    socket,
    logFile,
    daemon,
    docker: (args) => execa('docker', ['-H', `unix://${socket}`, ...args], { reject: false, stdin: 'ignore', env: { DOCKER_CONFIG: join(dir, 'cli-config') } }),
    async stop() {
      await daemon.stop();
    },
  };
}
