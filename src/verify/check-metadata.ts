import { BundleEntry } from '../bundle/metadata.js';
import { parseKubernetesVersion } from '../kubernetes/version.js';
import { digestAlgorithm, isDigest } from '../oci/digest.js';
import { hashRanges } from './rehash.js';
import { normalizeMediaType } from '../oci/media-type.js';
import { formatPlatform, parsePlatform } from '../oci/platform.js';
import { findings, type BundleCheck } from './check.js';
import { platformLabel } from './graph.js';
import { plural, shortDigest } from './format.js';

function samePlatform(a: string, b: string): boolean {
  try {
    return formatPlatform(parsePlatform(a)) === formatPlatform(parsePlatform(b));
  } catch {
    return a === b;
  }
}

/** airgap-bundle.json agrees with index.json, the index manifests and the blobs (our bundles only). */
export const metadataCheck: BundleCheck = {
  name: 'metadata',
  async run({ reader, graph }) {
    const f = findings('metadata');
    const problem = reader.problems.find((p) => p.code === 'invalid-metadata');
    if (problem) {
      f.add('error', 'invalid-metadata', problem.message, { entry: BundleEntry.Metadata });
      return { findings: f.list, summary: problem.message };
    }
    const md = reader.metadata;
    if (!md) {
      return {
        findings: [],
        skipped: true,
        summary: 'no airgap-bundle.json: an OCI layout archive from another tool; checked what the layout itself records',
      };
    }

    const refs = reader.images();
    const inMetadata = new Set<string>();
    for (const img of md.images) {
      inMetadata.add(img.ref);
      const r = refs.find((x) => x.names.includes(img.ref));
      if (!r) {
        f.add('error', 'metadata-image-not-in-index', `the metadata lists ${img.ref}, but index.json has no image of that name`, { images: [img.ref], digest: img.digest });
        continue;
      }
      const d = r.descriptor;
      const fields = [['digest', img.digest, d.digest], ['mediaType', normalizeMediaType(img.mediaType), normalizeMediaType(d.mediaType)], ['size', img.size, d.size]] as const;
      for (const [field, want, have] of fields) {
        if (want !== have) {
          f.add('error', 'metadata-mismatch', `the metadata says ${img.ref} has ${field} ${want}, index.json says ${have}`, {
            images: [img.ref], expected: String(have), actual: String(want), ...(field === 'digest' ? { digest: d.digest } : {}),
          });
        }
      }
      const top = graph.nodes.get(d.digest)?.parsed;
      if (!img.platforms || top?.kind !== 'index') continue;
      const children = top.index.manifests;
      for (const p of img.platforms) {
        const c = children.find((x) => x.digest === p.digest);
        if (!c) {
          f.add('error', 'metadata-platform-unknown', `the metadata records ${p.platform} of ${img.ref} as ${shortDigest(p.digest)}, which its index does not list`, {
            images: [img.ref], digest: p.digest, platform: p.platform,
          });
          continue;
        }
        if (!samePlatform(platformLabel(c.platform), p.platform)) {
          f.add('warning', 'metadata-platform-mismatch', `the metadata calls ${shortDigest(p.digest)} of ${img.ref} ${p.platform}, its index says ${platformLabel(c.platform)}`, {
            images: [img.ref], digest: p.digest, platform: p.platform,
          });
        }
        if (!p.included && reader.blobEntry(p.digest)) {
          f.add('info', 'excluded-but-present', `${p.platform} of ${img.ref} is recorded as left out, yet the bundle holds it`, { images: [img.ref], digest: p.digest, platform: p.platform });
        }
      }
      for (const c of children) {
        if (img.platforms.some((p) => p.digest === c.digest)) continue;
        if (c.platform?.os === 'unknown' || c.annotations?.['vnd.docker.reference.type']) continue; // attestations
        f.add('warning', 'platform-not-recorded', `${c.platform ? formatPlatform(c.platform) : shortDigest(c.digest)} of ${img.ref} is not recorded in the metadata's platforms`, {
          images: [img.ref], digest: c.digest, ...(c.platform ? { platform: formatPlatform(c.platform) } : {}),
        });
      }
    }
    for (const r of refs) {
      if (!r.names.some((n) => inMetadata.has(n))) {
        f.add('error', 'image-not-in-metadata', `index.json lists ${r.name ?? shortDigest(r.descriptor.digest)}, which the metadata does not`, {
          digest: r.descriptor.digest, ...(r.name ? { images: [r.name] } : {}),
        });
      }
    }

    const blobs = reader.blobDigests();
    const blobBytes = blobs.reduce((s, d) => s + (reader.blobEntry(d)?.size ?? 0), 0);
    if (md.blobs.count !== blobs.length) {
      f.add('error', 'blob-count-mismatch', `the metadata counts ${md.blobs.count} blobs, the bundle holds ${blobs.length}`, { expected: String(md.blobs.count), actual: String(blobs.length) });
    }
    if (md.blobs.size !== blobBytes) {
      f.add('error', 'blob-size-mismatch', `the metadata sums the blobs to ${md.blobs.size} bytes, the bundle's blobs are ${blobBytes} bytes`, { expected: String(md.blobs.size), actual: String(blobBytes) });
    }
    if (md.blobs.sizeWithoutDedup < md.blobs.size) {
      f.add('warning', 'blob-size-mismatch', `the metadata's size without deduplication (${md.blobs.sizeWithoutDedup}) is less than the size (${md.blobs.size})`);
    }
    if (md.kubernetes) {
      try {
        parseKubernetesVersion(md.kubernetes.version);
      } catch {
        f.add('warning', 'invalid-kubernetes-version', `the metadata's Kubernetes version "${md.kubernetes.version}" is not a version`);
      }
    }
    await checkLoaders(reader, f.add);
    checkOrder(reader, graph, f.add);

    const errors = f.list.filter((x) => x.severity === 'error').length;
    return {
      findings: f.list,
      stats: { images: md.images.length, blobs: md.blobs.count },
      subjects: md.images.map((i) => i.ref),
      summary: errors
        ? `${plural(errors, 'inconsistency', 'inconsistencies')} between airgap-bundle.json and the layout`
        : `consistent with index.json and the blobs (${plural(md.images.length, 'image')}; made by ${md.tool.name} ${md.tool.version}, ${md.created})`,
    };
  },
};

/** The executables the bundle carries (pack --include-loader): present, and of the size and digest recorded. */
async function checkLoaders(reader: Parameters<BundleCheck['run']>[0]['reader'], add: ReturnType<typeof findings>['add']): Promise<void> {
  const loaders = reader.metadata?.loaders ?? [];
  const present = loaders.flatMap((l) => {
    const e = reader.entry(l.name);
    if (!e) {
      add('error', 'loader-missing', `the metadata lists the executable ${l.name} (${l.platform}), but the bundle does not hold it`, { entry: l.name, digest: l.digest });
      return [];
    }
    if (e.size !== l.size) {
      add('error', 'loader-mismatch', `${l.name} is ${e.size} bytes, the metadata says ${l.size}`, { entry: l.name, expected: String(l.size), actual: String(e.size) });
      return [];
    }
    return [{ l, e }];
  });
  if (present.length === 0) return;
  const file = reader.file;
  const hashes = file
    ? await hashRanges(file, present.map(({ l, e }) => ({ algorithm: digestAlgorithm(l.digest), offset: e.offset, length: e.size })), { threads: 1 })
    : present.map(({ l, e }) => reader.passHash(e.name, digestAlgorithm(l.digest)) ?? { digest: 'unknown', bytes: 0 });
  present.forEach(({ l }, i) => {
    const h = hashes[i]!;
    if (h.digest !== l.digest) {
      add('error', 'loader-mismatch', `${l.name} does not match its recorded digest ${shortDigest(l.digest)} (it hashes to ${shortDigest(h.digest)}): do not run it`, {
        entry: l.name, expected: l.digest, actual: h.digest,
      });
    }
  });
}

/** docs/bundle-format.md fixes the entry order so readers can stream; a different order is noted. */
function checkOrder(reader: Parameters<BundleCheck['run']>[0]['reader'], graph: Parameters<BundleCheck['run']>[0]['graph'], add: ReturnType<typeof findings>['add']): void {
  const rank = (name: string): number => {
    if (name === BundleEntry.Metadata) return 0;
    if (name === BundleEntry.OciLayout) return 1;
    if (name === BundleEntry.Index || name === BundleEntry.DockerManifest) return 2;
    if (reader.metadata?.loaders?.some((l) => l.name === name)) return 2; // executables right after index.json
    const m = /^blobs\/([^/]+)\/([^/]+)$/.exec(name);
    if (!m || !isDigest(`${m[1]}:${m[2]}`)) return 6;
    const kind = graph.nodes.get(`${m[1]}:${m[2]}`)?.kind;
    // A blob the walk never reached (below a damaged manifest, or unused) has no known place.
    if (kind === undefined) return -1;
    return kind === 'index' || kind === 'manifest' ? 3 : kind === 'config' ? 4 : 5;
  };
  const what = ['airgap-bundle.json', 'oci-layout', 'index.json', 'manifests', 'configs', 'layers', 'other files'];
  let prev: { name: string; r: number } | undefined;
  for (const e of reader.tar.entries) {
    if (e.type !== 'file') continue;
    const r = rank(e.name);
    if (r < 0) continue;
    if (prev && r < prev.r) {
      add('warning', 'entry-order', `entry ${e.rawName} (${what[r]}) comes after ${prev.name} (${what[prev.r]}); docs/bundle-format.md puts ${what[r]} first, so streaming readers may stumble`, { entry: e.rawName });
      return;
    }
    prev = { name: e.rawName, r };
  }
}
