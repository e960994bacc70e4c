import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type LabRegistry } from '../../lab/index.js';
import { clearSkopeoCache, MANIFEST_ACCEPT, type BenchContext, type BenchSet } from '../context.js';
import { interleave } from '../interleave.js';
import { row, type Row } from '../rows.js';
import { BenchError, timed, timedSequence, type Sample } from '../run.js';
import { Side } from '../stats.js';
import { packOutputs } from './pack.js';

/** Every image's tag in the registry names the generated digest (airgap keeps digests). */
export async function checkLoaded(reg: LabRegistry, set: BenchSet): Promise<void> {
  for (const img of set.gen.images) {
    const res = await fetch(`${reg.url}/v2/${img.registry}/${img.repository}/manifests/${img.tag}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } });
    const got = res.headers.get('docker-content-digest');
    if (got !== img.digest) throw new BenchError(`after airgap load, ${reg.host}/${img.ref} is ${got ?? `HTTP ${res.status}`}, expected ${img.digest}`);
  }
}

export function airgapLoadRegistry(ctx: BenchContext, set: BenchSet, onRegistry?: (reg: LabRegistry) => void): { run: () => Promise<Sample>; after: () => Promise<void> } {
  let reg: LabRegistry | undefined;
  let first = true;
  return {
    run: async () => {
      reg = await startRegistry();
      onRegistry?.(reg);
      const s = await timed(process.execPath, [ctx.cli, 'load', packOutputs(set).bundle, '--registry', reg.url, '--json'], { logFile: ctx.logFile });
      if (first) await checkLoaded(reg, set);
      first = false;
      return s;
    },
    after: async () => {
      await reg?.stop();
      reg = undefined;
    },
  };
}

export async function loadRegistrySuite(ctx: BenchContext, set: BenchSet, reps: number): Promise<Row[]> {
  const airgap = new Side('airgap load --registry');
  const skopeo = new Side('untar + skopeo copy');
  const a = airgapLoadRegistry(ctx, set);
  let reg: LabRegistry | undefined;
  const untarred = join(set.dir, 'skopeo-untar');
  await interleave(ctx, 'load → registry', reps, [
    { side: airgap, run: a.run, after: a.after },
    {
      side: skopeo,
      before: async () => {
        await Promise.all([rm(untarred, { recursive: true, force: true }), clearSkopeoCache()]);
        await mkdir(untarred);
      },
      run: async () => {
        reg = await startRegistry();
        const steps: Array<[string, string[]]> = [['tar', ['-xf', packOutputs(set).skopeoTar, '-C', untarred]]];
        for (const img of set.gen.images) {
          steps.push(['skopeo', ['--insecure-policy', 'copy', '-q', '--all', '--preserve-digests', '--dest-tls-verify=false',
            `oci:${untarred}:${img.ref}`, `docker://${reg.host}/${img.ref}`]]);
        }
        return timedSequence(steps, { logFile: ctx.logFile });
      },
      after: async () => {
        await reg?.stop();
        reg = undefined;
        await rm(untarred, { recursive: true, force: true });
      },
    },
  ]);
  return [row('load: bundle → empty registry', 'speedup', airgap, skopeo, "untar of skopeo's tar, then skopeo copies each image (all platforms) one after another")];
}
