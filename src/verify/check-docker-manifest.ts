import { digestOfBlobPath, dockerRepoTag, manifestForPlatform, MAX_DOCKER_MANIFEST_BYTES, parseDockerManifestJson, type DockerManifestEntry } from '../bundle/docker-manifest.js';
import { BundleEntry } from '../bundle/metadata.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { ImageManifest } from '../oci/manifest.js';
import { parsePlatform, type Platform } from '../oci/platform.js';
import { isReference, parseReference } from '../oci/reference.js';
import { findings, type BundleCheck, type BundleContext } from './check.js';
import { listNames, plural, shortDigest } from './format.js';
import type { GraphImage } from './graph.js';

/**
 * manifest.json, the docker-archive index `docker load` reads: valid, every path a blob of the
 * bundle, every RepoTag an image of index.json, and each entry's config and layers exactly those of
 * that image's manifest for the platform the metadata records (for another tool's archive, which
 * records none: of one of its manifests). A bundle without manifest.json (from an older airgap) is
 * fine: docker load cannot read it, airgap load --docker can.
 */

type Add = ReturnType<typeof findings>['add'];

/** name:tag as Docker tags it (a digest dropped), for comparing RepoTags with index.json names. */
function dockerKey(ref: string): string | undefined {
  return isReference(ref) ? dockerRepoTag(parseReference(ref)) : undefined;
}

function tryPlatform(p: string | undefined): Platform | undefined {
  try {
    return p && p !== 'unknown' ? parsePlatform(p) : undefined;
  } catch {
    return undefined;
  }
}

async function readEntry(ctx: BundleContext, name: string): Promise<Buffer | string> {
  const e = ctx.reader.entry(name);
  if (!e) return `${name} is missing`;
  if (e.truncated) return `${name} is cut short by the end of the archive`;
  if (e.size > MAX_DOCKER_MANIFEST_BYTES) return `${name} is ${e.size} bytes, over the ${MAX_DOCKER_MANIFEST_BYTES}-byte limit`;
  if (e.size === 0) return Buffer.alloc(0);
  // Through the reader: the archive may be a stream (stdin, .tar.zst) read once.
  return ctx.reader.readEntry(name, MAX_DOCKER_MANIFEST_BYTES);
}

/** The manifest of `img` an entry must match: for `platform`, else any of its manifests with that config. */
function expectedManifest(ctx: BundleContext, img: GraphImage, platform: Platform | undefined, config: string): ImageManifest | undefined {
  const parsed = (d: Pick<Descriptor, 'digest'>) => ctx.graph.nodes.get(d.digest)?.parsed;
  if (platform) {
    return manifestForPlatform(img.bundleRef.descriptor, platform, parsed, () => tryPlatform(img.platforms[0]?.platform))?.manifest;
  }
  for (const d of img.digests) {
    const m = parsed({ digest: d });
    if (m?.kind === 'manifest' && m.manifest.config.digest === config) return m.manifest;
  }
  return undefined;
}

/** Each path names a blob the bundle holds; the digests, or undefined when one does not. */
function blobDigests(ctx: BundleContext, e: DockerManifestEntry, i: number, add: Add): string[] | undefined {
  let ok = true;
  const out = [e.config, ...e.layers].map((path) => {
    const d = digestOfBlobPath(path);
    if (d && ctx.reader.blobEntry(d)) return d;
    ok = false;
    if (!d && ctx.reader.entry(path)) {
      add('warning', 'docker-manifest-not-blob', `manifest.json entry ${i + 1} names ${path}, a file outside the OCI layout's blobs: it cannot be checked against an image`, { entry: path });
    } else {
      add('error', 'docker-manifest-blob-missing', `manifest.json entry ${i + 1} names ${path}, which the bundle does not hold: docker load would fail`, { entry: path, ...(d ? { digest: d } : {}) });
    }
    return '';
  });
  return ok ? out : undefined;
}

export const dockerManifestCheck: BundleCheck = {
  name: 'docker',
  async run(ctx) {
    const { reader, graph } = ctx;
    const f = findings('docker');
    const recorded = reader.metadata?.docker;
    if (reader.docker) {
      // A docker-archive: manifest.json is what its images were built from, checked by building them.
      return { findings: [], skipped: true, summary: 'a docker-archive: its manifest.json is the index its images were read from' };
    }
    if (!reader.entry(BundleEntry.DockerManifest)) {
      if (recorded) {
        f.add('error', 'docker-manifest-missing', `the metadata records manifest.json for ${recorded.platform}, but the bundle has none: docker load cannot read it`, { entry: BundleEntry.DockerManifest });
        return { findings: f.list, summary: 'manifest.json is missing' };
      }
      return { findings: [], skipped: true, summary: 'no manifest.json (an older bundle or another tool\'s archive): docker load cannot read it, airgap load --docker can' };
    }
    if (!reader.entry(BundleEntry.Index)) {
      // A docker-archive (docker save before 25, podman save): manifest.json is all the index it
      // has, and what the other checks read; nothing beside it to compare it with.
      return { findings: [], skipped: true, summary: 'a docker-archive: manifest.json is its only index, checked as the image graph' };
    }
    let entries: DockerManifestEntry[];
    try {
      const bytes = await readEntry(ctx, BundleEntry.DockerManifest);
      if (typeof bytes === 'string') throw new Error(bytes);
      entries = parseDockerManifestJson(bytes);
    } catch (e) {
      f.add('error', 'invalid-docker-manifest', (e as Error).message, { entry: BundleEntry.DockerManifest });
      return { findings: f.list, summary: (e as Error).message };
    }

    const platform = tryPlatform(recorded?.platform);
    const byTag = new Map<string, GraphImage>();
    for (const img of graph.images) {
      const key = img.named ? dockerKey(img.ref) : undefined;
      if (key && !byTag.has(key)) byTag.set(key, img);
    }
    const loaded = new Set<string>();
    entries.forEach((e, i) => {
      const digests = blobDigests(ctx, e, i, f.add);
      for (const tag of e.repoTags) {
        const key = dockerKey(tag);
        const img = key ? byTag.get(key) : undefined;
        if (!img) {
          f.add('error', 'docker-tag-unknown', `manifest.json entry ${i + 1} tags ${JSON.stringify(tag)}, which index.json does not name`, { actual: tag });
          continue;
        }
        loaded.add(img.ref);
        if (!digests) continue;
        const [config, ...layers] = digests as [string, ...string[]];
        const want = expectedManifest(ctx, img, platform, config);
        const what = platform ? `its ${recorded!.platform} manifest` : 'any of its manifests';
        if (!want) {
          f.add('error', 'docker-manifest-mismatch', `manifest.json loads ${tag} with config ${shortDigest(config)}, which is not the config of ${what} in the bundle`, {
            images: [img.ref], digest: config, ...(recorded ? { platform: recorded.platform } : {}),
          });
          continue;
        }
        const have = [config, ...layers].join(',');
        const expected = [want.config.digest, ...want.layers.map((l) => l.digest)].join(',');
        if (have !== expected) {
          f.add('error', 'docker-manifest-mismatch', `manifest.json loads ${tag} with ${want.config.digest === config ? `${plural(layers.length, 'layer')} that differ from` : `config ${shortDigest(config)}, not that of`} ${what} (config ${shortDigest(want.config.digest)}, ${plural(want.layers.length, 'layer')})`, {
            images: [img.ref], expected, actual: have, ...(recorded ? { platform: recorded.platform } : {}),
          });
        }
      }
    });

    if (recorded) {
      const named = new Set(graph.images.map((g) => g.ref));
      for (const ref of recorded.images) {
        if (dockerKey(ref) && !loaded.has(ref)) {
          f.add('error', 'docker-image-not-loaded', `the metadata says manifest.json loads ${ref}, but no entry tags it`, { images: named.has(ref) ? [ref] : [] });
        }
      }
      for (const ref of recorded.missing) {
        if (loaded.has(ref)) f.add('warning', 'docker-metadata-mismatch', `the metadata lists ${ref} as left out of manifest.json, yet an entry tags it`, { images: [ref] });
      }
      const left = graph.images.filter((g) => g.named && !recorded.images.includes(g.ref) && !recorded.missing.includes(g.ref)).map((g) => g.ref);
      if (left.length) f.add('warning', 'docker-image-not-recorded', `the metadata's docker record names neither way ${listNames(left)}`, { images: left });
      if (recorded.missing.length) {
        f.add('info', 'docker-image-left-out', `docker load -i gives no ${recorded.platform} image for ${listNames(recorded.missing)}: the bundle has no ${recorded.platform} manifest for ${recorded.missing.length === 1 ? 'it' : 'them'}`, {
          images: recorded.missing, platform: recorded.platform,
        });
      }
    }

    const errors = f.list.filter((x) => x.severity === 'error').length;
    const tags = entries.reduce((n, e) => n + e.repoTags.length, 0);
    return {
      findings: f.list,
      stats: { entries: entries.length, tags, ...(recorded ? { missing: recorded.missing.length } : {}) },
      subjects: [...loaded].sort(),
      summary: errors
        ? `${plural(errors, 'problem')} in manifest.json: docker load would fail or load the wrong image`
        : `${tags ? `each of ${plural(tags, 'tag')} (${plural(entries.length, 'image')}) names the bundle's own config and layers` : 'names no image'}${recorded ? ` for ${recorded.platform}${recorded.missing.length ? `; ${recorded.missing.length} left out (no ${recorded.platform} manifest)` : ''}` : ''}`,
    };
  },
};
