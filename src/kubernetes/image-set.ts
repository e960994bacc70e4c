import { parseReference } from '../oci/reference.js';
import { quote } from './quote.js';
import { InvalidImageRepositoryError, InvalidVariantError, UnsupportedKubernetesVersionError } from './errors.js';
import { distributionNames, loadDistribution, orderedImages, releaseVariables, renderTemplate, templateDefined, type Distribution, type ReleaseRange } from './manifest-data.js';
import { compareKubernetesVersions, formatKubernetesVersion, minorOf, parseKubernetesVersion, type KubernetesVersion } from './version.js';

export const DEFAULT_DISTRIBUTION = 'kubeadm';

/** One image a cluster pulls, and what it is for. */
export interface RequiredImage {
  /** fully normalized reference, e.g. registry.k8s.io/pause:3.9 */
  ref: string;
  /** kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, coredns, pause, etcd, … */
  role: string;
}

export interface KubernetesImageSet {
  distribution: string;
  /** what the caller asked for, as written: v1.30, 1.30.14 */
  requested: string;
  /** the release the images are for: v1.30.14, v1.30.14+k0s.0 */
  version: string;
  /** false when `requested` was resolved to another spelling or to the newest known patch */
  exact: boolean;
  images: RequiredImage[];
}

export interface KubernetesImagesOptions {
  /** kubeadm (default), k0s, … : a file in manifests/ */
  distribution?: string;
  /** kubeadm's --image-repository / k0s's spec.images.repository */
  imageRepository?: string;
  /** e.g. { cni: 'calico' }; a variant left out includes the images of all its values */
  variants?: Record<string, string>;
}

export interface SupportedMinor {
  /** v1.30 */
  minor: string;
  /** oldest known release of that minor, e.g. v1.30.0 */
  first: string;
  /** newest known release of that minor, e.g. v1.30.14 */
  last: string;
}

function releaseName(v: KubernetesVersion, range: ReleaseRange): string {
  return formatKubernetesVersion({ major: v.major, minor: v.minor, patch: v.patch as number, ...(range.build ? { build: range.build } : {}) });
}

function rangeName(range: ReleaseRange, end: 'from' | 'to'): string {
  return releaseName(range[end], range);
}

/** The supported releases, one row per minor, oldest first. */
export function supportedVersions(distribution: string = DEFAULT_DISTRIBUTION): SupportedMinor[] {
  const d = loadDistribution(distribution);
  const rows: SupportedMinor[] = [];
  for (const range of d.releases) {
    const minor = minorOf(range.from);
    const last = rows[rows.length - 1];
    if (last && last.minor === minor) last.last = rangeName(range, 'to');
    else rows.push({ minor, first: rangeName(range, 'from'), last: rangeName(range, 'to') });
  }
  return rows;
}

function supportedRange(d: Distribution): string {
  const rows = supportedVersions(d.name);
  const first = rows[0] as SupportedMinor;
  const last = rows[rows.length - 1] as SupportedMinor;
  return `${first.first} to ${last.last}`;
}

function unsupported(d: Distribution, requested: string, message: string, hint: string, extra: Record<string, unknown> = {}): UnsupportedKubernetesVersionError {
  return new UnsupportedKubernetesVersionError(message, {
    hint,
    details: { version: requested, distribution: d.name, supported: supportedRange(d), ...extra },
  });
}

/** v1.30.14+k0s.0 asked of kubeadm: point at the distribution the build names. */
function otherDistributionHint(d: Distribution, build: string): string {
  const other = distributionNames().find((n) => n !== d.name && build.startsWith(n));
  return other ? ` (or --distribution ${other} for a ${other} release)` : '';
}

const LIST_YOURSELF = 'or name the images yourself with --image / --images-file';

/** Find the release range for a parsed version; every "no" names what we do know. */
function resolveRange(d: Distribution, requested: string, v: KubernetesVersion): { range: ReleaseRange; patch: number } {
  const label = formatKubernetesVersion(v);
  const range = supportedRange(d);
  if (v.prerelease !== undefined) {
    throw unsupported(d, requested, `Kubernetes ${label} is a pre-release; for ${d.name} airgap knows releases ${range}`, `use a release, ${LIST_YOURSELF}`);
  }
  const ofMinor = d.releases.filter((r) => r.from.major === v.major && r.from.minor === v.minor);
  if (ofMinor.length === 0) {
    const newest = d.releases[d.releases.length - 1] as ReleaseRange;
    const tooNew = compareKubernetesVersions(v, newest.to) > 0;
    throw unsupported(
      d,
      requested,
      `Kubernetes ${label} is not supported for ${d.name}: airgap knows ${range}`,
      tooNew ? `a newer airgap may know ${minorOf(v)}; until then use a known version, ${LIST_YOURSELF}` : `use a version from ${range}, ${LIST_YOURSELF}`,
    );
  }
  const first = ofMinor[0] as ReleaseRange;
  const last = ofMinor[ofMinor.length - 1] as ReleaseRange;
  const patch = v.patch ?? (last.to.patch as number);
  // Several builds of one patch (v1.30.14+k3s1, +k3s2) are sorted oldest first: a version without
  // a build means the newest.
  const skipped = d.unreleased.find((u) => u.from.major === v.major && u.from.minor === v.minor && patch >= (u.from.patch as number) && patch <= (u.to.patch as number));
  if (skipped) {
    // A patch the distribution never released: name the releases on either side (the data guarantees both).
    const before = ofMinor.filter((r) => (r.to.patch as number) < patch).pop() as ReleaseRange;
    const after = ofMinor.find((r) => (r.from.patch as number) > patch) as ReleaseRange;
    const nearest = [rangeName(before, 'to'), rangeName(after, 'from')];
    throw unsupported(
      d,
      requested,
      `Kubernetes ${formatKubernetesVersion({ major: v.major, minor: v.minor, patch })} was never released by ${d.name}: the nearest ${d.name} releases are ${nearest[0]} and ${nearest[1]}`,
      `use ${nearest[1]} or ${nearest[0]}, ${LIST_YOURSELF}`,
      { nearestReleases: nearest },
    );
  }
  const hits = ofMinor.filter((r) => patch >= (r.from.patch as number) && patch <= (r.to.patch as number));
  const hit = (v.build !== undefined ? hits.find((r) => r.build === v.build) : undefined) ?? hits[hits.length - 1];
  if (!hit) {
    const newestOfMinor = rangeName(last, 'to');
    const firstOfMinor = rangeName(first, 'from');
    if (patch > (last.to.patch as number)) {
      throw unsupported(
        d,
        requested,
        `Kubernetes ${label} is newer than the newest ${minorOf(v)} patch airgap knows for ${d.name}, ${newestOfMinor}`,
        `use ${newestOfMinor} (or ${minorOf(v)} for the newest known patch), update airgap, ${LIST_YOURSELF}`,
        { newestKnownPatch: newestOfMinor },
      );
    }
    throw unsupported(
      d,
      requested,
      `Kubernetes ${label} is not known for ${d.name}: of ${minorOf(v)} airgap knows ${firstOfMinor === newestOfMinor ? firstOfMinor : `${firstOfMinor} to ${newestOfMinor}`}`,
      `use ${newestOfMinor}, ${LIST_YOURSELF}`,
      { newestKnownPatch: newestOfMinor },
    );
  }
  if (v.build !== undefined && v.build !== hit.build) {
    const known = hits.map((r) => releaseName({ ...v, patch }, r)).join(', ');
    throw unsupported(
      d,
      requested,
      hit.build === undefined
        ? `Kubernetes ${label} is not a ${d.name} release airgap knows (CI and custom builds are not in its data); the release is ${known}`
        : `Kubernetes ${label} is not known for ${d.name}: airgap knows ${known}`,
      `use ${known}${otherDistributionHint(d, v.build)}, ${LIST_YOURSELF}`,
    );
  }
  return { range: hit, patch };
}

/** Validate and normalize a custom image repository: a registry host with an optional path. */
function normalizeImageRepository(input: string): string {
  const repo = input.trim().replace(/\/+$/, '');
  if (!repo) throw new InvalidImageRepositoryError(input, 'empty');
  if (/[@\s]/.test(repo)) throw new InvalidImageRepositoryError(input, 'must not hold a digest or white space');
  try {
    // Any image under the repository must be a valid reference; this catches hosts, case and stray tags.
    parseReference(`${repo}/probe:tag`);
  } catch (e) {
    const reason = (e as { details?: { reason?: string } }).details?.reason ?? (e as Error).message;
    throw new InvalidImageRepositoryError(input, reason);
  }
  return repo;
}

/** The registry host of an image name, as k0s and docker decide it: a first part with "." or ":", or localhost. */
function registryHost(image: string): string | undefined {
  const i = image.indexOf('/');
  if (i < 0) return undefined;
  const first = image.slice(0, i);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

function selectVariants(d: Distribution, requested: Record<string, string> | undefined): Record<string, string> {
  const chosen: Record<string, string> = {};
  for (const [key, value] of Object.entries(requested ?? {})) {
    const spec = d.variants[key];
    const keys = Object.keys(d.variants);
    if (!spec) {
      throw new InvalidVariantError(
        `${d.name} has no variant ${quote(key)}`,
        keys.length ? `variants of ${d.name}: ${keys.map((k) => `${k}=${d.variants[k]?.values.join('|')}`).join(', ')}` : `${d.name} has no variants; drop the option`,
        { distribution: d.name, variant: key },
      );
    }
    if (!spec.values.includes(value)) {
      throw new InvalidVariantError(`${d.name} variant ${key}=${quote(value)} is unknown`, `choose ${key}=${spec.values.join(' or ')}`, {
        distribution: d.name,
        variant: key,
        value,
      });
    }
    chosen[key] = value;
  }
  return chosen;
}

/**
 * The images a cluster of `version` pulls, in the order the distribution's own tool lists them
 * (for kubeadm: exactly `kubeadm config images list --kubernetes-version <version>`).
 */
export function kubernetesImages(version: string, opts: KubernetesImagesOptions = {}): KubernetesImageSet {
  const d = loadDistribution(opts.distribution ?? DEFAULT_DISTRIBUTION);
  const v = parseKubernetesVersion(version);
  const { range, patch } = resolveRange(d, version, v);
  const variants = selectVariants(d, opts.variants);
  const kubernetes = `${v.major}.${v.minor}.${patch}`;
  const resolved = releaseName({ ...v, patch }, range);
  const vars = releaseVariables(range, { kubernetes, version: resolved.slice(1), ...(range.build !== undefined ? { build: range.build } : {}) });

  let custom: string | undefined;
  if (opts.imageRepository !== undefined) {
    custom = normalizeImageRepository(opts.imageRepository);
    const same = d.imageRepository.sameAsDefault;
    if (same !== undefined && renderTemplate(same, vars) === custom) custom = undefined;
  }

  const images: RequiredImage[] = [];
  for (const t of orderedImages(d, range)) {
    if (t.when && !Object.entries(t.when).every(([k, val]) => variants[k] === undefined || variants[k] === val)) continue;
    // An image the distribution added or dropped: not in the releases that do not define it.
    if (t.optional && !templateDefined(t, vars)) continue;
    let image = renderTemplate(t.image, vars);
    if (custom !== undefined) {
      if (t.customImage !== undefined) {
        image = renderTemplate(t.customImage, { ...vars, imageRepository: custom });
      } else {
        const host = registryHost(image);
        image = host ? `${custom}${image.slice(host.length)}` : `${custom}/${image}`;
      }
    }
    // kubeadm's KubernetesVersionToImageTag: "+" is not allowed in a tag.
    const tag = renderTemplate(t.tag, vars).replaceAll('+', '_');
    images.push({ ref: parseReference(`${image}:${tag}`).toString(), role: t.role });
  }

  return {
    distribution: d.name,
    requested: version,
    version: resolved,
    exact: v.patch !== undefined && formatKubernetesVersion(v) === resolved,
    images,
  };
}
