/**
 * A node's containerd for the end-to-end tests: a config.toml shaped like a real node's (version 2,
 * CRI table with the user's own settings, no config_path, containerd's default sandbox image),
 * which the code under test edits; then containerd started on exactly that file. The lab's
 * startContainerd() writes its own config (with sandbox image and config_path already set), so it
 * cannot show what *our* configuration does; this uses the lab's process plumbing instead.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { assertIsolatedNetwork, overlayWorks, socketExists, startDaemon, type Daemon } from '../../../scripts/lab/index.js';
import { CriClient } from '../../../src/cri/index.js';

export interface NodeConfigOptions {
  /** Write a [plugins."io.containerd.grpc.v1.cri"] table with the user's settings (default true). */
  criTable?: boolean;
}

export interface NodeConfig {
  dir: string;
  configFile: string;
  socket: string;
  snapshotter: string;
  /** The user's own CRI setting the tests check survives our edits. */
  maxConcurrentDownloads: number;
}

const q = (s: string): string => JSON.stringify(s);

export async function writeNodeConfig(dir: string, opts: NodeConfigOptions = {}): Promise<NodeConfig> {
  const socket = join(dir, 'containerd.sock');
  const snapshotter = (await overlayWorks()) ? 'overlayfs' : 'native';
  await Promise.all(['root', 'state', 'opt', 'cni/bin', 'cni/conf'].map((p) => mkdir(join(dir, p), { recursive: true })));
  const maxConcurrentDownloads = 7;
  const cri =
    opts.criTable === false
      ? ''
      : `
# the node's own CRI settings: they must survive airgap's edit
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  max_concurrent_downloads = ${maxConcurrentDownloads}
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = ${q(snapshotter)}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(join(dir, 'cni', 'bin'))}
    conf_dir = ${q(join(dir, 'cni', 'conf'))}
`;
  const text = `# containerd config of a test node
version = 2
root = ${q(join(dir, 'root'))}
state = ${q(join(dir, 'state'))}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = ${q(socket)}

[ttrpc]
  address = ${q(socket + '.ttrpc')}

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(dir, 'opt'))}
${cri}`;
  const configFile = join(dir, 'config.toml');
  await writeFile(configFile, text);
  return { dir, configFile, socket, snapshotter, maxConcurrentDownloads };
}

export interface NodeContainerd {
  daemon: Daemon;
  cri: CriClient;
  logFile: string;
  stop(): Promise<void>;
}

/** Start containerd on the node config (in its own mount namespace, like the lab does). */
export async function startNodeContainerd(node: NodeConfig, logName = 'containerd.log'): Promise<NodeContainerd> {
  await assertIsolatedNetwork();
  const logFile = join(node.dir, logName);
  const daemon = await startDaemon({
    name: 'containerd',
    command: 'unshare',
    args: ['-m', '--propagation', 'private', 'containerd', '--config', node.configFile],
    logFile,
    cwd: node.dir,
    ready: async () =>
      socketExists(node.socket) && (await execa('ctr', ['--address', node.socket, 'version'], { reject: false, stdin: 'ignore' })).exitCode === 0,
    readyTimeoutMs: 20_000,
  });
  const cri = new CriClient(node.socket, { pullTimeoutMs: 60_000 });
  return {
    daemon,
    cri,
    logFile,
    async stop() {
      await daemon.stop();
    },
  };
}

/** `containerd --config FILE config dump`: the merged configuration containerd would run with. */
export async function configDump(configFile: string): Promise<string> {
  const r = await execa('containerd', ['--config', configFile, 'config', 'dump'], { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`containerd config dump failed: ${String(r.stderr)}`);
  return String(r.stdout);
}
