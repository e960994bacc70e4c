import { availableParallelism } from 'node:os';
import { HashPool } from '../../content/hash-pool.js';
import { addRegistryAccessOptions, collect, parseConcurrency } from '../options.js';
import { setEventStream } from '../event-stream.js';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { FileError, UsageError } from '../../errors.js';
import { kubernetesImages } from '../../kubernetes/image-set.js';
import { parsePlatform, parsePlatformSelection, type PlatformSelection } from '../../oci/platform.js';
import { DEFAULT_CONCURRENCY, defaultOutputName, pack } from '../../pack/pack.js';
import { parseRate } from '../../pack/rate-limit.js';
import type { SourceProvider } from '../../pack/resolve.js';
import { RegistryClient } from '../../registry/client.js';
import { ExitCode } from '../exit-codes.js';
import { createPackReporter, progressMode } from '../progress.js';
import { readLoaders } from '../../pack/loaders.js';

interface PackFlags {
  includeLoader?: string | boolean;
  kubernetes?: string;
  distribution?: string;
  imageRepository?: string;
  image?: string[];
  imagesFile?: string[];
  list?: string;
  platform?: string;
  registryMirror?: string[];
  creds?: string[];
  caFile?: string[];
  insecureRegistry?: string[];
  lock?: string;
  concurrency?: string;
  limitRate?: string;
  output?: string;
  dryRun?: boolean;
  json?: boolean;
  dockerPlatform?: string;
  ociMediaTypes?: boolean;
}


const EXAMPLES = `
Examples:
  # every image kubeadm needs for v1.30.14, linux/amd64, checked against the distribution's list
  airgap pack --kubernetes v1.30.14 --list airgap-images-list.txt -o k8s.tar

  # RKE2: pack the list published with the release, checked against it (its pause above all)
  airgap pack --distribution rke2 --kubernetes v1.30.14+rke2r1 --list rke2-images-core.linux-amd64.txt -o rke2.tar

  # all platforms, exactly as upstream (index digests unchanged), plus an extra image
  airgap pack --kubernetes v1.30.14 --platform all --image docker.io/calico/node:v3.28.0

  # through a local mirror of registry.k8s.io, pinning digests for the next run
  airgap pack --kubernetes v1.30.14 --registry-mirror registry.k8s.io=http://127.0.0.1:5000/registry.k8s.io \\
    --insecure-registry 127.0.0.1:5000 --lock k8s.lock.json

  # stream to another machine; progress as JSON on stderr
  airgap pack --kubernetes v1.30.14 -o - --json | ssh node 'cat > k8s.tar'

  # for arm64 Docker hosts (docker load -i reads manifest.json, one platform)
  airgap pack --kubernetes v1.30.14 --platform linux/amd64,linux/arm64 --docker-platform linux/arm64

  # for podman, buildah and skopeo reading the tar directly (oci-archive:): OCI media types, NEW digests
  airgap pack --kubernetes v1.30.14 --oci-media-types -o k8s-oci.tar

Every bundle is an OCI layout (ctr images import, k3s/RKE2 agent/images, skopeo oci-archive:) and
also carries manifest.json, so Docker's "docker load -i k8s.tar" loads every image by name, for one
platform (--docker-platform). Upstream digests are kept unless --oci-media-types is given.

An interrupted pack continues where it stopped when run again with the same arguments
(OUT.partial and OUT.partial.json hold its progress). SOURCE_DATE_EPOCH fixes the creation time,
so the same inputs give a byte-identical bundle.`;

/** Said on stderr before anything else, whatever the output mode: the one flag that changes digests. */
const OCI_MEDIA_TYPES_WARNING =
  'warning: --oci-media-types rewrites every Docker manifest list and manifest with OCI media types: those images get NEW digests\n' +
  '  (layers and configs keep theirs; the upstream digests are recorded in airgap-bundle.json, "convertedFrom").\n' +
  '  References pinned by digest (image@sha256:<upstream digest>), lock files and admission policies that pin upstream digests\n' +
  '  will not match the images of this bundle or of nodes and registries loaded from it.\n';

function sourceDateEpoch(): number | undefined {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,11}$/.test(v.trim())) {
    throw new UsageError('ERR_INVALID_SOURCE_DATE_EPOCH', `SOURCE_DATE_EPOCH "${v}" is not a number of seconds since 1970`, {
      hint: 'e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or unset it',
    });
  }
  return Number(v.trim());
}

/** A typo in -o is said before minutes of resolving and downloading, not after. */
async function checkOutputPath(output: string): Promise<void> {
  const st = await stat(output).catch(() => undefined);
  if (st?.isDirectory()) {
    throw new FileError('ERR_OUTPUT_IS_DIRECTORY', `cannot write the bundle to ${output}: it is a directory`, {
      hint: `name a file, e.g. -o ${output.replace(/\/+$/, '')}/k8s.tar`,
      details: { path: output },
    });
  }
  const dir = dirname(resolve(output));
  const parent = await stat(dir).catch(() => undefined);
  if (!parent?.isDirectory()) {
    throw new FileError('ERR_OUTPUT_DIRECTORY_MISSING', `cannot write the bundle to ${output}: ${parent ? `${dir} is not a directory` : `directory ${dir} does not exist`}`, {
      hint: `create it first (mkdir -p ${dir}) or choose another -o`,
      details: { path: output },
    });
  }
}

async function run(flags: PackFlags): Promise<void> {
  const platforms: PlatformSelection | undefined = flags.platform !== undefined ? parsePlatformSelection(flags.platform) : undefined;
  const concurrency = parseConcurrency(flags.concurrency, DEFAULT_CONCURRENCY, 'e.g. --concurrency 4 (more helps on links with high latency)');
  const limitRate = flags.limitRate !== undefined ? parseRate(flags.limitRate) : undefined;
  const dockerPlatform = flags.dockerPlatform !== undefined ? parsePlatform(flags.dockerPlatform) : undefined;
  const epoch = sourceDateEpoch();
  const loaders = flags.includeLoader !== undefined && flags.includeLoader !== false
    ? await readLoaders(platforms ?? { all: false, platforms: [{ os: 'linux', architecture: 'amd64' }] }, typeof flags.includeLoader === 'string' ? flags.includeLoader : undefined)
    : undefined;
  const toStdout = flags.output === '-';
  if (toStdout && process.stdout.isTTY) {
    throw new UsageError('ERR_OUTPUT_IS_TERMINAL', 'refusing to write a tar bundle to a terminal', {
      hint: 'redirect it (-o - > k8s.tar, or | ssh host "cat > k8s.tar"), or name a file with -o',
    });
  }
  let output = flags.output;
  if (output === undefined) {
    // Named for the version as resolved (1.30 -> v1.30.14), like the metadata records it.
    const version = flags.kubernetes !== undefined
      ? kubernetesImages(flags.kubernetes, { ...(flags.distribution ? { distribution: flags.distribution } : {}) }).version
      : undefined;
    output = defaultOutputName(version, platforms ?? { all: false, platforms: [{ os: 'linux', architecture: 'amd64' }] });
  }

  if (!toStdout && !flags.dryRun) await checkOutputPath(output);

  if (flags.ociMediaTypes) process.stderr.write(OCI_MEDIA_TYPES_WARNING);
  const humanStream = toStdout ? process.stderr : process.stdout;
  setEventStream(humanStream);
  const reporter = createPackReporter(progressMode({ json: flags.json ?? false, stream: humanStream }), humanStream);
  // With a core to spare, layers are hashed on a thread of their own (it boots, ~35 ms, while the
  // images resolve). On 2 cores the registry or the kernel already has the other one: measured,
  // the thread only competed with them and added copies (docs/benchmarks.md).
  const hashPool = flags.dryRun || availableParallelism() < 4 ? undefined : new HashPool();
  hashPool?.start();
  const client = new RegistryClient({
    ...(hashPool ? { hashPool } : {}),
    mirrors: flags.registryMirror ?? [],
    credentials: flags.creds ?? [],
    caFiles: flags.caFile ?? [],
    insecure: flags.insecureRegistry ?? [],
    onEvent: (e) => reporter.onRegistryEvent(e),
  });
  // SIGTERM/SIGHUP end the process like Ctrl-C: through process.exit, so the writer's exit hook
  // saves the last checkpoint and the next run resumes.
  const onSignal = (): void => process.exit(ExitCode.Interrupted);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    const sources: SourceProvider = { repository: (ref) => client.repository(ref) };
    await pack({
      ...(flags.kubernetes !== undefined ? { kubernetes: flags.kubernetes } : {}),
      ...(flags.distribution ? { distribution: flags.distribution } : {}),
      ...(flags.imageRepository ? { imageRepository: flags.imageRepository } : {}),
      images: flags.image ?? [],
      imagesFiles: flags.imagesFile ?? [],
      ...(flags.list !== undefined ? { list: flags.list } : {}),
      ...(platforms ? { platforms } : {}),
      ...(flags.lock !== undefined ? { lock: flags.lock } : {}),
      output: toStdout ? process.stdout : output,
      sources,
      concurrency,
      ...(limitRate ? { limitRate } : {}),
      ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
      dryRun: flags.dryRun ?? false,
      ...(loaders ? { loaders } : {}),
      ...(dockerPlatform ? { dockerPlatform } : {}),
      ociMediaTypes: flags.ociMediaTypes ?? false,
      onEvent: (e) => reporter.onEvent(e),
    });
  } finally {
    reporter.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    await client.close().catch(() => {});
    await hashPool?.close().catch(() => {});
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('pack')
    .summary('resolve a Kubernetes version\'s images and stream every blob into one bundle')
    .description(
      'Resolve every image (the Kubernetes version\'s set, pause included, plus --image, --images-file and --list) to a digest, ' +
        'check them all before any layer moves, then write one OCI-layout tar bundle that skopeo and ctr read as it is.',
    )
    .option('-k, --kubernetes <version>', 'Kubernetes version whose images to pack, e.g. v1.30.14')
    .option('--distribution <name>', 'whose image set: kubeadm (default), k0s, k3s or rke2')
    .option('--image-repository <repo>', 'the image repository the cluster is configured with (kubeadm --image-repository)')
    .option('--image <ref>', 'an extra image (repeatable)', collect)
    .option('--images-file <file>', 'a file of extra images, one a line (repeatable; "-" reads stdin)', collect)
    .option('--list <file>', "the distribution's published list (airgap-images-list.txt, k3s-images.txt, rke2-images*.txt): pack refuses to start when it disagrees with the version; for k3s and rke2 it is the set packed, refused only when its pause is not the release's")
    .option('--platform <list>', 'linux/amd64 (default), a comma-separated list, or "all" to keep every platform exactly as upstream')
    .option('--registry-mirror <src=url>', 'fetch images of registry SRC from URL, e.g. registry.k8s.io=http://127.0.0.1:5000/registry.k8s.io (repeatable)', collect);
  addRegistryAccessOptions(cmd, 'registries');
  cmd
    .option('--lock <file>', 'tag -> digest pins: written when absent; when present, exactly those digests are packed')
    .option('--concurrency <n>', `layers fetched at once (default ${DEFAULT_CONCURRENCY})`)
    .option('--limit-rate <rate>', 'download at most this many bytes per second overall, e.g. 2M')
    .option('-o, --output <file>', 'the bundle file, or "-" for stdout (default: airgap-k8s-<version>-<platforms>.tar)')
    .option('--include-loader [dir]', 'carry the airgap executables for the bundle\'s platforms (npm run build:exe; default: dist/exe, or next to this executable), so a node without Node.js needs only the bundle')
    .option('--docker-platform <os/arch[/variant]>', 'the platform manifest.json names each image for, so "docker load -i BUNDLE" (Docker Engine, one platform per image) loads them by name (default: this machine\'s platform when the bundle holds it, else the first --platform); images without it are left out of manifest.json, with a notice')
    .option('--oci-media-types', 'rewrite Docker manifest lists and manifests with OCI media types (config and layer bytes unchanged), for containers/image tools that read the tar itself (podman pull, buildah from, skopeo copy oci-archive:BUNDLE:REF): they refuse an image whose manifest is a Docker one, and skopeo copy --all --preserve-digests into an OCI layout refuses Docker manifest lists. COST: those images get NEW digests; image@sha256:<upstream digest> references, lock files and policies pinning upstream digests no longer match them. Without it, for those tools: airgap serve (or airgap load into a registry), then pull')
    .option('--dry-run', 'resolve and check everything, print the plan, transfer nothing')
    .option('--json', 'newline-delimited JSON events instead of progress (on stderr with -o -)')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: PackFlags) => run(flags));
}
