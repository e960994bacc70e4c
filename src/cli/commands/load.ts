import { addRegistryAccessOptions, collect, parseConcurrency } from '../options.js';
import type { Command } from 'commander';
import type { Ora } from 'ora';
import { preloadSpinner, startSpinner } from '../spinner.js';
import { UsageError } from '../../errors.js';
import { DEFAULT_LOAD_CONCURRENCY, load, parseRuntimeFlag, type LoadOptions } from '../../load/load.js';
import type { LoadEvent, LoadSummary } from '../../load/events.js';
import { parseRegistryUrl } from '../../load/registry-url.js';
import { parseDistributionFlag } from '../../node/detect.js';
import type { RegistryEvent } from '../../registry/events.js';
import { ExitCode } from '../exit-codes.js';
import { formatBytes, formatDuration, shortDigest } from '../progress-format.js';

interface LoadFlags {
  tmpDir?: string;
  distribution?: string;
  runtime?: string;
  configure?: boolean;
  layout?: string;
  kubernetes?: string;
  autoload?: boolean;
  registry?: string;
  creds?: string[];
  caFile?: string[];
  insecureRegistry?: string[];
  containerd?: string | boolean;
  docker?: string | boolean;
  kubeletDir?: string;
  ctr?: string;
  unpack?: boolean;
  configureContainerd?: boolean;
  containerdConfig?: string;
  hostsDir?: string;
  mirror?: string;
  baseName?: string;
  concurrency?: string;
  dryRun?: boolean;
  json?: boolean;
}


const EXAMPLES = `
Examples:
  # the usual offline node: node registry, containerd, and containerd pulling through the registry
  airgap load k8s.tar --registry http://127.0.0.1:5000 --containerd --configure-containerd

  # a compressed bundle, a docker save archive, k3s's image tarball, or a stream: read in one pass
  airgap load k8s.tar.zst --registry http://127.0.0.1:5000
  airgap load k3s-airgap-images-amd64.tar.zst --registry http://127.0.0.1:5000
  ssh online-host cat k8s.tar.gz | airgap load - --registry http://127.0.0.1:5000

  # see what would be pushed, imported and written (config changes as diffs); change nothing
  airgap load k8s.tar --registry http://127.0.0.1:5000 --containerd --configure-containerd --dry-run

  # a registry with a path prefix, TLS from a private CA, and credentials
  airgap load k8s.tar --registry https://registry.local:5000/k8s --ca-file ca.pem --creds registry.local:5000=admin:secret

  # k3s / RKE2 / k0s: the same command; the node is detected (or say --distribution k3s) and
  # configured its own way: registries.yaml on k3s/RKE2, a drop-in in /etc/k0s/containerd.d on k0s
  airgap load k8s.tar --registry http://127.0.0.1:5000 --containerd --configure-containerd --autoload

  # containerd of k3s (found by its socket), no registry
  airgap load k8s.tar --containerd /run/k3s/containerd/containerd.sock

  # a node whose kubelet uses Docker Engine through cri-dockerd: into Docker's image store, and
  # cri-dockerd's --pod-infra-container-image set to the bundle's pause (a cri-docker.service drop-in)
  airgap load k8s.tar --docker --configure

  # a CRI-O node (detected from kubelet's runtime endpoint, or say --runtime crio): no import;
  # a registries.conf.d mirror per source registry and the bundle's pause in crio.conf.d
  airgap load k8s.tar --registry http://127.0.0.1:5000 --runtime crio --configure

Images land in the registry under their source names: registry.k8s.io/pause:3.9 becomes
<registry>[/prefix]/registry.k8s.io/pause:3.9, the layout the hosts.toml files written by
--configure-containerd point containerd at. Running load again changes nothing that is already
in place; an interrupted load completes when run again.`;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The lines a person reads; the summary says plainly when nothing changed. */
export function summaryLines(s: LoadSummary): string[] {
  const lines: string[] = [];
  const would = s.dryRun ? 'would be ' : '';
  if (s.registry) {
    const r = s.registry;
    const b = r.blobs;
    lines.push(`registry ${r.url}: ${plural(r.images, 'image')} (${r.pushed} ${would}pushed, ${r.present} already present${r.failed ? `, ${r.failed} failed` : ''}); ` +
      `blobs: ${b.pushed} ${would}pushed (${formatBytes(r.bytes)}), ${b.mounted} ${would}mounted, ${b.present} already present`);
  }
  if (s.containerd) {
    const c = s.containerd;
    lines.push(`containerd ${c.address}: ${plural(c.images, 'image')} (${c.imported} ${would}imported, ${c.present} already present${c.failed ? `, ${c.failed} failed` : ''})` +
      `${c.pinned.length ? `; ${would}pinned ${c.pinned.join(', ')}` : ''}`);
  }
  if (s.docker) {
    const d = s.docker;
    lines.push(`docker ${d.socket}: ${plural(d.images, 'image')} (${d.loaded} ${would}loaded, ${d.present} already present${d.failed ? `, ${d.failed} failed` : ''})`);
  }
  if (s.config) {
    const c = s.config;
    const what = s.runtime === 'cri-o' ? 'CRI-O' : s.runtime === 'docker' ? 'cri-dockerd' : s.distribution === undefined || s.distribution === 'kubeadm' ? 'containerd' : s.distribution;
    lines.push(`${what} configuration: ${c.changed.length ? `${plural(c.changed.length, 'file')} ${s.dryRun ? 'would change' : 'changed'}` : 'unchanged'}` +
      `${c.sandboxImage ? `; sandbox image ${c.sandboxImage}` : ''}`);
  }
  if (s.autoload) lines.push(`image archive for every start: ${s.autoload.path} (${s.autoload.status.replace('-', ' ')})`);
  const failed = (s.registry?.failed ?? 0) + (s.containerd?.failed ?? 0) + (s.docker?.failed ?? 0);
  if (failed) lines.push(`Failed: ${plural(failed, 'image')} could not be loaded (see above); images already loaded stay, and running load again continues.`);
  else if (!s.changed && !s.dryRun) lines.push(`Nothing changed: the node already has everything in the bundle (${formatDuration(s.seconds)}).`);
  else if (s.dryRun) lines.push(s.changed ? 'Dry run: nothing was changed.' : 'Dry run: nothing would change.');
  else lines.push(`Done in ${formatDuration(s.seconds)}.`);
  return lines;
}

interface Reporter {
  onEvent(e: LoadEvent): void;
  onRegistryEvent(e: RegistryEvent): void;
  stop(): void;
}

function jsonReporter(out: NodeJS.WritableStream): Reporter {
  return {
    onEvent(e) {
      if (e.event === 'blob-progress') return;
      out.write(`${JSON.stringify(e)}\n`);
    },
    onRegistryEvent(e) {
      if (e.type === 'retry' || e.type === 'resume' || e.type === 'fallback' || (e.type === 'credentials' && e.warning)) {
        const { type, ...rest } = e;
        out.write(`${JSON.stringify({ event: 'registry', type, ...rest })}\n`);
      }
    },
    stop() {},
  };
}

function humanReporter(out: NodeJS.WriteStream, err: NodeJS.WriteStream, restartHint: { needed: boolean; command: string; what: string }): Reporter {
  const live = out.isTTY && !process.env.CI && process.env.TERM !== 'dumb';
  let spinner: Ora | undefined;
  /** the live line is wanted (between start and summary); it appears once ora has loaded */
  let wantSpinner = false;
  if (live) void preloadSpinner();
  let total = 0;
  let done = 0;
  let last = 0;
  const print = (line: string, stream: NodeJS.WriteStream = out): void => {
    if (spinner?.isSpinning) {
      spinner.clear();
      stream.write(`${line}\n`);
      spinner.render();
    } else stream.write(`${line}\n`);
  };
  return {
    onEvent(e) {
      switch (e.event) {
        case 'start':
          total = e.bytes;
          print(`${e.dryRun ? 'Dry run: would load' : 'Loading'} ${plural(e.images, 'image')} (${plural(e.blobs, 'blob')}, ${formatBytes(e.bytes)}) from ${e.bundle} into ${e.targets.join(', ')}`);
          wantSpinner = live;
          if (wantSpinner) spinner = startSpinner({ text: 'checking what the node has', stream: out, discardStdin: false });
          break;
        case 'blob-progress': {
          done += e.bytes;
          const now = Date.now();
          if (!spinner && wantSpinner) spinner = startSpinner({ text: 'checking what the node has', stream: out, discardStdin: false });
          if (spinner && now - last > 100) {
            last = now;
            spinner.text = `${formatBytes(done)} / ${formatBytes(total)}`;
          }
          break;
        }
        case 'registry-image': {
          const b = e.blobs;
          const detail = e.status === 'failed' ? `: ${e.error}`
            : e.status === 'present' ? ''
              : ` (${b.pushed} blob${b.pushed === 1 ? '' : 's'} ${e.status === 'would-push' ? 'to push' : 'pushed'}, ${formatBytes(e.bytes)}${b.mounted ? `; ${b.mounted} mounted` : ''}${b.present ? `; ${b.present} already there` : ''})`;
          const label = e.status === 'present' ? 'present  ' : e.status === 'would-push' ? 'would push' : e.status === 'failed' ? 'FAILED   ' : 'pushed   ';
          print(`  registry   ${label} ${e.destination}${detail}${e.servedDigest ? ` [served as ${shortDigest(e.servedDigest)}]` : ''}`);
          break;
        }
        case 'containerd-image': {
          const label = e.status === 'present' ? 'present  ' : e.status === 'would-import' ? 'would import' : e.status === 'failed' ? 'FAILED   ' : 'imported ';
          print(`  containerd ${label} ${e.image}${e.status === 'failed' ? `: ${e.error}` : e.status === 'present' ? '' : ` (${e.platform})`}`);
          break;
        }
        case 'docker-engine':
          print(`  docker     Docker Engine ${e.version} (API ${e.apiVersion}) at ${e.socket}`);
          break;
        case 'docker-image': {
          const label = e.status === 'present' ? 'present  ' : e.status === 'would-load' ? 'would load' : e.status === 'failed' ? 'FAILED   ' : 'loaded   ';
          const detail = e.status === 'failed' ? `: ${e.error}`
            : e.status === 'present' ? ''
              : ` (${[e.platform, e.imageId ? `image ID ${shortDigest(e.imageId)}` : undefined].filter(Boolean).join(', ')})`;
          print(`  docker     ${label} ${e.image}${detail}`);
          break;
        }
        case 'node':
          print(`  node       ${e.title} (${e.source === 'given' ? (e.evidence[0]?.startsWith('--runtime') ? '--runtime' : '--distribution') : e.source === 'default' ? 'assumed' : 'detected'}: ${e.evidence.filter((x) => !x.startsWith('--distribution') && !x.startsWith('--runtime')).slice(0, 3).join('; ') || 'as given'})${e.containerdSocket ? `; containerd at ${e.containerdSocket}` : ''}`);
          break;
        case 'autoload':
          print(`  autoload   ${e.status.replace('-', ' ').padEnd(9)} ${e.path}${e.how ? ` (${e.how === 'link' ? 'hard link' : 'copy'})` : ''}: ${e.note}`);
          break;
        case 'containerd-pin':
          print(`  containerd ${e.status === 'pinned' ? 'pinned   ' : e.status === 'would-pin' ? 'would pin' : 'pinned   '} ${e.image}${e.status === 'already-pinned' ? ' (already)' : ''} (io.cri-containerd.pinned=pinned)`);
          break;
        case 'config':
          print(`  config     ${e.status.replace('-', ' ').padEnd(9)} ${e.path}${e.reason ? ` (${e.reason})` : ''}${e.backup ? `; previous version kept as ${e.backup}` : ''}`);
          if (e.diff && e.status.startsWith('would')) print(e.diff.replace(/\n$/, '').split('\n').map((l) => `    ${l}`).join('\n'));
          break;
        case 'warning':
          print(`warning: ${e.message}`, err);
          break;
        case 'notice':
          print(`  note: ${e.message}`);
          break;
        case 'summary':
          wantSpinner = false;
          spinner?.stop();
          spinner = undefined;
          for (const l of summaryLines(e.summary)) print(l);
          if (e.summary.config && restartHint.needed) print(`${/\breload\b/.test(restartHint.command) ? 'Reload' : 'Restart'} ${restartHint.what} so it reads the new configuration: ${restartHint.command}`);
          break;
      }
    },
    onRegistryEvent(e) {
      if (e.type === 'retry') print(`  retry: ${e.method} ${e.url} (${e.reason}), attempt ${e.attempt + 1} of ${e.attempts}`, err);
      else if (e.type === 'credentials' && e.warning) print(`warning: ${e.warning}`, err);
    },
    stop() {
      wantSpinner = false;
      spinner?.stop();
    },
  };
}

function parseLayout(value: string): 'registry' | 'flat' {
  if (value === 'registry' || value === 'flat') return value;
  throw new UsageError('ERR_USAGE', `unknown --layout ${JSON.stringify(value)}`, { hint: 'use --layout registry (the default) or --layout flat (Sealos image-cri-shim)' });
}

async function run(bundle: string, flags: LoadFlags): Promise<void> {
  // --configure is the runtime-neutral name of --configure-containerd.
  if (flags.configure) flags.configureContainerd = true;
  const concurrency = parseConcurrency(flags.concurrency, DEFAULT_LOAD_CONCURRENCY, 'e.g. --concurrency 4');
  const anyConfigFlag = flags.containerdConfig !== undefined || flags.hostsDir !== undefined || flags.mirror !== undefined;
  if (anyConfigFlag && !flags.configureContainerd) {
    throw new UsageError('ERR_USAGE', '--containerd-config, --hosts-dir and --mirror only apply with --configure-containerd', {
      hint: 'add --configure-containerd',
    });
  }
  const wantContainerd = flags.containerd !== undefined && flags.containerd !== false;
  const wantDocker = flags.docker !== undefined && flags.docker !== false;
  const mirrorUrl = flags.mirror ?? flags.registry;
  const mirror = flags.configureContainerd && mirrorUrl !== undefined ? parseRegistryUrl(mirrorUrl) : undefined;
  const mirrorHost = mirror?.origin.startsWith('https:') ? mirror.host : undefined;
  const restart = { needed: false, command: 'systemctl restart containerd', what: 'containerd' };
  const reporter = flags.json ? jsonReporter(process.stdout) : humanReporter(process.stdout, process.stderr, restart);
  const opts: LoadOptions = {
    bundle,
    ...(flags.distribution !== undefined ? { distribution: parseDistributionFlag(flags.distribution) } : {}),
    ...(flags.runtime !== undefined ? { runtime: parseRuntimeFlag(flags.runtime) } : {}),
    ...(flags.kubernetes !== undefined ? { release: flags.kubernetes } : {}),
    ...(flags.autoload ? { autoload: true } : {}),
    ...(flags.baseName ? { baseName: flags.baseName } : {}),
    ...(flags.tmpDir ? { tmpDir: flags.tmpDir } : {}),
    ...(flags.registry !== undefined ? {
      registry: {
        url: flags.registry,
        credentials: flags.creds ?? [],
        caFiles: flags.caFile ?? [],
        insecure: flags.insecureRegistry ?? [],
        ...(flags.layout !== undefined ? { layout: parseLayout(flags.layout) } : {}),
      },
    } : {}),
    ...(wantContainerd ? {
      containerd: {
        ...(typeof flags.containerd === 'string' ? { socket: flags.containerd } : {}),
        ...(flags.ctr ? { ctr: flags.ctr.split(/\s+/).filter(Boolean) } : {}),
        unpack: flags.unpack ?? true,
      },
    } : {}),
    ...(wantDocker ? { docker: typeof flags.docker === 'string' ? { socket: flags.docker } : {} } : {}),
    ...(flags.kubeletDir !== undefined ? { kubeletDir: flags.kubeletDir } : {}),
    ...(flags.configureContainerd ? {
      configureContainerd: {
        ...(flags.containerdConfig ? { configPath: flags.containerdConfig } : {}),
        ...(flags.hostsDir ? { hostsDir: flags.hostsDir } : {}),
        ...(flags.mirror ? { mirror: flags.mirror } : {}),
        // containerd trusts the mirror as we do: the first --ca-file, --insecure-registry for its host
        ...(flags.caFile?.length ? { caFile: flags.caFile[0] } : {}),
        ...(mirrorHost && flags.insecureRegistry?.some((h) => h === mirrorHost || h === mirrorHost.replace(/:\d+$/, '')) ? { skipVerify: true } : {}),
      },
    } : {}),
    dryRun: flags.dryRun ?? false,
    concurrency,
    onEvent: (e) => {
      if (e.event === 'summary' && e.summary.config) {
        restart.needed = e.summary.config.restartNeeded && !e.summary.dryRun;
        if (e.summary.config.restartCommand) restart.command = e.summary.config.restartCommand;
        if (e.summary.config.restartWhat) restart.what = e.summary.config.restartWhat;
      }
      reporter.onEvent(e);
    },
    onRegistryEvent: (e) => reporter.onRegistryEvent(e),
  };
  const onSignal = (): void => process.exit(ExitCode.Interrupted);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    await load(opts);
  } finally {
    reporter.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('load')
    .argument('<bundle>', 'the bundle, any OCI layout tar (skopeo oci-archive, ctr images export, k0s bundles) or docker-archive (docker save, podman save, k3s/RKE2 image tarballs); .tar.gz/.tar.zst read by content in one pass; "-" reads standard input')
    .summary('seed the node registry and containerd from a bundle, and point containerd at the registry')
    .description(
      'Push every image of the bundle into the node registry under its source name, import it into containerd ' +
        '(namespace k8s.io, the pause image pinned), and configure containerd to pull through the node registry with ' +
        'the bundle\'s pause as sandbox image. Every blob is checked against its digest as it streams; an image becomes ' +
        'visible only once all its content landed. On a node whose kubelet uses Docker Engine through cri-dockerd, ' +
        '--docker loads every image into Docker\'s image store instead.',
    )
    .option('--registry <url>', 'the node registry, e.g. http://127.0.0.1:5000 (a path is a repository prefix)')
    .option('--layout <layout>', 'registry (default): <registry>/<source registry>/<repository>; flat: <registry>/<repository>, the names Sealos\'s image-cri-shim asks for')
    .option('--distribution <name>', 'the kind of node: auto (detect from its files, sockets and binaries), kubeadm, k3s, rke2 or k0s', 'auto')
    .option('--runtime <runtime>', 'the runtime kubelet uses: auto (kubelet\'s runtime endpoint, then the sockets present), containerd, crio or docker', 'auto');
  addRegistryAccessOptions(cmd, 'the registry');
  cmd
    .option('--containerd [socket]', 'import into containerd (default socket /run/containerd/containerd.sock, or k3s\'s / k0s\'s)')
    .option('--ctr <command>', 'the ctr to run, e.g. "k3s ctr" (default: ctr on PATH, else k3s ctr or k0s ctr)')
    .option('--no-unpack', 'import without unpacking layers (containerd unpacks when a container first starts)')
    .option('--configure-containerd', 'make kubelet\'s pulls go to the registry, the node\'s way: hosts.toml + sandbox image (kubeadm), registries.yaml (k3s/RKE2), a containerd.d drop-in (k0s), registries.conf.d + crio.conf.d drop-ins (CRI-O), a cri-docker.service drop-in with the pause (cri-dockerd)')
    .option('--configure', 'the same as --configure-containerd, by its runtime-neutral name')
    .option('--containerd-config <path>', 'kubeadm nodes: containerd\'s config file (default /etc/containerd/config.toml)')
    .option('--hosts-dir <dir>', 'kubeadm nodes: where hosts.toml files go (default: config_path if set, else /etc/containerd/certs.d)')
    .option('--docker [socket]', 'a node whose kubelet uses cri-dockerd: load into Docker Engine\'s image store (default socket /var/run/docker.sock)')
    .option('--kubelet-dir <dir>', 'kubelet\'s directory, for the runtime it uses (default /var/lib/kubelet)')
    .option('--autoload', 'k3s/RKE2/k0s: also place the bundle in the directory the distribution imports at every start (hard link when possible)')
    .option('--kubernetes <release>', 'the release the node runs, e.g. v1.30.14+k3s1: to judge its default pause image')
    .option('--mirror <url>', 'configure containerd to pull through this URL instead of --registry (e.g. an airgap serve address)')
    .option('--base-name <repository>', 'for archives naming images by tag only (skopeo): the repository, e.g. registry.k8s.io/pause')
    .option('--concurrency <n>', `blobs transferred at once (default ${DEFAULT_LOAD_CONCURRENCY})`)
    .option('--tmp-dir <dir>', 'reading a stream (stdin, .tar.gz, .tar.zst): where content that passes before it is needed waits (a docker-archive names its images after its layers; two targets both read each blob); default the system temp directory')
    .option('--dry-run', 'print what would be pushed, imported and written (config changes as diffs); change nothing')
    .option('--json', 'newline-delimited JSON events instead of lines')
    .addHelpText('after', EXAMPLES)
    .action(async (bundle: string, flags: LoadFlags) => run(bundle, flags));
}
