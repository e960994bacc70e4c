import type { BundleReader } from '../bundle/reader.js';
import { registryNamespace } from '../oci/registry-namespace.js';
import type { Descriptor } from '../oci/descriptor.js';
import { MAX_MANIFEST_BYTES, childrenOf, parseManifest } from '../oci/manifest.js';
import { isManifestMediaType, isNonDistributableMediaType } from '../oci/media-type.js';
import { parseReference, type ImageReference } from '../oci/reference.js';
import { BundleManifestError, NothingToServeError } from './errors.js';

/** A manifest or index held in memory: they are small, and every pull asks for them first. */
export interface ServedManifest {
  digest: string;
  /** the document's own media type (what distribution answers with), else its descriptor's */
  mediaType: string;
  bytes: Buffer;
}

/** An image as the server offers it. */
export interface ServedImage {
  /** the full reference the bundle names it by */
  ref: string;
  /** the upstream registry host: registry.k8s.io, docker.io */
  registry: string;
  /** the repository name clients ask for: registry.k8s.io/pause (with the prefix, if any; localhost:5000 becomes localhost_5000, as load pushes) */
  repository: string;
  tag?: string;
  digest: string;
  mediaType: string;
}

export interface Repository {
  name: string;
  /** tag -> top digest */
  tags: Map<string, string>;
  /** every digest of this repository's images that the bundle holds: what may be fetched through it */
  content: Set<string>;
  /** digests its indexes reference that the bundle does not hold, and why (answered in the 404) */
  absent: Map<string, string>;
}

export type CatalogWarningCode = 'unnamed-image' | 'excluded-platform' | 'missing-manifest' | 'missing-blob' | 'unreadable-manifest';

export interface CatalogWarning {
  code: CatalogWarningCode;
  message: string;
}

export interface CatalogStats {
  images: number;
  repositories: number;
  manifests: number;
  blobs: number;
  /** bytes of all distinct blobs served (manifests included) */
  bytes: number;
}

/**
 * A name is used only when it is a full image name: ctr export and skopeo write bare tags ("3.9",
 * "latest") into org.opencontainers.image.ref.name, and those would parse as docker.io/library/3.9.
 */
function fullReference(name: string): ImageReference | undefined {
  if (!/[/:@]/.test(name)) return undefined;
  try {
    return parseReference(name);
  } catch {
    return undefined;
  }
}

/**
 * The registry view of a bundle: repositories named as load pushes them (registry host + path,
 * under an optional prefix), their tags, the content each may serve, and every manifest read and
 * checked against its digest once, at startup. Blobs stay in the file; only their ranges are kept.
 */
export class ServeCatalog {
  readonly repositories = new Map<string, Repository>();
  readonly images: ServedImage[] = [];
  readonly warnings: CatalogWarning[] = [];
  private readonly manifests = new Map<string, ServedManifest>();

  private constructor(private readonly reader: BundleReader, readonly prefix: string) {}

  static async build(reader: BundleReader, opts: { prefix?: string } = {}): Promise<ServeCatalog> {
    const c = new ServeCatalog(reader, opts.prefix ?? '');
    await c.load();
    return c;
  }

  private async load(): Promise<void> {
    const leftOut = new Map<string, string>();
    for (const img of this.reader.metadata?.images ?? []) {
      for (const p of img.platforms ?? []) {
        if (!p.included) leftOut.set(p.digest, `${p.platform} of ${img.ref} was left out of this bundle when it was packed (platform filter)`);
      }
    }
    let excludedCount = 0;
    const reported = new Set<string>();

    for (const entry of this.reader.images()) {
      const refs = new Map<string, ImageReference>();
      for (const n of entry.names) {
        const r = fullReference(n);
        if (r) refs.set(r.toString(), r);
      }
      if (refs.size === 0) {
        const shown = entry.names.length ? `named only ${entry.names.map((n) => JSON.stringify(n)).join(', ')}` : 'without a name';
        this.warnings.push({
          code: 'unnamed-image',
          message: `index.json entry ${entry.position} (${entry.descriptor.digest}) is ${shown}, not a full image name; it is not served`,
        });
        continue;
      }
      const label = [...refs.keys()][0]!;
      const graph = await this.walk(entry.descriptor, label, leftOut);
      for (const ref of refs.values()) {
        // The layout load pushes: [prefix/]<registry>/<repository>, a port's ":" made "_".
        const name = [this.prefix, registryNamespace(ref.registry), ref.repository].filter(Boolean).join('/');
        let repo = this.repositories.get(name);
        if (!repo) {
          repo = { name, tags: new Map(), content: new Set(), absent: new Map() };
          this.repositories.set(name, repo);
        }
        if (ref.tag) repo.tags.set(ref.tag, entry.descriptor.digest);
        for (const d of graph.content) repo.content.add(d);
        for (const [d, why] of graph.absent) repo.absent.set(d, why);
        const top = this.manifests.get(entry.descriptor.digest);
        this.images.push({
          ref: ref.toString(),
          registry: ref.registry,
          repository: name,
          ...(ref.tag ? { tag: ref.tag } : {}),
          digest: entry.descriptor.digest,
          mediaType: top?.mediaType ?? entry.descriptor.mediaType,
        });
      }
      for (const [d, why] of graph.absent) {
        if (reported.has(d)) continue;
        reported.add(d);
        if (leftOut.has(d)) excludedCount++;
        else this.warnings.push({ code: 'missing-manifest', message: why });
      }
      if (graph.missingBlobs.length) {
        this.warnings.push({
          code: 'missing-blob',
          message: `${label}: ${graph.missingBlobs.length} blob(s) its manifests reference are not in the bundle (${graph.missingBlobs.slice(0, 3).join(', ')}${graph.missingBlobs.length > 3 ? ', …' : ''}); pulls of it will fail`,
        });
      }
    }
    if (excludedCount) {
      this.warnings.unshift({
        code: 'excluded-platform',
        message: `${excludedCount} platform manifest(s) were left out at pack time; clients asking for them get MANIFEST_UNKNOWN`,
      });
    }
    if (this.images.length === 0) {
      throw new NothingToServeError(this.reader.path, this.reader.images().length ? 'no index.json entry has a full image name' : 'index.json lists no images');
    }
    this.images.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
    const sorted = [...this.repositories.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.repositories.clear();
    for (const [k, v] of sorted) this.repositories.set(k, v);
  }

  /** Everything reachable from an image's top descriptor; manifests are read, verified and cached. */
  private async walk(root: Descriptor, label: string, leftOut: Map<string, string>): Promise<{ content: Set<string>; absent: Map<string, string>; missingBlobs: string[] }> {
    const content = new Set<string>();
    const absent = new Map<string, string>();
    const missingBlobs: string[] = [];
    const stack: { d: Descriptor; manifest: boolean; parent?: Descriptor }[] = [{ d: root, manifest: true }];
    while (stack.length) {
      const { d, manifest, parent } = stack.pop()!;
      if (content.has(d.digest) || absent.has(d.digest)) continue;
      if (!this.reader.blobRange(d.digest)) {
        if (manifest) {
          const platform = d.platform ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}` : 'a manifest';
          absent.set(d.digest, leftOut.get(d.digest) ?? (parent
            ? `${platform} (${d.digest}) of ${label} is not in this bundle${this.reader.metadata ? '; the bundle may be damaged: run airgap verify' : ''}`
            : `${label} (${d.digest}) is not in this bundle; the bundle is damaged: run airgap verify`));
        } else if (!(d.urls?.length || isNonDistributableMediaType(d.mediaType))) {
          // Foreign layers (Windows base layers) live at their URLs, never in a registry: not missing.
          missingBlobs.push(d.digest);
        }
        continue;
      }
      content.add(d.digest);
      if (!manifest) continue;
      let served = this.manifests.get(d.digest);
      if (!served) {
        let bytes: Buffer;
        try {
          bytes = await this.reader.readBlob({ digest: d.digest, size: d.size }, MAX_MANIFEST_BYTES);
        } catch (e) {
          throw new BundleManifestError(this.reader.path, d.digest, label, e);
        }
        served = { digest: d.digest, mediaType: d.mediaType, bytes };
        try {
          const parsed = parseManifest(bytes, d.mediaType);
          served.mediaType = parsed.mediaType;
          for (const c of childrenOf(parsed).reverse()) {
            stack.push({ d: c, manifest: parsed.kind === 'index' && isManifestMediaType(c.mediaType), parent: d });
          }
        } catch (e) {
          // It matches its digest, so it is what upstream served: serve it as it is, without descending.
          this.warnings.push({ code: 'unreadable-manifest', message: `${label}: manifest ${d.digest} is served as stored but could not be read: ${(e as Error).message}` });
        }
        this.manifests.set(d.digest, served);
      } else {
        // Already read for another image: descend again so this repository learns its content.
        const parsed = safeParse(served);
        if (parsed) for (const c of childrenOf(parsed)) stack.push({ d: c, manifest: parsed.kind === 'index' && isManifestMediaType(c.mediaType), parent: d });
      }
    }
    return { content, absent, missingBlobs };
  }

  /** The repository a request names. containerd's `?ns=` form without the registry in the path maps to `ns/name`. */
  lookup(name: string, ns?: string): Repository | undefined {
    const direct = this.repositories.get(name);
    if (direct) return direct;
    if (!ns) return undefined;
    const scoped = [this.prefix, registryNamespace(ns), name].filter(Boolean).join('/');
    return this.repositories.get(scoped);
  }

  manifest(digest: string): ServedManifest | undefined {
    return this.manifests.get(digest);
  }

  /** Where a blob's bytes are in the bundle file. */
  blob(digest: string): { offset: number; size: number } | undefined {
    return this.reader.blobRange(digest);
  }

  /** Every upstream registry host the bundle has images of, sorted. */
  registries(): string[] {
    return [...new Set(this.images.map((i) => i.registry))].sort();
  }

  stats(): CatalogStats {
    const all = new Set<string>();
    for (const r of this.repositories.values()) for (const d of r.content) all.add(d);
    let bytes = 0;
    for (const d of all) bytes += this.reader.blobRange(d)?.size ?? 0;
    return { images: this.images.length, repositories: this.repositories.size, manifests: this.manifests.size, blobs: all.size, bytes };
  }
}

function safeParse(m: ServedManifest): ReturnType<typeof parseManifest> | undefined {
  try {
    return parseManifest(m.bytes, m.mediaType);
  } catch {
    return undefined;
  }
}
