import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blobPath, BundleEntry, type BundleImage, type BundleMetadata } from '../../src/bundle/metadata.js';
import { Annotation } from '../../src/oci/descriptor.js';
import { isIndexMediaType } from '../../src/oci/media-type.js';
import { formatPlatform, parsePlatform } from '../../src/oci/platform.js';
import { header } from './tar-writer.js';

/**
 * Pack an OCI layout directory (the lab generator's) into a bundle per docs/bundle-format.md,
 * offline and independent of the product's writer: what `airgap pack` would make of the same
 * images. Blobs are streamed, so it works for benchmark-sized layouts too.
 */

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface LayoutBundleOptions {
  platforms?: 'all' | string[];
  kubernetes?: { version: string; distribution: string } | null;
  /** Default true; false writes only the OCI layout, as other tools do. */
  metadata?: boolean;
}

export async function bundleFromLayout(layoutDir: string, out: string, opts: LayoutBundleOptions = {}): Promise<{ path: string; blobs: number; size: number }> {
  const blob = (d: string): string => join(layoutDir, blobPath(d));
  const json = async <T>(d: string): Promise<T> => JSON.parse(await readFile(blob(d), 'utf8')) as T;
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Desc[] };
  const filter = opts.platforms ?? 'all';
  const wanted = filter === 'all' ? undefined : filter.map((p) => formatPlatform(parsePlatform(p)));

  const manifests: Desc[] = [];
  const configs: Desc[] = [];
  const layers: Desc[] = [];
  const add = (list: Desc[], d: Desc): void => {
    if (![...manifests, ...configs, ...layers].some((x) => x.digest === d.digest)) list.push(d);
  };
  const images: BundleImage[] = [];
  const entries = [...index.manifests].sort((a, b) => (a.annotations?.[Annotation.ContainerdImageName] ?? '').localeCompare(b.annotations?.[Annotation.ContainerdImageName] ?? ''));
  for (const top of entries) {
    const ref = top.annotations?.[Annotation.ContainerdImageName] ?? top.annotations?.[Annotation.RefName] ?? top.digest;
    const image: BundleImage = { ref, digest: top.digest as BundleImage['digest'], mediaType: top.mediaType, size: top.size, role: ref.split('/').at(-1)!.split(':')[0]! };
    add(manifests, top);
    const children: Desc[] = isIndexMediaType(top.mediaType) ? (await json<{ manifests: Desc[] }>(top.digest)).manifests : [top];
    if (isIndexMediaType(top.mediaType)) image.platforms = [];
    for (const c of children) {
      const label = c.platform ? formatPlatform(c.platform) : 'unknown';
      const included = !wanted || c === top || wanted.includes(label);
      image.platforms?.push({ platform: label, digest: c.digest as BundleImage['digest'], included });
      if (!included) continue;
      add(manifests, c);
      const m = await json<{ config: Desc; layers: Desc[] }>(c.digest);
      add(configs, m.config);
      for (const l of m.layers) add(layers, l);
    }
    images.push(image);
  }
  const all = [...manifests, ...configs, ...layers];
  const size = all.reduce((s, d) => s + d.size, 0);
  const metadata: BundleMetadata = {
    formatVersion: 1,
    tool: { name: 'airgap', version: '0.1.0' },
    created: '2026-01-01T00:00:00Z',
    kubernetes: opts.kubernetes ?? null,
    platforms: filter,
    images,
    blobs: { count: all.length, size, sizeWithoutDedup: size },
  };
  const indexJson = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: entries.map((e) => ({ mediaType: e.mediaType, digest: e.digest, size: e.size, annotations: e.annotations })),
  };

  const fh = await open(out, 'w');
  let pos = 0;
  const write = async (b: Buffer): Promise<void> => {
    await fh.write(b, 0, b.length, pos);
    pos += b.length;
  };
  const entry = async (name: string, data: Buffer): Promise<void> => {
    await write(header(name, data.length, '0'));
    await write(data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) await write(Buffer.alloc(pad));
  };
  try {
    if (opts.metadata ?? true) await entry(BundleEntry.Metadata, Buffer.from(JSON.stringify(metadata, null, 2)));
    await entry(BundleEntry.OciLayout, Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    await entry(BundleEntry.Index, Buffer.from(JSON.stringify(indexJson)));
    for (const d of all) await entry(blobPath(d.digest), await readFile(blob(d.digest)));
    await write(Buffer.alloc(1024));
  } finally {
    await fh.close();
  }
  return { path: out, blobs: all.length, size };
}
