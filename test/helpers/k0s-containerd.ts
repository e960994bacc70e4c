/**
 * What k0s does with containerd drop-ins before it starts containerd, so a test can start a real
 * containerd 1.6 on exactly the files k0s would hand it and ask CRI what it ended up with.
 *
 * Follows k0s v1.27.1 through v1.35.x (checked against v1.34.10+k0s.0 and v1.35.7+k0s.0; k0s
 * v1.36 moved to containerd 2.x, config version 3 and containerd's own import merging, which
 * containerd 1.6 cannot run). Facts from k0sproject/k0s at v1.35.7+k0s.0 (no k0s code copied):
 *
 * pkg/component/worker/containerd/component.go (setupConfig, isK0sManagedConfig, Start)
 *   - /etc/k0s/containerd.toml is "k0s managed" when it does not exist, when its md5 is that of
 *     the pre-1.27 default, or when a line of it is exactly `# k0s_managed=true` (the scan skips
 *     other lines, so the marker counts anywhere). Otherwise k0s writes nothing and containerd
 *     runs on the user's file.
 *   - Managed: k0s writes <runDir>/containerd-cri.toml (the merged CRI config, below) and
 *     rewrites /etc/k0s/containerd.toml as its header comment (first line `# k0s_managed=true`)
 *     plus `version = 2` and `imports = [<drop-ins without CRI config>..., <runDir>/containerd-cri.toml]`.
 *   - containerd is started as `containerd --root=<dataDir>/containerd --state=<runDir>/containerd
 *     --address=<runDir>/containerd.sock --log-level=… --config=/etc/k0s/containerd.toml`
 *     (component_other.go: defaultConfPath /etc/k0s/containerd.toml, defaultImportsPath
 *     /etc/k0s/containerd.d/; utils_other.go: Address = <runDir>/containerd.sock).
 *   - Drop-ins are watched; on a change k0s regenerates and SIGHUPs (falls back to a restart).
 * pkg/component/worker/containerd/configurer.go (handleImports, generateDefaultCRIConfig)
 *   - the drop-ins are filepath.Glob("/etc/k0s/containerd.d/*.toml"), i.e. in name order.
 *   - the start document is `version = 2` plus [plugins."io.containerd.grpc.v1.cri"] = containerd's
 *     criconfig.DefaultConfig() (containerd v1.7.x, from go.mod) with SandboxImage = the worker
 *     profile's pause image (default quay.io/k0sproject/pause:3.10.1, pkg/constant).
 *   - a drop-in that has a plugins."io.containerd.grpc.v1.cri" table is applied WHOLE (every
 *     table in it, not only the CRI one) as a merge patch onto that document, in glob order
 *     (mesosphere/toml-merge patch.TOMLString: TOML -> JSON, RFC 7396 merge patch, JSON -> TOML:
 *     tables merge key by key, arrays and scalars replace); it is NOT imported.
 *   - any other drop-in is imported as is (containerd 1.x replaces a plugin's whole table from an
 *     import, which is why k0s merges CRI tables itself).
 * docs/runtime.md: same, plus "check /run/k0s/containerd-cri.toml" and a cri-registry.toml drop-in
 *   example setting [plugins."io.containerd.grpc.v1.cri".registry] config_path.
 *
 * Differences from the real files, all so containerd 1.6 runs inside the test lab:
 *   - the CRI defaults are written as only sandbox_image plus `labCri` (snapshotter, CNI dirs, …)
 *     instead of every criconfig.DefaultConfig() field: containerd fills the rest from its own
 *     defaults, so only settings where containerd 1.6 and 1.7 defaults differ could come out
 *     different. `labCri` stands for this machine's defaults and is applied BEFORE the drop-ins, so
 *     a drop-in still overrides it as it would override k0s's defaults.
 *   - containerd's opt plugin defaults to /opt/containerd: cover it with a tmpfs too
 *     (K0S_TMPFS lists it).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { overlayWorks } from '../../scripts/lab/index.js';
import { startDistroContainerd, type DistroContainerd } from './distro-containerd.js';
import { mergePatch, parseToml, stringifyToml, tomlGet, type TomlTable, type TomlValue } from './toml-lite.js';

/** Directories to cover with tmpfs (inMountNamespace) for a k0s worker's layout. */
export const K0S_TMPFS = ['/etc/k0s', '/var/lib/k0s', '/run/k0s', '/opt/containerd'];

/** k0s v1.35's default pause image (pkg/constant: KubePauseContainerImage:KubePauseContainerImageVersion). */
export const K0S_DEFAULT_PAUSE = 'quay.io/k0sproject/pause:3.10.1';

/** k0s's header for a managed containerd.toml (component.go containerdTomlHeader, content not wording). */
const MANAGED_MARKER = '# k0s_managed=true';
/** md5 of the default containerd.toml k0s wrote before 1.27 (component.go pre1_27ConfigSum). */
const PRE_1_27_MD5 = '59039b43303742a5496b13fd57f9beec';

export interface K0sContainerdOptions {
  /** Default /etc/k0s/containerd.d */
  dropInDir?: string;
  /** Default /etc/k0s/containerd.toml */
  confPath?: string;
  /** k0s --run-dir, default /run/k0s */
  runDir?: string;
  /** k0s --data-dir, default /var/lib/k0s */
  dataDir?: string;
  /** The worker profile's pause image (default K0S_DEFAULT_PAUSE). */
  pauseImage?: string;
  /**
   * CRI settings standing in for containerd's defaults on this machine, merged under the drop-ins.
   * Default: the lab's (CNI dirs under <dataDir>/lab-cni, stream server on 127.0.0.1); give
   * `snapshotter` via startK0sContainerd.
   */
  labCri?: TomlTable;
}

export interface K0sContainerdConfig {
  /** Whether k0s considered containerd.toml its own (and so wrote the files below). */
  managed: boolean;
  confPath: string;
  /** <runDir>/containerd-cri.toml (managed only). */
  criConfigPath?: string;
  /** containerd.toml's imports (managed only): non-CRI drop-ins, then the CRI file. */
  imports: string[];
  /** Drop-ins merged into the CRI file, in order. */
  merged: string[];
  socket: string;
  root: string;
  state: string;
  /** containerd's flags as k0s passes them (without --config and --log-level). */
  args: string[];
}

function isManaged(text: string): boolean {
  if (createHash('md5').update(text).digest('hex') === PRE_1_27_MD5) return true;
  return text.split(/\r?\n/).some((l) => l === MANAGED_MARKER);
}

/**
 * Write the config files k0s would write for its containerd (when containerd.toml is k0s managed)
 * and return where everything is. Idempotent, like k0s's regeneration at every start.
 */
export async function k0sContainerdConfig(opts: K0sContainerdOptions = {}): Promise<K0sContainerdConfig> {
  const dropInDir = opts.dropInDir ?? '/etc/k0s/containerd.d';
  const confPath = opts.confPath ?? '/etc/k0s/containerd.toml';
  const runDir = opts.runDir ?? '/run/k0s';
  const dataDir = opts.dataDir ?? '/var/lib/k0s';
  const socket = join(runDir, 'containerd.sock');
  const root = join(dataDir, 'containerd');
  const state = join(runDir, 'containerd');
  const args = [`--root=${root}`, `--state=${state}`, `--address=${socket}`];
  const base = { confPath, socket, root, state, args };

  const managed = !existsSync(confPath) || isManaged(await readFile(confPath, 'utf8'));
  if (!managed) return { ...base, managed, imports: [], merged: [] };

  await mkdir(dirname(confPath), { recursive: true });
  await mkdir(dropInDir, { recursive: true });
  await mkdir(runDir, { recursive: true });

  const labCri: TomlTable = opts.labCri ?? {
    stream_server_address: '127.0.0.1',
    cni: { bin_dir: join(dataDir, 'lab-cni', 'bin'), conf_dir: join(dataDir, 'lab-cni', 'conf') },
  };
  let doc: TomlValue = {
    version: 2,
    plugins: { 'io.containerd.grpc.v1.cri': { ...labCri, sandbox_image: opts.pauseImage ?? K0S_DEFAULT_PAUSE } },
  };
  const imports: string[] = [];
  const merged: string[] = [];
  const names = (await readdir(dropInDir)).filter((n) => n.endsWith('.toml')).sort();
  for (const name of names) {
    const file = join(dropInDir, name);
    const tree = parseToml(await readFile(file, 'utf8'));
    if (tomlGet(tree, ['plugins', 'io.containerd.grpc.v1.cri']) !== undefined) {
      doc = mergePatch(doc, tree);
      merged.push(file);
    } else {
      imports.push(file);
    }
  }
  const criConfigPath = join(runDir, 'containerd-cri.toml');
  await writeFile(criConfigPath, stringifyToml(doc as TomlTable));
  imports.push(criConfigPath);
  await writeFile(
    confPath,
    `${MANAGED_MARKER}\n# A placeholder configuration for k0s managed containerd (written by the airgap test harness as k0s v1.35 writes it).\n` +
      `# Remove the first line to manage this file yourself.\n${stringifyToml({ version: 2, imports })}`,
  );
  return { ...base, managed, criConfigPath, imports, merged };
}

/**
 * k0sContainerdConfig, then containerd started on it the way k0s starts it. The snapshotter goes
 * into the lab CRI defaults (a drop-in may still override it); CNI dirs are created.
 */
export async function startK0sContainerd(
  opts: K0sContainerdOptions & { snapshotter?: string; logFile?: string } = {},
): Promise<{ config: K0sContainerdConfig; containerd: DistroContainerd }> {
  const dataDir = opts.dataDir ?? '/var/lib/k0s';
  const snapshotter = opts.snapshotter ?? ((await overlayWorks()) ? 'overlayfs' : 'native');
  const labCri: TomlTable = opts.labCri ?? {
    stream_server_address: '127.0.0.1',
    containerd: { snapshotter },
    cni: { bin_dir: join(dataDir, 'lab-cni', 'bin'), conf_dir: join(dataDir, 'lab-cni', 'conf') },
  };
  await Promise.all([join(dataDir, 'lab-cni', 'bin'), join(dataDir, 'lab-cni', 'conf')].map((d) => mkdir(d, { recursive: true })));
  const config = await k0sContainerdConfig({ ...opts, labCri });
  const containerd = await startDistroContainerd({
    socket: config.socket,
    configFile: config.confPath,
    args: config.args,
    snapshotter,
    workDir: opts.runDir ?? '/run/k0s',
    logFile: opts.logFile ?? join(opts.runDir ?? '/run/k0s', 'containerd.log'),
  });
  return { config, containerd };
}
