import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseReference } from '../oci/reference.js';
import { InvalidManifestDataError, UnknownDistributionError } from './errors.js';
import { compareKubernetesVersions, formatKubernetesVersion, parseKubernetesVersion, type KubernetesVersion } from './version.js';

/**
 * The image data of one distribution (manifests/<name>.json): an ordered list of image templates and
 * the version ranges that give their variables values. Adding a distribution is adding a file.
 */
export interface Distribution {
  name: string;
  title: string;
  description: string;
  notes: string[];
  /** where the data was read from, for error messages */
  file: string;
  imageRepository: ImageRepositoryRule;
  variants: Record<string, VariantSpec>;
  images: ImageTemplate[];
  /**
   * Other orders of the images, by name, for releases whose tool prints them differently (k0s v1.36
   * reordered `list-images`): each lists every role once. A release without "order" uses `images`' order.
   */
  orders: Record<string, string[]>;
  /** sorted ascending, non-overlapping, each within one minor */
  releases: ReleaseRange[];
  /**
   * Kubernetes patches the distribution never released (k0s skipped v1.29.12): holes within a minor,
   * between two releases, that are refused by name instead of resolving to a neighbour.
   */
  unreleased: PatchRange[];
  /** the image list the distribution publishes with each release, when it publishes one */
  publishedList?: PublishedList;
}

/**
 * The list a distribution publishes with each release (k3s-images.txt, rke2-images-core.linux-amd64.txt).
 * When `authoritative`, a --list of that kind is the release's image set: airgap packs what it says and
 * only checks it against the data (its pause above all).
 */
export interface PublishedList {
  /** how the list is named, for messages: "k3s-images.txt" */
  name: string;
  authoritative: boolean;
}

export interface ImageRepositoryRule {
  /** replace-registry: a custom repository takes the place of each image's registry host */
  rule: 'replace-registry';
  /** a custom repository equal to this rendered template is not custom (kubeadm's coredns rule) */
  sameAsDefault?: string;
}

export interface VariantSpec {
  description: string;
  values: string[];
}

export interface ImageTemplate {
  role: string;
  /** registry/repository template, e.g. "{registry}/kube-apiserver" */
  image: string;
  /** tag template, e.g. "v{kubernetes}"; "+" in the result becomes "_" */
  tag: string;
  /** used instead of `image` when a custom image repository is set; may use {imageRepository} */
  customImage?: string;
  /** only for these variant values, e.g. { "cni": "calico" } */
  when?: Record<string, string>;
  /** only in the releases that define every variable it uses (an image a distribution added or dropped) */
  optional?: boolean;
}

export interface PatchRange {
  from: KubernetesVersion;
  to: KubernetesVersion;
}

export interface ReleaseRange extends PatchRange {
  /** build metadata every release in the range carries, e.g. "k0s.0" */
  build?: string;
  /** the variables of the range; a value may use the built-in variables, e.g. "v{kubernetes}" */
  values: Record<string, string>;
  /** the name of one of the distribution's `orders`; without it the images come in `images`' order */
  order?: string;
}

/** Variables every template may use besides a release's own values ({build}: only where the release has one). */
export const BUILTIN_VARIABLES = ['kubernetes', 'version', 'build'] as const;
const RESERVED_KEYS = new Set(['from', 'to', 'build', 'unreleased', 'order']);
const VARIABLE = /\{([A-Za-z][A-Za-z0-9]*)\}/g;
const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** manifests/ of the installed package: dist/src/kubernetes/ -> ../../../manifests. */
export function manifestsDir(): string {
  return fileURLToPath(new URL('../../../manifests/', import.meta.url));
}

export function templateVariables(template: string): string[] {
  return [...template.matchAll(VARIABLE)].map((m) => m[1] as string);
}

/**
 * The variables of one release: the built-ins, then the range's own values with the built-ins they
 * use filled in ("kubeProxyTag": "v{kubernetes}" gives v1.30.14 at v1.30.14).
 */
export function releaseVariables(range: ReleaseRange, builtins: Record<string, string>): Record<string, string> {
  const vars: Record<string, string> = { ...builtins };
  for (const [key, value] of Object.entries(range.values)) vars[key] = renderTemplate(value, builtins);
  return vars;
}

/** Fill {name} placeholders; every name must be defined (the data was validated against this). */
export function renderTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(VARIABLE, (whole, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`template "${template}" uses undefined variable ${whole}`);
    return v;
  });
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function str(obj: Record<string, unknown>, key: string, file: string, where: string, optional = false): string | undefined {
  const v = obj[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v === '') throw new InvalidManifestDataError(file, `${where}: "${key}" must be a non-empty string`);
  return v;
}

function strings(v: unknown, file: string, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new InvalidManifestDataError(file, `${where} must be an array of strings`);
  }
  return v as string[];
}

function releaseVersion(raw: unknown, file: string, where: string): KubernetesVersion {
  if (typeof raw !== 'string') throw new InvalidManifestDataError(file, `${where} must be a version string`);
  let v: KubernetesVersion;
  try {
    v = parseKubernetesVersion(raw);
  } catch {
    throw new InvalidManifestDataError(file, `${where} "${raw}" is not a version`);
  }
  if (v.patch === undefined || v.prerelease !== undefined || v.build !== undefined) {
    throw new InvalidManifestDataError(file, `${where} "${raw}" must be a plain release like v1.30.14 (put build metadata in "build")`);
  }
  return v;
}

/** Validate one distribution's JSON; every rule the resolver relies on is checked here, once. */
export function parseDistribution(raw: unknown, file: string): Distribution {
  if (!isObject(raw)) throw new InvalidManifestDataError(file, 'the top level must be an object');
  const name = str(raw, 'distribution', file, 'top level') as string;
  if (!NAME.test(name)) throw new InvalidManifestDataError(file, `distribution name "${name}" must be lowercase letters, digits and "-"`);

  const variants: Record<string, VariantSpec> = {};
  if (raw.variants !== undefined) {
    if (!isObject(raw.variants)) throw new InvalidManifestDataError(file, '"variants" must be an object');
    for (const [key, spec] of Object.entries(raw.variants)) {
      if (!isObject(spec)) throw new InvalidManifestDataError(file, `variant "${key}" must be an object`);
      const values = strings(spec.values, file, `variant "${key}" values`);
      if (values.length === 0) throw new InvalidManifestDataError(file, `variant "${key}" has no values`);
      variants[key] = { description: typeof spec.description === 'string' ? spec.description : '', values };
    }
  }

  const repoRaw = raw.imageRepository ?? { rule: 'replace-registry' };
  if (!isObject(repoRaw) || repoRaw.rule !== 'replace-registry') {
    throw new InvalidManifestDataError(file, '"imageRepository.rule" must be "replace-registry"');
  }
  const imageRepository: ImageRepositoryRule = { rule: 'replace-registry' };
  const sameAsDefault = str(repoRaw, 'sameAsDefault', file, 'imageRepository', true);
  if (sameAsDefault !== undefined) imageRepository.sameAsDefault = sameAsDefault;

  if (!Array.isArray(raw.images) || raw.images.length === 0) throw new InvalidManifestDataError(file, '"images" must be a non-empty array');
  const images: ImageTemplate[] = raw.images.map((img, i) => {
    const where = `images[${i}]`;
    if (!isObject(img)) throw new InvalidManifestDataError(file, `${where} must be an object`);
    const t: ImageTemplate = {
      role: str(img, 'role', file, where) as string,
      image: str(img, 'image', file, where) as string,
      tag: str(img, 'tag', file, where) as string,
    };
    const custom = str(img, 'customImage', file, where, true);
    if (custom !== undefined) t.customImage = custom;
    if (img.optional !== undefined) {
      if (typeof img.optional !== 'boolean') throw new InvalidManifestDataError(file, `${where}.optional must be true or false`);
      if (img.optional) t.optional = true;
    }
    if (img.when !== undefined) {
      if (!isObject(img.when)) throw new InvalidManifestDataError(file, `${where}.when must be an object`);
      t.when = {};
      for (const [key, value] of Object.entries(img.when)) {
        const spec = variants[key];
        if (!spec) throw new InvalidManifestDataError(file, `${where}.when uses undeclared variant "${key}"`);
        if (typeof value !== 'string' || !spec.values.includes(value)) {
          throw new InvalidManifestDataError(file, `${where}.when.${key} must be one of ${spec.values.join(', ')}`);
        }
        t.when[key] = value;
      }
    }
    return t;
  });
  const roles = new Set<string>();
  for (const t of images) {
    const key = `${t.role} ${JSON.stringify(t.when ?? {})}`;
    if (roles.has(key)) throw new InvalidManifestDataError(file, `role "${t.role}" appears twice`);
    roles.add(key);
  }

  const orders: Record<string, string[]> = {};
  if (raw.orders !== undefined) {
    if (!isObject(raw.orders)) throw new InvalidManifestDataError(file, '"orders" must be an object');
    const allRoles = [...new Set(images.map((t) => t.role))];
    for (const [key, list] of Object.entries(raw.orders)) {
      const order = strings(list, file, `orders.${key}`);
      for (const role of order) {
        if (!allRoles.includes(role)) throw new InvalidManifestDataError(file, `orders.${key} names role "${role}", which is not an image`);
      }
      if (new Set(order).size !== order.length) throw new InvalidManifestDataError(file, `orders.${key} names a role twice`);
      const missing = allRoles.filter((role) => !order.includes(role));
      if (missing.length > 0) throw new InvalidManifestDataError(file, `orders.${key} leaves out ${missing.join(', ')}: an order lists every role`);
      orders[key] = order;
    }
  }

  if (!Array.isArray(raw.releases) || raw.releases.length === 0) throw new InvalidManifestDataError(file, '"releases" must be a non-empty array');
  const releases: ReleaseRange[] = [];
  const unreleased: PatchRange[] = [];
  raw.releases.forEach((r, i) => {
    const where = `releases[${i}]`;
    if (!isObject(r)) throw new InvalidManifestDataError(file, `${where} must be an object`);
    const from = releaseVersion(r.from, file, `${where}.from`);
    const to = releaseVersion(r.to, file, `${where}.to`);
    if (from.major !== to.major || from.minor !== to.minor) {
      throw new InvalidManifestDataError(file, `${where}: ${formatKubernetesVersion(from)} - ${formatKubernetesVersion(to)} spans two minors`);
    }
    if (compareKubernetesVersions(from, to) > 0) throw new InvalidManifestDataError(file, `${where}: "from" is after "to"`);
    if (r.unreleased !== undefined) {
      // Patches the distribution skipped: a marker, nothing to render.
      if (r.unreleased !== true) throw new InvalidManifestDataError(file, `${where}.unreleased must be true (leave it out for a release)`);
      const extra = Object.keys(r).filter((k) => k !== 'from' && k !== 'to' && k !== 'unreleased');
      if (extra.length > 0) throw new InvalidManifestDataError(file, `${where}: an unreleased range has only "from" and "to", not ${extra.map((k) => `"${k}"`).join(', ')}`);
      unreleased.push({ from, to });
      return;
    }
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(r)) {
      if (RESERVED_KEYS.has(key)) continue;
      if ((BUILTIN_VARIABLES as readonly string[]).includes(key) || key === 'imageRepository') {
        throw new InvalidManifestDataError(file, `${where}: "${key}" is a built-in variable and cannot be set`);
      }
      if (typeof value !== 'string' || value === '') throw new InvalidManifestDataError(file, `${where}.${key} must be a non-empty string`);
      values[key] = value;
    }
    const range: ReleaseRange = { from, to, values };
    const build = str(r, 'build', file, where, true);
    if (build !== undefined) {
      if (!/^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/.test(build)) throw new InvalidManifestDataError(file, `${where}.build "${build}" is not semver build metadata`);
      range.build = build;
    }
    const order = str(r, 'order', file, where, true);
    if (order !== undefined) {
      if (!Object.hasOwn(orders, order)) throw new InvalidManifestDataError(file, `${where}.order "${order}" is not one of "orders"`);
      range.order = order;
    }
    // A value may use the built-ins ("v{kubernetes}"), not another value: one level, no cycles.
    for (const [key, value] of Object.entries(values)) {
      for (const v of templateVariables(value)) {
        if (!(BUILTIN_VARIABLES as readonly string[]).includes(v) || (v === 'build' && build === undefined)) {
          throw new InvalidManifestDataError(file, `${where}.${key} uses {${v}}; a value may use only {kubernetes}, {version} and (with a build) {build}`);
        }
      }
    }
    releases.push(range);
  });
  if (releases.length === 0) throw new InvalidManifestDataError(file, '"releases" has no release, only unreleased ranges');
  for (const key of Object.keys(orders)) {
    if (!releases.some((r) => r.order === key)) throw new InvalidManifestDataError(file, `orders.${key} is used by no release`);
  }
  releases.sort((a, b) => compareKubernetesVersions(a.from, b.from) || compareBuilds(a.build, b.build));
  unreleased.sort((a, b) => compareKubernetesVersions(a.from, b.from));
  // Releases and unreleased holes together must tile each minor, without overlaps.
  const ranges: (ReleaseRange | PatchRange)[] = [...releases, ...unreleased].sort(
    (a, b) => compareKubernetesVersions(a.from, b.from) || compareBuilds((a as ReleaseRange).build, (b as ReleaseRange).build),
  );
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1] as ReleaseRange;
    const cur = ranges[i] as ReleaseRange;
    // One Kubernetes patch re-released by the distribution (v1.30.14+k3s1, v1.30.14+k3s2): single-patch
    // entries that differ only in their build.
    if (isSinglePatch(prev) && isSinglePatch(cur) && compareKubernetesVersions(prev.from, cur.from) === 0 && 'values' in prev && 'values' in cur) {
      if (prev.build === undefined || cur.build === undefined || prev.build === cur.build) {
        throw new InvalidManifestDataError(file, `release ${formatKubernetesVersion(cur.from)} is listed twice without distinct builds`);
      }
      continue;
    }
    if (compareKubernetesVersions(prev.to, cur.from) >= 0) {
      throw new InvalidManifestDataError(file, `release ranges overlap at ${formatKubernetesVersion(cur.from)}`);
    }
    // Within a minor the ranges must be contiguous: a hole would be a patch we silently do not know.
    if (prev.to.major === cur.from.major && prev.to.minor === cur.from.minor && (prev.to.patch as number) + 1 !== cur.from.patch) {
      throw new InvalidManifestDataError(
        file,
        `release ranges leave a gap between ${formatKubernetesVersion(prev.to)} and ${formatKubernetesVersion(cur.from)} (mark patches never released with "unreleased": true)`,
      );
    }
  }

  // An unreleased range is a hole between two releases of its minor; at the edges of a minor it would
  // say nothing the known range does not (v1.28.1 of k0s is refused as "not known" either way).
  for (const u of unreleased) {
    const ofMinor = releases.filter((r) => r.from.major === u.from.major && r.from.minor === u.from.minor);
    if (!ofMinor.some((r) => compareKubernetesVersions(r.to, u.from) < 0) || !ofMinor.some((r) => compareKubernetesVersions(r.from, u.to) > 0)) {
      throw new InvalidManifestDataError(file, `unreleased ${formatKubernetesVersion(u.from)} - ${formatKubernetesVersion(u.to)} must lie between two releases of its minor`);
    }
  }
  // Render every template against every range's first release, so a typo fails here and not at a user.
  const rendered = new Set<ImageTemplate>();
  for (const range of releases) {
    const vars: Record<string, string> = {
      ...releaseVariables(range, {
        kubernetes: '1.0.0',
        version: '1.0.0',
        ...(range.build !== undefined ? { build: range.build } : {}),
      }),
      imageRepository: 'registry.example',
    };
    const templates = images.filter((t) => !t.optional || templateDefined(t, vars));
    const all = [imageRepository.sameAsDefault ?? '', ...templates.flatMap((t) => [t.image, t.tag, t.customImage ?? ''])];
    for (const template of all) {
      for (const v of templateVariables(template)) {
        if (!(v in vars)) {
          throw new InvalidManifestDataError(file, `release ${formatKubernetesVersion(range.from)} does not define {${v}} used by "${template}"`);
        }
      }
    }
    for (const t of templates) {
      rendered.add(t);
      const ref = `${renderTemplate(t.image, vars)}:${renderTemplate(t.tag, vars)}`;
      try {
        parseReference(ref);
      } catch (e) {
        throw new InvalidManifestDataError(file, `release ${formatKubernetesVersion(range.from)}, role ${t.role}: ${(e as Error).message}`);
      }
    }
  }

  for (const t of images) {
    // An optional image no release defines is a typo in a variable name, not an image.
    if (!rendered.has(t)) throw new InvalidManifestDataError(file, `role ${t.role} is in no release: no release defines every variable it uses`);
  }

  let publishedList: PublishedList | undefined;
  if (raw.publishedList !== undefined) {
    if (!isObject(raw.publishedList)) throw new InvalidManifestDataError(file, '"publishedList" must be an object');
    const listName = str(raw.publishedList, 'name', file, 'publishedList') as string;
    const authoritative = raw.publishedList.authoritative ?? false;
    if (typeof authoritative !== 'boolean') throw new InvalidManifestDataError(file, '"publishedList.authoritative" must be true or false');
    if (authoritative && !images.some((t) => t.role === 'pause' && !t.optional)) {
      throw new InvalidManifestDataError(file, 'a distribution whose published list is authoritative needs an image of role "pause" in every release');
    }
    publishedList = { name: listName, authoritative };
  }

  return {
    name,
    title: typeof raw.title === 'string' ? raw.title : name,
    description: typeof raw.description === 'string' ? raw.description : '',
    notes: strings(raw.notes, file, '"notes"'),
    file,
    imageRepository,
    variants,
    images,
    orders,
    releases,
    unreleased,
    ...(publishedList ? { publishedList } : {}),
  };
}

/** The image templates in the order a release lists them: its named order, or the order of `images`. */
export function orderedImages(d: Pick<Distribution, 'images' | 'orders'>, range: ReleaseRange): ImageTemplate[] {
  const order = range.order === undefined ? undefined : d.orders[range.order];
  if (!order) return d.images;
  // Stable: templates of one role (each for other variant values) keep their relative order.
  return [...d.images].sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
}

/** Does a release define every variable an (optional) template uses? */
export function templateDefined(t: ImageTemplate, vars: Record<string, string>): boolean {
  return [t.image, t.tag, t.customImage ?? ''].every((template) => templateVariables(template).every((v) => v in vars || v === 'imageRepository'));
}

function isSinglePatch(r: PatchRange): boolean {
  return compareKubernetesVersions(r.from, r.to) === 0;
}

/**
 * Order of two builds of one Kubernetes patch: k3s1 < k3s2 < k3s10, k0s.0 < k0s.1 (numeric parts
 * compared as numbers, as semver orders pre-release identifiers); no build sorts first.
 */
export function compareBuilds(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return 0;
}

const cache = new Map<string, Distribution>();

/** Read and validate manifests/<name>.json (cached per process). */
export function loadDistribution(name: string, dir: string = manifestsDir()): Distribution {
  const file = join(dir, `${name}.json`);
  const hit = cache.get(file);
  if (hit) return hit;
  const known = distributionNames(dir);
  if (!known.includes(name)) throw new UnknownDistributionError(name, known);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InvalidManifestDataError(file, (e as Error).message);
  }
  const d = parseDistribution(raw, file);
  if (d.name !== name) throw new InvalidManifestDataError(file, `names distribution "${d.name}", expected "${name}" from its file name`);
  cache.set(file, d);
  return d;
}

/** The distributions whose data is installed: one manifests/<name>.json each. */
export function distributionNames(dir: string = manifestsDir()): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    throw new InvalidManifestDataError(dir, `cannot list the image data directory: ${(e as Error).message}`);
  }
  return entries
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .filter((n) => NAME.test(n))
    .sort();
}
