import type { Descriptor } from '../oci/descriptor.js';
import { digestOf } from '../oci/digest.js';
import { ociMediaTypeOf, withOciMediaTypes } from '../oci/convert.js';
import { parseManifest } from '../oci/manifest.js';
import type { ResolvedImage, ResolvedManifest } from './resolve.js';

/**
 * pack --oci-media-types: a resolved image with every manifest and index it packs rewritten with
 * OCI media types, bottom up (a manifest's new digest goes into its index). Configs and layers are
 * untouched. Children left out by the platform filter keep their upstream descriptors: their bytes
 * are not in the bundle, and a converted digest for them would name content that exists nowhere.
 * An image already all OCI comes back as it was (its digest unchanged, no `convertedFrom`).
 */
export function convertToOci(r: ResolvedImage): ResolvedImage {
  const byDigest = new Map(r.manifests.map((m) => [m.descriptor.digest, m]));
  const done = new Map<string, ResolvedManifest>();
  const convert = (m: ResolvedManifest): ResolvedManifest => {
    const known = done.get(m.descriptor.digest);
    if (known) return known;
    const children = new Map<string, Descriptor>();
    if (m.parsed.kind === 'index') {
      for (const c of m.parsed.index.manifests) {
        const held = byDigest.get(c.digest);
        if (held) children.set(c.digest, convert(held).descriptor);
      }
    }
    const bytes = withOciMediaTypes(m.bytes, children);
    const out: ResolvedManifest = bytes === m.bytes
      ? m
      : {
        descriptor: { ...m.descriptor, mediaType: ociMediaTypeOf(m.descriptor.mediaType), digest: digestOf(bytes), size: bytes.byteLength },
        bytes,
        parsed: parseManifest(bytes),
      };
    done.set(m.descriptor.digest, out);
    return out;
  };
  const top = r.manifests[0];
  if (!top) return r;
  const newTop = convert(top);
  if (newTop === top) return r;
  const changed = new Map([...done].filter(([from, m]) => m.descriptor.digest !== from).map(([from, m]) => [from, m.descriptor.digest]));
  return {
    ...r,
    descriptor: { mediaType: newTop.descriptor.mediaType, digest: newTop.descriptor.digest, size: newTop.descriptor.size },
    convertedFrom: r.descriptor,
    manifests: r.manifests.map((m) => done.get(m.descriptor.digest) ?? m),
    configs: r.configs.map((c) => ({ ...c, descriptor: { ...c.descriptor, mediaType: ociMediaTypeOf(c.descriptor.mediaType) } })),
    ...(r.platforms
      ? {
        platforms: r.platforms.map((p) => {
          const to = changed.get(p.digest);
          return to ? { ...p, digest: to, convertedFrom: p.digest } : p;
        }),
      }
      : {}),
  };
}
