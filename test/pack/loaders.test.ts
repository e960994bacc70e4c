import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BundleMetadata } from '../../src/bundle/metadata.js';
import { SourceFileChangedError } from '../../src/bundle/writer-errors.js';
import { AirgapError } from '../../src/errors.js';
import { parsePlatformSelection } from '../../src/oci/platform.js';
import { readLoaders } from '../../src/pack/loaders.js';
import { pack } from '../../src/pack/pack.js';
import { addImage, bytes, readTar, sha256, tempDir, TestRegistry } from './helpers.js';

const IMAGE = 'registry.k8s.io/pause:3.9';

function registry(): TestRegistry {
  const reg = new TestRegistry();
  addImage(reg, IMAGE, { layers: 1, layerSize: 2000 });
  return reg;
}

describe('pack --include-loader', () => {
  it('finds the executables for the platforms in the directory given, hashed without reading them whole', async (t) => {
    const dir = await tempDir(t);
    const amd = bytes('amd64', 1_300_000);
    await writeFile(join(dir, 'airgap-linux-amd64'), amd, { mode: 0o755 });
    await writeFile(join(dir, 'airgap-linux-arm64'), bytes('arm64', 10), { mode: 0o755 });
    const found = await readLoaders(parsePlatformSelection('linux/amd64'), dir);
    assert.deepEqual(found, [{ platform: 'linux/amd64', name: 'airgap-linux-amd64', path: join(dir, 'airgap-linux-amd64'), size: amd.byteLength, digest: `sha256:${sha256(amd)}` }]);
    assert.equal((await readLoaders(parsePlatformSelection('all'), dir)).length, 2);
    await assert.rejects(readLoaders(parsePlatformSelection('linux/amd64'), join(dir, 'nothing-here')), (e: unknown) => e instanceof AirgapError && e.code === 'ERR_LOADER_NOT_FOUND');
  });

  it('carries the executable from its file, as the metadata describes it', async (t) => {
    const dir = await tempDir(t);
    const exe = bytes('exe', 1_300_000);
    await writeFile(join(dir, 'airgap-linux-amd64'), exe, { mode: 0o755 });
    const loaders = await readLoaders(parsePlatformSelection('linux/amd64'), dir);
    const out = join(dir, 'b.tar');
    await pack({ images: [IMAGE], sources: registry(), output: out, sourceDateEpoch: 1700000000, loaders });
    const entries = await readTar(await readFile(out));
    const meta = JSON.parse(entries[0]!.data.toString()) as BundleMetadata;
    assert.deepEqual(meta.loaders, [{ platform: 'linux/amd64', name: 'airgap-linux-amd64', size: exe.byteLength, digest: `sha256:${sha256(exe)}` }]);
    const e = entries.find((x) => x.name === 'airgap-linux-amd64')!;
    assert.ok(e.data.equals(exe));
    assert.equal(e.header.mode, 0o755);
  });

  it('an executable rebuilt between planning and writing fails the pack, naming the file', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'airgap-linux-amd64');
    await writeFile(path, bytes('exe', 1_300_000), { mode: 0o755 });
    const loaders = await readLoaders(parsePlatformSelection('linux/amd64'), dir);
    // A rebuild of the same size: only the digest tells.
    const fh = await open(path, 'r+');
    await fh.write(Buffer.from('rebuilt'), 0, 7, 1_000_000);
    await fh.close();
    const out = join(dir, 'b.tar');
    await assert.rejects(pack({ images: [IMAGE], sources: registry(), output: out, sourceDateEpoch: 1700000000, loaders }), (e: unknown) => {
      assert.ok(e instanceof SourceFileChangedError, String(e));
      assert.equal(e.path, path);
      assert.match(e.message, /airgap-linux-amd64 changed while it was being packed/);
      assert.equal(e.kind, 'io');
      return true;
    });
    assert.ok(!(await readdir(dir)).includes('b.tar'));
  });

  it('memory stays bounded with a 200 MiB executable, into a file and into a stream', async (t) => {
    const dir = await tempDir(t);
    // Sparse: 200 MiB that cost no disk, read as zeros.
    const fh = await open(join(dir, 'airgap-linux-amd64'), 'w', 0o755);
    await fh.truncate(200 * 1024 * 1024);
    await fh.close();
    const dist = fileURLToPath(new URL('../../', import.meta.url));
    // A fresh process, so its peak RSS is this pack's alone.
    const script = `
      import { Writable } from 'node:stream';
      import { pack } from '${dist}src/pack/pack.js';
      import { readLoaders } from '${dist}src/pack/loaders.js';
      import { parsePlatformSelection } from '${dist}src/oci/platform.js';
      import { addImage, TestRegistry } from '${dist}test/pack/helpers.js';
      const reg = new TestRegistry();
      addImage(reg, '${IMAGE}', { layers: 1, layerSize: 2000 });
      const loaders = await readLoaders(parsePlatformSelection('linux/amd64'), process.argv[1]);
      const base = process.resourceUsage().maxRSS;
      await pack({ images: ['${IMAGE}'], sources: reg, output: process.argv[1] + '/b.tar', sourceDateEpoch: 1700000000, loaders });
      let streamed = 0;
      const sink = new Writable({ write(chunk, _enc, cb) { streamed += chunk.length; cb(); } });
      await pack({ images: ['${IMAGE}'], sources: reg, output: sink, sourceDateEpoch: 1700000000, loaders });
      process.stdout.write(JSON.stringify({ base, peak: process.resourceUsage().maxRSS, streamed }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, dir]);
    const r = JSON.parse(stdout) as { base: number; peak: number; streamed: number };
    assert.ok(r.streamed > 200 * 1024 * 1024);
    const grew = (r.peak - r.base) / 1024;
    t.diagnostic(`peak RSS ${(r.peak / 1024).toFixed(0)} MiB, ${(r.base / 1024).toFixed(0)} MiB after planning`);
    assert.ok(grew < 64, `peak RSS grew by ${grew.toFixed(0)} MiB over planning (${(r.peak / 1024).toFixed(0)} MiB in all): the executable must not be held whole`);
    assert.ok(r.peak / 1024 < 160, `peak RSS ${(r.peak / 1024).toFixed(0)} MiB`);
  });
});
