import { isDigest } from '../oci/digest.js';
import { isManifestMediaType } from '../oci/media-type.js';
import { isReference } from '../oci/reference.js';
import { BundleEntry } from '../bundle/metadata.js';
import { findings, type BundleCheck } from './check.js';
import { plural, shortDigest } from './format.js';

/** Top-level files other tools put next to the layout, which we accept without comment. */
const KNOWN_TOP = new Set<string>([BundleEntry.Metadata, BundleEntry.OciLayout, BundleEntry.Index, 'manifest.json', 'repositories']);

/** oci-layout and index.json present and valid; every image named; blobs named by their digests. */
export const layoutCheck: BundleCheck = {
  name: 'layout',
  run({ reader }) {
    const f = findings('layout');
    for (const p of reader.problems) {
      if (p.code === 'invalid-metadata') continue; // the metadata check reports it
      f.add('error', p.code, p.message, p.entry ? { entry: p.entry } : {});
    }
    let blobs = 0;
    if (reader.docker) {
      // A docker-archive: no OCI layout to check; what airgap made of it is said instead.
      for (const n of reader.docker.notes) f.add('info', 'docker-archive', n);
      const images = new Set(reader.images().map((r) => r.descriptor.digest)).size;
      return { findings: f.list, stats: { images, blobs: reader.blobDigests().length }, summary: `a docker-archive: ${plural(images, 'image')} (manifests built by airgap from manifest.json)` };
    }
    for (const e of reader.tar.entries) {
      if (e.type !== 'file') continue;
      const parts = e.name.split('/');
      if (parts[0] === BundleEntry.BlobsDir) {
        if (parts.length === 3 && isDigest(`${parts[1]}:${parts[2]}`)) blobs++;
        else f.add('warning', 'stray-entry', `entry "${e.rawName}" under blobs/ is not named algorithm/digest; no image can use it`, { entry: e.rawName });
      } else if (parts.length > 1 || !KNOWN_TOP.has(e.name)) {
        f.add('info', 'extra-entry', `entry "${e.rawName}" is not part of the OCI layout (ignored)`, { entry: e.rawName });
      }
    }
    for (const r of reader.images()) {
      const d = r.descriptor;
      if (!r.name) {
        f.add('warning', 'unnamed-image', `index.json entry #${r.position + 1} (${shortDigest(d.digest)}) has no name annotation; loaders cannot tag it`, { digest: d.digest });
      } else if (!isReference(r.name)) {
        f.add('info', 'short-name', `index.json entry #${r.position + 1} is named only "${r.name}", not a full image reference; list and Kubernetes coverage cannot match it`, { digest: d.digest, images: [r.name] });
      }
      if (!isManifestMediaType(d.mediaType)) {
        f.add('warning', 'not-an-image', `index.json entry ${r.name ?? `#${r.position + 1}`} has media type ${d.mediaType}, not an image manifest or index`, { digest: d.digest, ...(r.name ? { images: [r.name] } : {}) });
      }
    }
    const images = reader.images().length;
    const errors = f.list.filter((x) => x.severity === 'error').length;
    const summary = errors
      ? f.list.find((x) => x.severity === 'error')!.message
      : `oci-layout and index.json valid; ${plural(images, 'image')}, ${plural(blobs, 'blob')}`;
    return { findings: f.list, stats: { images, blobs }, summary };
  },
};
