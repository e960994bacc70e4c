import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { BundleFileWriter } from '../../src/bundle/writer.js';
import { SourceFileChangedError, WriterStateError } from '../../src/bundle/writer-errors.js';
import { BundleStreamWriter } from '../../src/bundle/writer-stream.js';
import type { BundlePlan, BundlePlanFile } from '../../src/bundle/writer-plan.js';
import { copyBlob } from '../../src/content/copy-graph.js';
import { readAll } from '../../src/content/verify-stream.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import type { Digest } from '../../src/oci/digest.js';
import { addImage, bytes, layerSource, planOf, readTar, sha256, TestRegistry, tempDir, type TestRepo } from '../pack/helpers.js';

/** A fake executable (a few MiB, several read chunks) and a plan that carries it. */
async function fixture(dir: string, size = 1_500_000) {
  const reg = new TestRegistry();
  const images = [addImage(reg, 'registry.k8s.io/pause:3.9', { layers: 2, layerSize: 50_000 })];
  const path = join(dir, 'airgap-linux-amd64');
  const data = bytes('loader', size);
  await writeFile(path, data, { mode: 0o755 });
  const loader: BundlePlanFile = { name: 'airgap-linux-amd64', path, size, digest: `sha256:${sha256(data)}` as Digest };
  const plan = planOf(reg, images, 1700000000, [loader]);
  return { plan, data, path, sources: layerSource(reg, images) };
}

async function writeLayers(w: BundleFileWriter | BundleStreamWriter, plan: BundlePlan, sources: Map<string, TestRepo>): Promise<void> {
  for (const e of plan.layers) if (!(await w.exists(e.descriptor!))) await copyBlob(sources.get(e.descriptor!.digest)!, w, e.descriptor!);
}

describe('entries copied from a file (--include-loader executables)', () => {
  it('are copied into place from the file: mode 0755, the same bytes into a file or a stream', async (t) => {
    const dir = await tempDir(t);
    const f = await fixture(dir);
    const e = f.plan.entries.find((x) => x.kind === 'loader')!;
    assert.equal(e.data, undefined, 'the plan holds a path, not the bytes');
    const out = join(dir, 'b.tar');
    const w = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created });
    await writeLayers(w, f.plan, f.sources);
    await w.commit();
    const tar = await readFile(out);
    const entries = await readTar(tar);
    assert.deepEqual(entries.slice(0, 4).map((x) => x.name), ['airgap-bundle.json', 'oci-layout', 'index.json', 'airgap-linux-amd64']);
    assert.ok(entries[3]!.data.equals(f.data));
    assert.equal(entries[3]!.header.mode, 0o755);

    const sink = new PassThrough();
    const collected = readAll(sink, f.plan.size + 1);
    const sw = new BundleStreamWriter(sink, f.plan);
    await writeLayers(sw, f.plan, f.sources);
    await sw.finish();
    sink.end();
    assert.ok((await collected).equals(tar), 'the stream is the same bytes');
  });

  it('a file that changed after planning fails the write, naming the file (same size, shorter, longer)', async (t) => {
    const dir = await tempDir(t);
    for (const change of ['flip', 'truncate', 'grow'] as const) {
      const f = await fixture(dir);
      if (change === 'flip') {
        const fh = await open(f.path, 'r+');
        await fh.write(Buffer.from([f.data[1_200_000]! ^ 1]), 0, 1, 1_200_000);
        await fh.close();
      } else if (change === 'truncate') await truncate(f.path, 1_000_000);
      else await appendFile(f.path, 'x');
      const out = join(dir, `${change}.tar`);
      let err: unknown;
      await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created }).catch((e: unknown) => (err = e));
      assert.ok(err instanceof SourceFileChangedError, `${change}: ${String(err)}`);
      assert.equal(err.code, 'ERR_SOURCE_FILE_CHANGED');
      assert.equal(exitCodeFor(err.kind), 3);
      assert.ok(err.message.startsWith(`${f.path} changed while it was being packed as airgap-linux-amd64`), err.message);
      assert.match(err.message, change === 'grow' ? /at least 1500001 bytes/ : change === 'truncate' ? /now sha256:\w+ \(1000000 bytes\)/ : /now sha256:\w+ \(1500000 bytes\)/);
      assert.ok(!(await readdir(dir)).includes(`${change}.tar`), 'nothing under the final name');

      // A stream has sent the bytes already: it breaks with the same error.
      const sink = new PassThrough();
      void readAll(sink, f.plan.size + 1).catch(() => {});
      const sw = new BundleStreamWriter(sink, f.plan);
      await assert.rejects(
        (async () => {
          await writeLayers(sw, f.plan, f.sources);
          await sw.finish();
        })(),
        (e: unknown) => e instanceof SourceFileChangedError && e.path === f.path,
      );
      // The next run (after the file is back) resumes and rewrites the entry.
      await writeFile(f.path, f.data);
      const w = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created });
      await writeLayers(w, f.plan, f.sources);
      await w.commit();
      assert.ok((await readTar(await readFile(out)))[3]!.data.equals(f.data));
    }
  });

  it('a resumed run writes the file entry again and ends byte-identical', async (t) => {
    const dir = await tempDir(t);
    const f = await fixture(dir);
    const clean = join(dir, 'clean.tar');
    const w0 = await BundleFileWriter.open(clean, f.plan, { created: f.plan.metadata.created });
    await writeLayers(w0, f.plan, f.sources);
    await w0.commit();

    const out = join(dir, 'resumed.tar');
    const w1 = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created });
    const first = f.plan.layers[0]!.descriptor!;
    await copyBlob(f.sources.get(first.digest)!, w1, first);
    await w1.close();
    // Damage the entry in the partial file: the next open writes it again.
    const e = f.plan.entries.find((x) => x.kind === 'loader')!;
    const fh = await open(`${out}.partial`, 'r+');
    await fh.write(Buffer.alloc(4096), 0, 4096, e.dataOffset + 100_000);
    await fh.close();
    const notices: string[] = [];
    const w2 = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created, onNotice: (c) => notices.push(c) });
    assert.deepEqual(notices, ['RESUMING']);
    assert.equal(w2.resumed.blobs, 1);
    await writeLayers(w2, f.plan, f.sources);
    await w2.commit();
    assert.ok((await readFile(out)).equals(await readFile(clean)));
  });

  it('commit reads the entry back (hashed in chunks) and refuses one overwritten after it was copied', async (t) => {
    const dir = await tempDir(t);
    const f = await fixture(dir);
    const out = join(dir, 'b.tar');
    const w = await BundleFileWriter.open(out, f.plan, { created: f.plan.metadata.created });
    await writeLayers(w, f.plan, f.sources);
    const e = f.plan.entries.find((x) => x.kind === 'loader')!;
    const fh = await open(`${out}.partial`, 'r+');
    await fh.write(Buffer.from([f.data[1_300_000]! ^ 0xff]), 0, 1, e.dataOffset + 1_300_000);
    await fh.close();
    await assert.rejects(w.commit(), (err: unknown) => err instanceof WriterStateError && /airgap-linux-amd64 .* reads back wrong/.test(err.message));
    await w.close();
    assert.equal((await stat(`${out}.partial`)).size, f.plan.size);
  });
});
