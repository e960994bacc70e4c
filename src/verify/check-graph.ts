import { isIndexMediaType } from '../oci/media-type.js';
import { findings, type BundleCheck } from './check.js';
import { listNames, plural, shortDigest } from './format.js';

/** Failures the integrity check reports (it re-hashes every blob); the graph check does not repeat them. */
const CONTENT_ERROR_CODES = new Set(['ERR_DIGEST_MISMATCH', 'ERR_SIZE_MISMATCH', 'ERR_NOT_FOUND']);

const RELATION_WORD = {
  image: 'manifest',
  platform: 'manifest',
  child: 'manifest',
  config: 'config',
  layer: 'layer',
} as const;

/**
 * Every manifest's config, layers and children are present, or absent only where the metadata
 * records a platform filter. Archives from other tools carry no such record: an absent platform
 * there is a warning, and an image with no platform at all an error.
 */
export const graphCheck: BundleCheck = {
  name: 'graph',
  run(ctx) {
    const { reader, graph } = ctx;
    const f = findings('graph');
    const foreignBundle = reader.metadata === null;
    let absentByChoice = 0;
    let foreignLayers = 0;
    for (const m of graph.missing) {
      const images = [...m.images].sort();
      const plat = m.platform ? ` (${m.platform})` : '';
      if (m.byChoice) {
        absentByChoice++;
        continue;
      }
      if (m.foreign) {
        foreignLayers++;
        f.add('info', 'foreign-layer', `foreign layer ${m.child.digest}${plat} is not in the bundle; runtimes download it from ${m.child.urls?.[0]} (${listNames(images)})`, {
          digest: m.child.digest, images,
        });
        continue;
      }
      if (m.relation === 'platform' && foreignBundle) {
        f.add('warning', 'platform-absent', `${m.platform} of ${listNames(images)} is not in the archive (${shortDigest(m.child.digest)}); nothing records whether it was left out on purpose`, {
          digest: m.child.digest, images, platform: m.platform,
        });
        continue;
      }
      ctx.damaged.add(m.child.digest);
      const parentText = m.parent ? ` of ${m.platform && m.relation !== 'platform' ? `the ${m.platform} manifest` : 'manifest'} ${shortDigest(m.parent)}` : '';
      const what = m.relation === 'platform' ? `the ${m.platform} manifest ${m.child.digest}` : m.relation === 'image' ? `the image's ${isIndexMediaType(m.child.mediaType) ? 'index' : 'manifest'} ${m.child.digest}` : `the ${RELATION_WORD[m.relation]} ${m.child.digest}${parentText}`;
      f.add('error', m.relation === 'platform' || m.relation === 'image' || m.relation === 'child' ? 'missing-manifest' : 'missing-blob',
        `${what} is missing from the bundle; needed by ${listNames(images, 8)}`, {
          digest: m.child.digest, images, ...(m.platform ? { platform: m.platform } : {}),
        });
    }
    for (const n of graph.nodes.values()) {
      if (!n.error || (n.kind !== 'index' && n.kind !== 'manifest')) continue;
      // Digest and size failures are the integrity check's to report; here only what the JSON says.
      const code = (n.error as { code?: string }).code;
      if (code && CONTENT_ERROR_CODES.has(code)) continue;
      f.add('error', 'invalid-manifest', `manifest ${n.digest} of ${listNames([...n.users].sort())} cannot be read: ${n.error.message}`, {
        digest: n.digest, images: [...n.users].sort(),
      });
    }
    for (const d of graph.tooDeep) {
      f.add('error', 'nesting-too-deep', `manifest ${d.digest} is nested too deeply (indexes inside indexes); not followed`, { digest: d.digest, images: [...d.images] });
    }
    for (const img of graph.images) {
      const runnable = img.platforms.filter((p) => !p.attestation);
      const top = graph.nodes.get(img.bundleRef.descriptor.digest);
      if (top?.parsed?.kind === 'index' && runnable.length > 0 && !runnable.some((p) => p.present)) {
        f.add('error', 'no-platform', `${img.ref} has none of its ${plural(runnable.length, 'platform')} in the bundle`, { images: [img.ref], digest: img.bundleRef.descriptor.digest });
      }
    }
    const errors = f.list.filter((x) => x.severity === 'error').length;
    const warnings = f.list.filter((x) => x.severity === 'warning').length;
    return {
      findings: f.list,
      subjects: graph.images.map((i) => i.ref),
      stats: { nodes: graph.nodes.size, missing: graph.missing.length - absentByChoice - foreignLayers, absentByChoice, foreignLayers },
      summary: errors
        ? `${plural(errors, 'missing or unreadable piece')} in the image graph`
        : warnings
          ? `every config and layer present; ${plural(warnings, 'platform manifest')} absent, with no record of whether on purpose`
          : `every manifest's config, layers and children present${absentByChoice ? ` (${absentByChoice} platform manifests left out by the platform filter)` : ''}`,
    };
  },
};
