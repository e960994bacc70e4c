import { Readable } from 'node:stream';
import type { BundleReader } from '../bundle/reader.js';
import { blobPath, BundleEntry } from '../bundle/metadata.js';
import { encodeTarHeader, TAR_END_SIZE, tarPadding } from '../bundle/tar-header.js';
import { dockerManifestJson, type DockerArchiveImage } from '../bundle/docker-manifest.js';

/**
 * A docker-archive (the `docker save` format) of one image's single-platform content, built on the
 * fly from verified range reads of the bundle (nothing is extracted to disk): what Docker Engine's
 * `POST /images/load` reads. 20.10 does not read an OCI index.json; it reads `manifest.json`
 * (`[{Config, RepoTags, Layers}]`) and the files it names. Layers go as the bundle holds them
 * (gzip): Docker decompresses and checks each against the config's diff_ids; never recompress.
 *
 * The config is read whole (and verified) before a byte is sent, since Docker takes the config's
 * own digest as the image ID; every layer is verified as it streams. `manifest.json` comes last:
 * an archive cut short by a digest mismatch (the stream errors, the upload is aborted) names no
 * image at all.
 */

export type { DockerArchiveImage } from '../bundle/docker-manifest.js';
export { dockerManifestJson } from '../bundle/docker-manifest.js';

export function dockerArchive(reader: BundleReader, images: readonly DockerArchiveImage[], opts: { signal?: AbortSignal } = {}): Readable {
  const mtime = 0;
  const fetchOpts = opts.signal ? { signal: opts.signal } : {};
  async function* generate(): AsyncGenerator<Buffer> {
    const file = (name: string, data: Buffer): Buffer[] => [encodeTarHeader({ name, size: data.byteLength, mtime }), data, Buffer.alloc(tarPadding(data.byteLength))];
    const seen = new Set<string>();
    for (const img of images) {
      if (!seen.has(img.config.digest)) {
        seen.add(img.config.digest);
        opts.signal?.throwIfAborted();
        yield* file(blobPath(img.config.digest), await reader.readBlob(img.config));
      }
      for (const l of img.layers) {
        if (seen.has(l.digest)) continue;
        seen.add(l.digest);
        opts.signal?.throwIfAborted();
        yield encodeTarHeader({ name: blobPath(l.digest), size: l.size, mtime });
        // A layer that does not match its digest fails the verifying stream at its end: the
        // archive errors there, before its padding, the manifest and the end of the archive.
        for await (const chunk of await reader.fetch(l, fetchOpts)) yield chunk as Buffer;
        const pad = tarPadding(l.size);
        if (pad) yield Buffer.alloc(pad);
      }
    }
    yield* file(BundleEntry.DockerManifest, dockerManifestJson(images));
    yield Buffer.alloc(TAR_END_SIZE);
  }
  return Readable.from(generate(), { objectMode: false });
}
