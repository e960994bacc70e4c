/**
 * `airgap pack --include-loader`: the airgap executables for the bundle's platforms
 * (npm run build:exe), carried in the bundle outside the OCI layout so a node with no Node.js
 * needs only the bundle: `tar -xf bundle.tar airgap-linux-amd64 && ./airgap-linux-amd64 load …`.
 */
import { createReadStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BundleLoader } from '../bundle/metadata.js';
import type { BundlePlanFile } from '../bundle/writer-plan.js';
import { Digester } from '../oci/digest.js';
import { formatPlatform, type PlatformSelection } from '../oci/platform.js';
import { UsageError } from '../errors.js';

/** The platforms executables are built for, and their names. */
export const LOADER_PLATFORMS: Record<string, string> = { 'linux/amd64': 'airgap-linux-amd64', 'linux/arm64': 'airgap-linux-arm64' };

/**
 * An executable as found when the bundle is planned. Only its size and digest are kept: the
 * bundle writer copies it from `path` in chunks and fails if it no longer matches them.
 */
export interface LoaderFile extends BundlePlanFile {
  platform: string;
}

/** Read in chunks this large while hashing (an executable is ~100 MiB: never held whole). */
const HASH_CHUNK = 1024 * 1024;

/** Where executables are looked for: the given dir; else next to a running executable, then dist/exe. */
export function loaderDirs(dir?: string): string[] {
  if (dir !== undefined) return [dir];
  const dirs = [dirname(process.execPath), fileURLToPath(new URL('../../exe/', import.meta.url))];
  return dirs.filter((d, i) => dirs.indexOf(d) === i);
}

/** The executables for the bundle's platforms ("all": every one built). */
export async function readLoaders(platforms: PlatformSelection, dir?: string): Promise<LoaderFile[]> {
  const wanted = platforms.all ? Object.keys(LOADER_PLATFORMS) : platforms.platforms.map((p) => formatPlatform({ os: p.os, architecture: p.architecture }));
  const dirs = loaderDirs(dir);
  const out: LoaderFile[] = [];
  for (const platform of [...new Set(wanted)]) {
    const name = LOADER_PLATFORMS[platform];
    if (name === undefined) {
      if (platforms.all) continue;
      throw new UsageError('ERR_LOADER_PLATFORM', `there is no airgap executable for ${platform}`, {
        hint: `--include-loader carries executables for ${Object.keys(LOADER_PLATFORMS).join(' and ')}; leave it out for ${platform} nodes (they need Node.js ${'>='}20 and npm's airgap)`,
        details: { platform },
      });
    }
    const path = dirs.map((d) => join(d, name)).find((p) => existsSync(p));
    if (path === undefined) {
      throw new UsageError('ERR_LOADER_NOT_FOUND', `--include-loader: ${name} (for ${platform}) not found in ${dirs.join(', ')}`, {
        hint: 'build the executables first: npm run build:exe (or pass the directory holding them: --include-loader DIR)',
        details: { name, platform, looked: dirs },
      });
    }
    out.push({ platform, name, path, ...(await hashFile(path)) });
  }
  return out;
}

/** Size and sha256 digest of a file, read in chunks. */
export async function hashFile(path: string): Promise<Pick<LoaderFile, 'size' | 'digest'>> {
  const digester = new Digester('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: HASH_CHUNK })) digester.update(chunk as Buffer);
  return { size: digester.size, digest: digester.digest() };
}

/** The metadata entry of each carried executable. */
export function loaderMetadata(files: readonly LoaderFile[]): BundleLoader[] {
  return files.map((f) => ({ platform: f.platform, name: f.name, size: f.size, digest: f.digest }));
}
