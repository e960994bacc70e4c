import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { startContainerd, type GeneratedImages, type LabRegistry } from '../../scripts/lab/index.js';
import type { BundleMetadata } from '../../src/bundle/metadata.js';
import { readTar } from './helpers.js';
import { CLI } from '../helpers/cli.js';
import { labSkip, startSeededLab, type SeededLab } from '../helpers/node-lab.js';

/**
 * The real thing: the built CLI packs the synthetic kubeadm v1.30.14 set from a real registry
 * (Debian's docker-registry) through --registry-mirror; skopeo and ctr read the result. Inside
 * `unshare -n` only: containerd and the client must have no way out.
 */

const EPOCH = '1700000000';

interface Run {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('airgap pack against the test lab', { skip: labSkip() }, () => {
  let lab: SeededLab;
  let gen: GeneratedImages;
  let reg: LabRegistry;
  let dir: string;
  let mirrorArgs: string[];

  /** Run the CLI; `killWhen` may SIGKILL it from a poll loop. */
  function runPack(args: string[], opts: { killWhen?: () => Promise<boolean>; env?: Record<string, string> } = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'pack', '--kubernetes', 'v1.30.14', ...mirrorArgs, ...args], {
        env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH, ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      let done = false;
      if (opts.killWhen) {
        const poll = async (): Promise<void> => {
          while (!done) {
            if (await opts.killWhen!().catch(() => false)) {
              child.kill('SIGKILL');
              return;
            }
            await new Promise((r) => setTimeout(r, 20));
          }
        };
        void poll();
      }
      child.on('error', reject);
      child.on('close', (exitCode, signal) => {
        done = true;
        resolve({ exitCode, signal, stdout: Buffer.concat(out), stderr: err });
      });
    });
  }

  async function registryLog(): Promise<string> {
    return readFile(reg.logFile, 'utf8');
  }

  function layerDigests(): string[] {
    return gen.images.flatMap((i) => i.platforms.flatMap((p) => p.layers.map((l) => l.digest)));
  }

  before(async () => {
    lab = await startSeededLab('airgap-pack-lab-', { scale: 0.02 });
    ({ gen, upstream: reg, work: dir, mirrorArgs } = lab);
  });
  after(async () => {
    await lab?.stop();
  });

  it('packs every platform with upstream digests; skopeo and ctr read the bundle as it is', async () => {
    const out = join(dir, 'all.tar');
    const r = await runPack(['--platform', 'all', '-o', out]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout.toString(), /Packed 7 images \(all\)/);
    for (const img of gen.images) {
      const raw = await execa('skopeo', ['inspect', '--raw', `oci-archive:${out}:${img.ref}`], { encoding: 'buffer' });
      assert.equal(`sha256:${sha256(Buffer.from(raw.stdout))}`, img.digest, `${img.ref}: the index digest is upstream's`);
    }
    const ctd = await startContainerd();
    try {
      await ctd.ctr(['-n', 'k8s.io', 'images', 'import', '--all-platforms', out]);
      const ls = await ctd.ctr(['-n', 'k8s.io', 'images', 'ls']);
      for (const img of gen.images) {
        const line = ls.split('\n').find((l) => l.startsWith(`${img.ref} `));
        assert.ok(line, `${img.ref} is in containerd`);
        assert.ok(line.includes(img.digest), `${img.ref} has digest ${img.digest}`);
        assert.match(line, /linux\/amd64,linux\/arm64/);
      }
    } finally {
      await ctd.stop();
    }
  });

  it('gives the same sha256 twice, and the same bytes on stdout', async () => {
    const a = join(dir, 'a.tar');
    const b = join(dir, 'b.tar');
    const [ra, rb, rs] = await Promise.all([
      runPack(['-o', a, '--concurrency', '1']),
      runPack(['-o', b, '--concurrency', '8', '--json']),
      runPack(['-o', '-']),
    ]);
    for (const r of [ra, rb, rs]) assert.equal(r.exitCode, 0, r.stderr);
    const bytesA = await readFile(a);
    assert.equal(sha256(bytesA), sha256(await readFile(b)));
    assert.equal(sha256(rs.stdout), sha256(bytesA), '-o - writes the same bundle');
    assert.match(rs.stderr, /Packed 7 images/, 'with -o - the report goes to stderr');
    const events = rb.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    assert.deepEqual([events[0]!.event, events[events.length - 1]!.event], ['start', 'summary']);
    assert.equal(events.filter((e) => e.event === 'image-done').length, 7);
    const start = events[0] as { defaultPlatform?: boolean; platforms?: string };
    assert.equal(start.platforms, 'linux/amd64');
    assert.equal(start.defaultPlatform, true);
  });

  it('continues after kill -9 (at a random point, and in the middle of a blob) to the same sha256', async () => {
    const clean = join(dir, 'clean.tar');
    assert.equal((await runPack(['-o', clean])).exitCode, 0);
    const want = sha256(await readFile(clean));

    const out = join(dir, 'killed.tar');
    const journal = `${out}.partial.json`;
    // 1: killed after a random delay.
    const delay = 300 + Math.floor(Math.random() * 900);
    const started = Date.now();
    const k1 = await runPack(['-o', out, '--limit-rate', '1M'], { killWhen: async () => Date.now() - started > delay });
    assert.equal(k1.signal, 'SIGKILL');
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('killed.tar')).sort().filter((n) => n === 'killed.tar'), [], 'nothing under the final name');
    // 2: killed as soon as the journal records a half-written blob.
    const k2 = await runPack(['-o', out, '--limit-rate', '1M'], {
      killWhen: async () => Object.keys((JSON.parse(await readFile(journal, 'utf8')) as { partial: object }).partial).length > 0,
    });
    assert.equal(k2.signal, 'SIGKILL', 'killed mid-blob before it finished');
    const before = JSON.parse(await readFile(journal, 'utf8')) as { done: string[]; partial: Record<string, number> };
    const half = Object.entries(before.partial)[0]!;

    const logBefore = (await registryLog()).length;
    const r = await runPack(['-o', out, '--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(sha256(await readFile(out)), want, 'byte-identical to an uninterrupted run');
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('killed.tar')), ['killed.tar']);

    const events = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const plan = events.find((e) => e.event === 'plan')!;
    assert.ok((plan.resumedBytes as number) > 0);
    const resumed = events.find((e) => e.event === 'blob-start' && e.digest === half[0])!;
    assert.equal(resumed.offset, half[1], 'the half-written blob continues where the journal says');
    const log = (await registryLog()).slice(logBefore);
    for (const d of before.done) assert.ok(!log.includes(`/blobs/${d}`), `finished blob ${d} is not fetched again`);
  });

  it('keeps the index digest with a platform subset and leaves the other platforms out', async () => {
    const out = join(dir, 'arm64.tar');
    const r = await runPack(['--platform', 'linux/arm64', '-o', out]);
    assert.equal(r.exitCode, 0, r.stderr);
    const entries = await readTar(await readFile(out));
    const names = new Set(entries.map((e) => e.name));
    const meta = JSON.parse(entries[0]!.data.toString()) as BundleMetadata;
    assert.deepEqual(meta.platforms, ['linux/arm64']);
    for (const img of gen.images) {
      const raw = await execa('skopeo', ['inspect', '--raw', `oci-archive:${out}:${img.ref}`], { encoding: 'buffer' });
      assert.equal(`sha256:${sha256(Buffer.from(raw.stdout))}`, img.digest);
      const m = meta.images.find((i) => i.ref === img.ref)!;
      for (const p of img.platforms) {
        const inBundle = names.has(`blobs/sha256/${p.digest.slice(7)}`);
        assert.equal(inBundle, p.platform === 'linux/arm64', `${img.ref} ${p.platform}`);
        assert.equal(m.platforms!.find((x) => x.digest === p.digest)!.included, p.platform === 'linux/arm64');
      }
    }
    const amd64Only = gen.images.flatMap((i) => i.platforms.filter((p) => p.platform === 'linux/amd64').flatMap((p) => p.layers.map((l) => l.digest)));
    const arm64 = new Set(gen.images.flatMap((i) => i.platforms.filter((p) => p.platform === 'linux/arm64').flatMap((p) => p.layers.map((l) => l.digest))));
    for (const d of amd64Only.filter((x) => !arm64.has(x))) assert.ok(!names.has(`blobs/sha256/${d.slice(7)}`));
  });

  it('stops on a list with the wrong pause tag before any request, naming both tags (exit 1)', async () => {
    const list = join(dir, 'airgap-images-list.txt');
    await writeFile(list, `${gen.images.map((i) => i.ref).filter((r) => !r.includes('pause')).join('\n')}\nregistry.k8s.io/pause:3.8\n`);
    const logBefore = (await registryLog()).length;
    const out = join(dir, 'list.tar');
    const r = await runPack(['--list', list, '-o', out]);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /registry\.k8s\.io\/pause:3\.8/);
    assert.match(r.stderr, /registry\.k8s\.io\/pause:3\.9/);
    assert.equal((await registryLog()).slice(logBefore).includes('GET /v2/'), false, 'no request reached the registry');
    await assert.rejects(stat(out));
  });

  it('reports a missing image and a missing platform in one go, before any layer moves', async () => {
    const logBefore = (await registryLog()).length;
    const out = join(dir, 'bad.tar');
    const r = await runPack(['--image', 'registry.k8s.io/does-not-exist:1.0', '--platform', 'linux/amd64,linux/s390x', '-o', out]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /registry\.k8s\.io\/does-not-exist:1\.0: .*not found/);
    assert.match(r.stderr, /registry\.k8s\.io\/pause:3\.9: does not publish linux\/s390x/);
    assert.match(r.stderr, /8 problems/);
    const log = (await registryLog()).slice(logBefore);
    for (const d of layerDigests()) assert.ok(!log.includes(d), 'no layer was fetched');
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('bad.tar')), []);
  });

  it('leaves nothing under the final name when a layer is gone upstream', async () => {
    // Last: it deletes a blob from the lab registry.
    // A layer only etcd has (a layer another image shares would be fetched from that one instead).
    const etcd = gen.images.find((i) => i.ref.includes('etcd'))!;
    const others = new Set(gen.images.filter((i) => i !== etcd).flatMap((i) => i.platforms.flatMap((p) => p.layers.map((l) => l.digest))));
    const layer = etcd.platforms.find((p) => p.platform === 'linux/amd64')!.layers.find((l) => !others.has(l.digest))!;
    const del = await fetch(`${reg.url}/v2/registry.k8s.io/etcd/blobs/${layer.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    const out = join(dir, 'gone.tar');
    const r = await runPack(['-o', out]);
    assert.equal(r.exitCode, 4, r.stderr);
    assert.match(r.stderr, new RegExp(layer.digest));
    await assert.rejects(stat(out), 'no file under the final name');
    assert.ok((await stat(`${out}.partial`)).isFile(), 'the partial file stays for a re-run');
  });
});
