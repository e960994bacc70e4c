import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { LabError } from './errors.js';
import type { GeneratedImage, GeneratedImages } from './generate.js';
import type { LabRegistry } from './registry.js';

export interface SeedOptions {
  /** Path prefix in the registry; "" (default) puts registry.k8s.io/pause:3.9 at HOST/registry.k8s.io/pause:3.9. */
  prefix?: string;
  /** Only these refs (default: every generated image). */
  only?: string[];
  /** skopeo processes at once (default 3). */
  concurrency?: number;
}

/** Where seedRegistry puts an image: HOST/<prefix><registry>/<repository>:<tag>. */
export function seededRepository(img: GeneratedImage, prefix = ''): string {
  return `${prefix}${img.registry}/${img.repository}`;
}

/**
 * skopeo flags that let it reach this lab registry: for `copy`, as its 'src' or 'dest'; without a
 * side, the plain flags `inspect` takes. Writes an auth file into workDir when credentials exist.
 */
export async function skopeoRegistryFlags(reg: LabRegistry, side: 'src' | 'dest' | undefined, workDir: string): Promise<string[]> {
  const flags: string[] = [];
  const f = (name: string): string => (side ? `--${side}-${name}` : `--${name}`);
  if (reg.tls) flags.push(f('cert-dir'), reg.caDir!);
  else flags.push(`${f('tls-verify')}=false`);
  if (reg.username !== undefined) {
    // An auth file, not --creds: the password stays out of argv (and so out of `ps`).
    const authFile = join(workDir, 'auth.json');
    const auth = Buffer.from(`${reg.username}:${reg.password}`).toString('base64');
    await writeFile(authFile, JSON.stringify({ auths: { [reg.host]: { auth } } }), { mode: 0o600 });
    flags.push(f('authfile'), authFile);
  }
  return flags;
}

/**
 * Push generated images into a lab registry with skopeo (the independent implementation), all
 * platforms, digests preserved, then check each pushed digest equals the generated one.
 *
 * The source is skopeo's `dir:` transport, not `oci:LAYOUT:REF`: skopeo 1.9's OCI layout reader
 * only looks at index.json entries whose mediaType is an OCI manifest or index and so cannot see
 * the Docker manifest lists the kube-* images are. The dir: view symlinks the layout's blobs.
 */
export async function seedRegistry(reg: LabRegistry, gen: GeneratedImages, opts: SeedOptions = {}): Promise<void> {
  const prefix = opts.prefix ?? '';
  const images = opts.only ? gen.images.filter((i) => opts.only!.includes(i.ref)) : gen.images;
  if (opts.only && images.length !== opts.only.length) {
    const missing = opts.only.filter((r) => !gen.images.some((i) => i.ref === r));
    throw new LabError('ERR_LAB_SEED_UNKNOWN', `not among the generated images: ${missing.join(', ')}`);
  }
  const work = await mkdtemp(join(tmpdir(), 'airgap-lab-seed-'));
  try {
    const flags = await skopeoRegistryFlags(reg, 'dest', work);
    const limit = pLimit(opts.concurrency ?? 3);
    await Promise.all(
      images.map((img, n) =>
        limit(async () => {
          const src = join(work, `img-${n}`);
          await dirView(gen.layoutDir, img, src);
          const dest = `docker://${reg.host}/${seededRepository(img, prefix)}:${img.tag}`;
          const digestFile = join(work, `digest-${n}`);
          const res = await execa(
            'skopeo',
            ['--insecure-policy', 'copy', '--all', '--preserve-digests', '--digestfile', digestFile, ...flags, `dir:${src}`, dest],
            { reject: false, stdin: 'ignore' },
          );
          if (res.exitCode !== 0) {
            throw new LabError('ERR_LAB_SEED', `skopeo could not push ${img.ref} to ${dest}: ${String(res.stderr).trim()}`);
          }
          const pushed = (await readFile(digestFile, 'utf8')).trim();
          if (pushed !== img.digest) {
            throw new LabError('ERR_LAB_SEED_DIGEST', `${dest} got digest ${pushed}, generated ${img.digest}`);
          }
        }),
      ),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** skopeo's dir: transport (format 1.1): manifest.json, <hex>.manifest.json per instance, blobs by hex. */
async function dirView(layoutDir: string, img: GeneratedImage, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const blob = (digest: string): string => join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  await writeFile(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  await copyFile(blob(img.digest), join(dir, 'manifest.json'));
  const linked = new Set<string>();
  for (const p of img.platforms) {
    const hex = p.digest.slice('sha256:'.length);
    await copyFile(blob(p.digest), join(dir, `${hex}.manifest.json`));
    for (const d of [p.config.digest, ...p.layers.map((l) => l.digest)]) {
      if (linked.has(d)) continue;
      linked.add(d);
      await symlink(blob(d), join(dir, d.slice('sha256:'.length)));
    }
  }
}
