import { collect } from '../options.js';
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { parseReference } from '../../oci/reference.js';
import {
  authoritativeList,
  checkPublishedList,
  compareImageLists,
  DEFAULT_DISTRIBUTION,
  describeListDifferences,
  distributionNames,
  kubernetesImages,
  ListPauseMismatchError,
  readImageList,
  supportedVersions,
  type KubernetesImageSet,
} from '../../kubernetes/index.js';
import { ImageListMismatchError } from '../../pack/errors.js';

interface ImagesOptions {
  kubernetes?: string;
  distribution: string;
  image?: string[];
  imagesFile?: string[];
  list?: string;
  imageRepository?: string;
  variant?: string[];
  output: 'text' | 'json';
  listVersions?: boolean;
}

interface OutputImage {
  ref: string;
  role: string;
  /** where an extra image came from: "--image" or "file:line" */
  source?: string;
}

// No default array: commander would print "(default: [])" in --help.

function note(text: string): void {
  process.stderr.write(`note: ${text}\n`);
}

function parseVariants(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const m = /^([A-Za-z0-9_-]+)=([A-Za-z0-9_.-]+)$/.exec(v.trim());
    if (!m) {
      throw new UsageError('ERR_INVALID_VARIANT', `invalid --variant ${JSON.stringify(v)}: expected KEY=VALUE`, {
        hint: 'e.g. --variant cni=calico (see the distribution\'s variants in `airgap images --help`)',
        details: { variant: v },
      });
    }
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

function supportedSummary(): string {
  try {
    return distributionNames()
      .map((name) => {
        const rows = supportedVersions(name);
        const first = rows[0];
        const last = rows[rows.length - 1];
        return first && last ? `  ${name.padEnd(8)} ${first.first} to ${last.last}` : '';
      })
      .filter(Boolean)
      .join('\n');
  } catch {
    return '';
  }
}

function describeResolution(set: KubernetesImageSet): string | undefined {
  if (set.exact) return undefined;
  const requested = set.requested.trim();
  const minorOnly = /^v?\d+\.\d+$/.test(requested);
  return minorOnly
    ? `${requested} -> ${set.version}, the newest ${set.version.replace(/^(v\d+\.\d+).*$/, '$1')} patch airgap knows for ${set.distribution}`
    : `${requested} -> ${set.version}`;
}

/**
 * --list: for k3s and RKE2 the published list is the release's set (checked against the data, the pause
 * must be the release's); for kubeadm and k0s the version's set comes first and the list must agree with it.
 */
async function addList(file: string, set: KubernetesImageSet, add: (image: OutputImage) => void): Promise<void> {
  const entries = await readImageList(file);
  const name = file === '-' ? '<stdin>' : file;
  const lineOf = new Map(entries.map((e) => [e.ref, e.line]));
  if (authoritativeList(set.distribution)) {
    const check = checkPublishedList(entries, set);
    if (!check.pauseOk) throw new ListPauseMismatchError(name, check, 'nothing printed');
    for (const d of describeListDifferences(check, (r) => lineOf.get(r))) note(`${name}: ${d}`);
    const roleOf = new Map(set.images.map((i) => [i.ref, i.role]));
    for (const e of entries) {
      const role = roleOf.get(e.ref);
      add(role ? { ref: e.ref, role } : { ref: e.ref, role: 'extra', source: `${name}:${e.line}` });
    }
    return;
  }
  const cmp = compareImageLists(entries.map((e) => e.ref), set.images);
  if (cmp.mismatched.length) {
    const mismatches = cmp.mismatched.map((m) => {
      const line = lineOf.get(m.listRef);
      return line === undefined ? m : { ...m, line };
    });
    throw new ImageListMismatchError(name, `${set.version} (${set.distribution})`, mismatches, 'nothing printed');
  }
  for (const image of set.images) add({ ref: image.ref, role: image.role });
  for (const e of entries) add({ ref: e.ref, role: 'extra', source: `${name}:${e.line}` });
}

async function run(opts: ImagesOptions): Promise<void> {
  const images = opts.image ?? [];
  const files = opts.imagesFile ?? [];
  const variants = opts.variant ?? [];
  if (opts.listVersions) {
    const rows = supportedVersions(opts.distribution);
    if (opts.output === 'json') {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    } else {
      for (const r of rows) process.stdout.write(`${r.minor.padEnd(6)} ${r.first === r.last ? r.first : `${r.first} - ${r.last}`}\n`);
    }
    return;
  }
  if (opts.list !== undefined && opts.kubernetes === undefined) {
    throw new UsageError('ERR_USAGE', '--list is checked against a release: give --kubernetes too', {
      hint: 'e.g. airgap images --distribution k3s --kubernetes v1.30.14+k3s1 --list k3s-images.txt; to add a file\'s images as they are, use --images-file',
    });
  }
  if (opts.kubernetes === undefined) {
    if (images.length === 0 && files.length === 0) {
      throw new UsageError('ERR_NOTHING_TO_LIST', 'no images asked for: give --kubernetes, --image or --images-file', {
        hint: 'e.g. airgap images --kubernetes v1.30.14',
      });
    }
    const orphan = opts.imageRepository !== undefined ? '--image-repository' : variants.length > 0 ? '--variant' : undefined;
    if (orphan) {
      throw new UsageError('ERR_USAGE', `${orphan} only applies to the images of --kubernetes, which is missing`, {
        hint: 'add --kubernetes <version>, or drop the option',
      });
    }
  }

  const out: OutputImage[] = [];
  const seen = new Set<string>();
  const add = (image: OutputImage): void => {
    if (seen.has(image.ref)) return;
    seen.add(image.ref);
    out.push(image);
  };

  if (opts.kubernetes !== undefined) {
    const set = kubernetesImages(opts.kubernetes, {
      distribution: opts.distribution,
      ...(opts.imageRepository !== undefined ? { imageRepository: opts.imageRepository } : {}),
      ...(variants.length > 0 ? { variants: parseVariants(variants) } : {}),
    });
    const resolution = describeResolution(set);
    if (resolution) note(resolution);
    if (opts.list !== undefined) {
      await addList(opts.list, set, add);
    } else {
      for (const image of set.images) add({ ref: image.ref, role: image.role });
    }
  }
  for (const file of files) {
    const entries = await readImageList(file);
    const name = file === '-' ? '<stdin>' : file;
    for (const e of entries) add({ ref: e.ref, role: 'extra', source: `${name}:${e.line}` });
  }
  for (const ref of images) add({ ref: parseReference(ref.trim()).toString(), role: 'extra', source: '--image' });

  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(out.map((i) => `${i.ref}\n`).join(''));
  }
}

export function register(program: Command): void {
  program
    .command('images')
    .summary('print the images a Kubernetes version pulls (plus your own)')
    .description(
      'Print the images a cluster of a Kubernetes version pulls, one full reference a line, exactly as ' +
        '`kubeadm config images list --kubernetes-version <version>` would (pause included), followed by ' +
        'the images you add. With --distribution k0s, k3s or rke2, what that distribution publishes for the release ' +
        '(k0s airgap list-images, k3s-images.txt, rke2-images-core.linux-<arch>.txt). Notes go to stderr, so stdout is the list alone.',
    )
    .option('--kubernetes <version>', 'Kubernetes release (v1.30.14, 1.30.14) or minor (v1.30 = newest patch known)')
    .addOption(new Option('--distribution <name>', 'whose image list: kubeadm, k0s, k3s or rke2').default(DEFAULT_DISTRIBUTION))
    .option('--image <ref>', 'add an image (repeatable)', collect)
    .option('--images-file <file>', 'add the images of a list file, one reference a line; "-" reads stdin (repeatable)', collect)
    .option('--list <file>', "the distribution's published list for --kubernetes (k3s-images.txt, rke2-images*.txt, airgap-images-list.txt), checked against the release; for k3s and rke2 it is the set printed")
    .option('--image-repository <repo>', 'registry (and path) the cluster pulls from instead, as kubeadm\'s --image-repository')
    .option('--variant <key=value>', 'choose a distribution variant, e.g. cni=calico for k0s (default: all variants)', collect)
    .addOption(new Option('--output <format>', 'text: one ref a line; json: [{ref, role}]').choices(['text', 'json']).default('text'))
    .option('--list-versions', 'print the versions airgap knows for the distribution (kubeadm, k0s, k3s, rke2) and exit')
    .addHelpText(
      'after',
      () =>
        `
Examples:
  # what kubeadm v1.30.14 pulls (same as kubeadm config images list)
  airgap images --kubernetes v1.30.14

  # the newest patch airgap knows of a minor (the resolved version is noted on stderr)
  airgap images --kubernetes v1.30

  # add your own images: CNI, ingress, apps (list: one ref a line, "#" comments)
  airgap images --kubernetes v1.30.14 --images-file extra-images.txt --image docker.io/calico/node:v3.28.1

  # the names a cluster with --image-repository pulls
  airgap images --kubernetes v1.30.14 --image-repository registry.example.com:5000/k8s

  # k0s (what \`k0s airgap list-images --all\` prints), calico only
  airgap images --distribution k0s --kubernetes v1.30 --variant cni=calico

  # RKE2: the core set of a release (rke2-images-core.linux-amd64.txt); k3s: k3s-images.txt
  airgap images --distribution rke2 --kubernetes v1.30.14+rke2r1

  # k3s / RKE2: the list published with the release is its set; a pause that is not the release's fails (exit 1)
  airgap images --distribution rke2 --kubernetes v1.30.14+rke2r1 --list rke2-images.linux-amd64.txt

  # for scripts
  airgap images --kubernetes v1.30.14 --output json

Versions airgap knows (--list-versions for every minor):
${supportedSummary()}
Unknown versions are refused (exit 2) rather than guessed.
`,
    )
    .action(async (opts: ImagesOptions) => {
      await run(opts);
    });
}
