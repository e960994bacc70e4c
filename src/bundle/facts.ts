/** What doctor needs from the bundle: its images (names, digests, roles), registries and pause. */
import { BundleReader } from './reader.js';
import { bundleImages, sandboxImageOf, type LoadImage } from './images.js';

export interface BundleFacts {
  path: string;
  images: LoadImage[];
  /** Source registries, sorted (registry.k8s.io, docker.io, …). */
  registries: string[];
  pause?: LoadImage;
  kubernetes: { version: string; distribution: string } | null;
}

export async function readBundleFacts(path: string): Promise<BundleFacts> {
  const reader = await BundleReader.open(path);
  try {
    const images = await bundleImages(reader);
    const pause = sandboxImageOf(images);
    return {
      path,
      images,
      registries: [...new Set(images.map((i) => i.ref.registry))].sort(),
      ...(pause ? { pause } : {}),
      kubernetes: reader.metadata?.kubernetes ?? null,
    };
  } finally {
    await reader.close();
  }
}
