import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clearSkopeoCache, MANIFEST_ACCEPT, packArgs, type BenchContext, type BenchSet } from '../context.js';
import { interleave } from '../interleave.js';
import { row, type Row } from '../rows.js';
import { BenchError, timed, timedSequence, type Sample } from '../run.js';
import { Side } from '../stats.js';

/** What the pack sides leave behind for the other suites. */
export interface PackOutputs {
  /** airgap's bundle */
  bundle: string;
  /** skopeo's OCI layout, tarred */
  skopeoTar: string;
}

export function packOutputs(set: BenchSet): PackOutputs {
  return { bundle: join(set.dir, 'airgap.tar'), skopeoTar: join(set.dir, 'skopeo.tar') };
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export function airgapPack(ctx: BenchContext, set: BenchSet): () => Promise<Sample> {
  const out = packOutputs(set).bundle;
  return async () => {
    await Promise.all([out, `${out}.partial`, `${out}.partial.json`].map((f) => rm(f, { force: true })));
    return timed(process.execPath, [ctx.cli, ...packArgs(set, out)], { logFile: ctx.logFile });
  };
}

/**
 * What people script today: skopeo copies each image (all platforms) into one shared OCI layout,
 * then tar. skopeo 1.9 cannot write a Docker manifest list into an OCI layout unchanged (it must
 * convert it to an OCI index, which --preserve-digests forbids), so the kube-* and pause images
 * are converted (same blobs, rewritten manifests) and only the OCI-index images keep their digests.
 */
export function skopeoPack(ctx: BenchContext, set: BenchSet): () => Promise<Sample> {
  const { skopeoTar } = packOutputs(set);
  const layout = join(set.dir, 'skopeo-layout');
  return async () => {
    await Promise.all([rm(layout, { recursive: true, force: true }), rm(skopeoTar, { force: true }), clearSkopeoCache()]);
    const steps: Array<[string, string[]]> = set.gen.images.map((img) => [
      'skopeo',
      ['--insecure-policy', 'copy', '-q', '--all', ...(img.mediaType === OCI_INDEX ? ['--preserve-digests'] : []), '--src-tls-verify=false',
        `docker://${set.reg.host}/${img.ref}`, `oci:${layout}:${img.ref}`],
    ]);
    steps.push(['tar', ['-cf', skopeoTar, '-C', layout, 'oci-layout', 'index.json', 'blobs']]);
    const s = await timedSequence(steps, { logFile: ctx.logFile });
    await rm(layout, { recursive: true, force: true });
    return s;
  };
}

/** The floor: every unique blob fetched once, 4 at a time, by curl to files. */
export function rawFetch(ctx: BenchContext, set: BenchSet): () => Promise<Sample> {
  const dir = join(set.dir, 'raw');
  const list = join(set.dir, 'raw.list');
  return async () => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    await writeFile(list, set.unique.map((b) => `${join(dir, b.digest.slice(7))} ${b.url}\n`).join(''));
    const s = await timed('xargs', ['-a', list, '-P', '4', '-n', '2', 'curl', '-sSf', '-H', `Accept: ${MANIFEST_ACCEPT}`, '-o'], { logFile: ctx.logFile });
    const files = await readdir(dir);
    let bytes = 0;
    for (const f of files) bytes += (await stat(join(dir, f))).size;
    const want = set.unique.reduce((n, b) => n + b.size, 0);
    if (files.length !== set.unique.length || bytes !== want) {
      throw new BenchError(`curl fetched ${files.length} files, ${bytes} bytes; expected ${set.unique.length}, ${want}`);
    }
    await rm(dir, { recursive: true, force: true });
    return s;
  };
}

export async function packSuite(ctx: BenchContext, set: BenchSet, reps: number): Promise<Row[]> {
  const airgap = new Side('airgap pack');
  const skopeo = new Side('skopeo copy + tar');
  const raw = new Side('curl ×4, unique blobs');
  await interleave(ctx, 'pack', reps, [
    { side: airgap, run: airgapPack(ctx, set) },
    { side: skopeo, run: skopeoPack(ctx, set) },
    { side: raw, run: rawFetch(ctx, set) },
  ]);
  return [
    row('pack: registry → one tar', 'speedup', airgap, skopeo, 'skopeo copies the images one after another into one shared OCI layout, then tar'),
    row('pack vs the raw limit', 'of-limit', airgap, raw, 'the floor: each unique blob fetched once by curl, 4 at a time, to files'),
  ];
}
