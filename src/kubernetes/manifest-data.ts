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
  /** sorted ascending, non-overlapping, each within one minor */
  releases: ReleaseRange[];
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
}

export interface ReleaseRange {
  from: KubernetesVersion;
  to: KubernetesVersion;
  /** build metadata every release in the range carries, e.g. "k0s.0" */
  build?: string;
  values: Record<string, string>;
}

/** Variables every template may use besides a release's own values. */
export const BUILTIN_VARIABLES = ['kubernetes', 'version'] as const;
const RESERVED_KEYS = new Set(['from', 'to', 'build']);
const VARIABLE = /\{([A-Za-z][A-Za-z0-9]*)\}/g;
const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** manifests/ of the installed package: dist/src/kubernetes/ -> ../../../manifests. */
export function manifestsDir(): string {
  return fileURLToPath(new URL('../../../manifests/', import.meta.url));
}

export function templateVariables(template: string): string[] {
  return [...template.matchAll(VARIABLE)].map((m) => m[1] as string);
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

  if (!Array.isArray(raw.releases) || raw.releases.length === 0) throw new InvalidManifestDataError(file, '"releases" must be a non-empty array');
  const releases: ReleaseRange[] = raw.releases.map((r, i) => {
    const where = `releases[${i}]`;
    if (!isObject(r)) throw new InvalidManifestDataError(file, `${where} must be an object`);
    const from = releaseVersion(r.from, file, `${where}.from`);
    const to = releaseVersion(r.to, file, `${where}.to`);
    if (from.major !== to.major || from.minor !== to.minor) {
      throw new InvalidManifestDataError(file, `${where}: ${formatKubernetesVersion(from)} - ${formatKubernetesVersion(to)} spans two minors`);
    }
    if (compareKubernetesVersions(from, to) > 0) throw new InvalidManifestDataError(file, `${where}: "from" is after "to"`);
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
    return range;
  });
  releases.sort((a, b) => compareKubernetesVersions(a.from, b.from));
  for (let i = 1; i < releases.length; i++) {
    const prev = releases[i - 1] as ReleaseRange;
    const cur = releases[i] as ReleaseRange;
    if (compareKubernetesVersions(prev.to, cur.from) >= 0) {
      throw new InvalidManifestDataError(file, `release ranges overlap at ${formatKubernetesVersion(cur.from)}`);
    }
    // Within a minor the ranges must be contiguous: a hole would be a patch we silently do not know.
    if (prev.to.major === cur.from.major && prev.to.minor === cur.from.minor && (prev.to.patch as number) + 1 !== cur.from.patch) {
      throw new InvalidManifestDataError(file, `release ranges leave a gap between ${formatKubernetesVersion(prev.to)} and ${formatKubernetesVersion(cur.from)}`);
    }
  }

  // Render every template against every range's first release, so a typo fails here and not at a user.
  for (const range of releases) {
    const vars: Record<string, string> = { ...range.values, kubernetes: '1.0.0', version: '1.0.0', imageRepository: 'registry.example' };
    const all = [imageRepository.sameAsDefault ?? '', ...images.flatMap((t) => [t.image, t.tag, t.customImage ?? ''])];
    for (const template of all) {
      for (const v of templateVariables(template)) {
        if (!(v in vars)) {
          throw new InvalidManifestDataError(file, `release ${formatKubernetesVersion(range.from)} does not define {${v}} used by "${template}"`);
        }
      }
    }
    for (const t of images) {
      const ref = `${renderTemplate(t.image, vars)}:${renderTemplate(t.tag, vars)}`;
      try {
        parseReference(ref);
      } catch (e) {
        throw new InvalidManifestDataError(file, `release ${formatKubernetesVersion(range.from)}, role ${t.role}: ${(e as Error).message}`);
      }
    }
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
    releases,
  };
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
