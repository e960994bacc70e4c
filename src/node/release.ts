/**
 * The distribution release a node runs (v1.30.14+k3s1), from what was given or the distribution's
 * own binary, and what airgap's image data says that release uses as its pause image.
 */
import { kubernetesImages } from '../kubernetes/image-set.js';
import { parseKubernetesVersion } from '../kubernetes/version.js';

export interface NodeRelease {
  version: string;
  /** "--kubernetes", "k3s --version", "the bundle" … */
  source: string;
}

/** The first vX.Y.Z[+build] in a binary's --version output ("k3s version v1.30.14+k3s1 (…)"). */
export function parseReleaseOutput(text: string): string | undefined {
  const m = /\bv?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)/.exec(text);
  return m ? `v${m[1]}` : undefined;
}

/** Ask `binary --version` (or `binary version`), briefly; undefined when it is not here or says nothing useful. */
export async function releaseOfBinary(binary: string, args: string[] = ['--version']): Promise<NodeRelease | undefined> {
  const { execa } = await import('execa');
  const r = await execa(binary, args, { reject: false, stdin: 'ignore', timeout: 5000 });
  if (r.exitCode !== 0) return undefined;
  const v = parseReleaseOutput(String(r.stdout));
  return v ? { version: v, source: `${binary} ${args.join(' ')}` } : undefined;
}

/** The pause image airgap's data gives for that release of the distribution (undefined: not known). */
export function distributionPause(distribution: string, release: string): string | undefined {
  try {
    return kubernetesImages(release, { distribution }).images.find((i) => i.role === 'pause')?.ref;
  } catch {
    return undefined;
  }
}

/** Is `release` (any build) one of the Kubernetes patches listed? */
export function releaseIn(release: string, patches: readonly string[]): boolean {
  try {
    const v = parseKubernetesVersion(release);
    return patches.some((p) => {
      const q = parseKubernetesVersion(p);
      return q.major === v.major && q.minor === v.minor && q.patch === v.patch;
    });
  } catch {
    return false;
  }
}
