import { Readable } from 'node:stream';
import type { BundleReader } from '../bundle/reader.js';
import { blobPath, BundleEntry } from '../bundle/metadata.js';
import { encodeTarHeader, TAR_END_SIZE, tarPadding } from '../bundle/tar-header.js';
import { Annotation, type Descriptor } from '../oci/descriptor.js';
import { MediaType } from '../oci/media-type.js';

/**
 * A small OCI-layout tar of some of the bundle's images, built on the fly from verified range
 * reads of the bundle (nothing is extracted to disk): what `ctr images import -` reads. Each image
 * is named in index.json by its full reference, so containerd creates exactly the names CRI
 * looks up (registry.k8s.io/pause:3.9), whatever the bundle's own annotations say.
 */

export interface ArchiveImage {
  name: string;
  descriptor: Descriptor;
  /** every blob of the image the archive carries (root included) */
  blobs: readonly Descriptor[];
  /** content that is not in the bundle (a reduced index), by digest */
  extra?: ReadonlyMap<string, Buffer>;
}

export function ociArchive(reader: BundleReader, images: readonly ArchiveImage[], opts: { signal?: AbortSignal } = {}): Readable {
  const mtime = 0;
  async function* generate(): AsyncGenerator<Buffer> {
    const file = (name: string, data: Buffer): Buffer[] => [encodeTarHeader({ name, size: data.byteLength, mtime }), data, Buffer.alloc(tarPadding(data.byteLength))];
    yield* file(BundleEntry.OciLayout, Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: images.map((i) => ({
        mediaType: i.descriptor.mediaType,
        digest: i.descriptor.digest,
        size: i.descriptor.size,
        annotations: { [Annotation.ContainerdImageName]: i.name, [Annotation.RefName]: i.name },
      })),
    };
    yield* file(BundleEntry.Index, Buffer.from(JSON.stringify(index)));
    const seen = new Set<string>();
    for (const img of images) {
      for (const b of img.blobs) {
        if (seen.has(b.digest)) continue;
        seen.add(b.digest);
        opts.signal?.throwIfAborted();
        const own = img.extra?.get(b.digest);
        if (own) {
          yield* file(blobPath(b.digest), own);
          continue;
        }
        yield encodeTarHeader({ name: blobPath(b.digest), size: b.size, mtime });
        // A blob that does not match its digest fails the verifying stream at its end: the archive
        // errors there and the importer is killed before it reads an end (containerd also checks
        // each blob's digest as it commits it).
        for await (const chunk of await reader.fetch(b, opts.signal ? { signal: opts.signal } : {})) yield chunk as Buffer;
        const pad = tarPadding(b.size);
        if (pad) yield Buffer.alloc(pad);
      }
    }
    yield Buffer.alloc(TAR_END_SIZE);
  }
  return Readable.from(generate(), { objectMode: false });
}
