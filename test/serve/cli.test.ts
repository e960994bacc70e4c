import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { makeTempDir } from '../helpers/make-bundle.js';
import { CLI, startServeProcess, type ServeProcess } from './cli-process.js';
import { writeFixtureBundle, type FixtureBundle } from './fixture.js';

const BIG = 16 * 1024 * 1024;
const MiB = 1024 * 1024;

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let dir: string;
let fx: FixtureBundle;
let bigLayer: string;
let bigSize: number;

before(async () => {
  tmp = await makeTempDir('airgap-serve-cli-');
  dir = tmp.dir;
  fx = await writeFixtureBundle(join(dir, 'b.tar'), [
    { ref: 'registry.k8s.io/pause:3.9', platforms: ['linux/amd64', 'linux/arm64'] },
    { ref: 'registry.k8s.io/etcd:3.5.15-0', layerSize: BIG },
  ]);
  bigLayer = fx.image('registry.k8s.io/etcd:3.5.15-0').platforms[0]!.layers[0]!;
  bigSize = fx.blobs.get(bigLayer)!.length;
});

after(async () => {
  await tmp?.cleanup();
});

/** GET with a fresh connection; resolves at the response head. */
function open(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, resolve).on('error', reject);
  });
}

/** Read a response to its end, hashing as it goes (never holding the body). */
function digestOf(res: IncomingMessage, first?: Buffer): Promise<{ digest: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    if (first) {
      h.update(first);
      bytes += first.length;
    }
    res.on('data', (c: Buffer) => {
      h.update(c);
      bytes += c.length;
    });
    res.on('end', () => resolve({ digest: `sha256:${h.digest('hex')}`, bytes }));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

function blobUrl(p: ServeProcess): string {
  return `${p.url}/v2/registry.k8s.io/etcd/blobs/${bigLayer}`;
}

/** Start a download, take its first chunk, then stop reading (the server is mid-response). */
async function stalledDownload(p: ServeProcess): Promise<{ res: IncomingMessage; first: Buffer }> {
  const res = await open(blobUrl(p));
  assert.equal(res.statusCode, 200);
  const first = await new Promise<Buffer>((resolve) => res.once('data', resolve));
  res.pause();
  return { res, first };
}

describe('airgap serve (the CLI process)', () => {
  it('serves 32 concurrent downloads of a 16 MiB blob, every one verified, in flat memory', async (t) => {
    const p = await startServeProcess(fx.path);
    try {
      const warm = await digestOf(await open(blobUrl(p)));
      assert.equal(warm.digest, bigLayer);
      const base = p.peakRss();
      const results = await Promise.all(Array.from({ length: 32 }, async () => digestOf(await open(blobUrl(p)))));
      const growth = p.peakRss() - base;
      t.diagnostic(`peak RSS ${(base / MiB).toFixed(1)} MiB after one download, +${(growth / MiB).toFixed(1)} MiB for 32 concurrent (${((32 * bigSize) / MiB).toFixed(0)} MiB served)`);
      for (const r of results) {
        assert.equal(r.digest, bigLayer);
        assert.equal(r.bytes, bigSize);
      }
      // Buffering blobs would cost 32 x 16 MiB; streaming costs a few chunks per connection.
      assert.ok(growth < 64 * MiB, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    } finally {
      p.kill('SIGKILL');
      await p.exited;
    }
  });

  it('on SIGTERM mid-download stops accepting, finishes the response in flight and exits 0', async () => {
    const p = await startServeProcess(fx.path);
    const { res, first } = await stalledDownload(p);
    p.kill('SIGTERM');
    await until(() => p.events.some((e) => e.event === 'closing'));
    assert.equal(p.events.find((e) => e.event === 'closing')?.inFlight, 1);
    await assert.rejects(open(`${p.url}/v2/`), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
    assert.equal(p.child.exitCode, null, 'still running while the download is in flight');
    res.resume();
    const done = await digestOf(res, first);
    assert.equal(done.digest, bigLayer);
    assert.equal(done.bytes, bigSize);
    assert.equal(await p.exited, 0);
    assert.deepEqual(p.events.find((e) => e.event === 'closed'), { event: 'closed', forced: false, inFlight: 0 });
  });

  it('cuts a stalled download after --shutdown-timeout and still exits 0', async () => {
    const p = await startServeProcess(fx.path, ['--shutdown-timeout', '0.3']);
    const { res } = await stalledDownload(p);
    const t0 = Date.now();
    p.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(p.events.find((e) => e.event === 'closed')?.forced, true);
    res.destroy();
  });

  it('treats a first Ctrl-C as a graceful stop and a second one as "now"', async () => {
    const p = await startServeProcess(fx.path);
    const { res } = await stalledDownload(p);
    p.kill('SIGINT');
    await until(() => p.events.some((e) => e.event === 'closing'));
    await sleep(100);
    assert.equal(p.child.exitCode, null, 'the first SIGINT waits for the download');
    p.kill('SIGINT');
    assert.equal(await p.exited, 0);
    assert.equal(p.events.find((e) => e.event === 'closed')?.forced, true);
    res.destroy();
  });

  it('prints a banner with the images and a ready-to-paste hosts.toml', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', fx.path, '--addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    await until(() => out.includes('SIGTERM or Ctrl-C'), 15_000);
    const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    assert.ok(port, out);
    assert.match(out, /2 images in 2 repositories/);
    assert.match(out, /registry\.k8s\.io\/pause:3\.9/);
    // The hosts.toml text is load's (one renderer); its explanatory comments aside, this is what containerd reads.
    const uncommented = out.split('\n').filter((l) => !/^\s*# (Pulls|The path)/.test(l)).join('\n');
    assert.ok(uncommented.includes([
      '# /etc/containerd/certs.d/registry.k8s.io/hosts.toml',
      'server = "https://registry.k8s.io"',
      '',
      `[host."http://127.0.0.1:${port}/v2/registry.k8s.io"]`,
      '  capabilities = ["pull", "resolve"]',
      '  override_path = true',
    ].join('\n')), out);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  it('exits 2 on bad flags and 3 on a missing bundle, with a hint', async () => {
    const run = (args: string[]): Promise<{ code: number | null; err: string }> => new Promise((resolve) => {
      const c = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      c.once('exit', (code) => resolve({ code, err }));
    });
    const badAddr = await run([fx.path, '--addr', 'localhost']);
    assert.equal(badAddr.code, 2, badAddr.err);
    assert.match(badAddr.err, /invalid listen address "localhost": no port/);
    assert.match(badAddr.err, /hint: /);
    const halfTls = await run([fx.path, '--tls-cert', join(dir, 'x.crt')]);
    assert.equal(halfTls.code, 2, halfTls.err);
    assert.match(halfTls.err, /--tls-cert and --tls-key go together/);
    const missing = await run([join(dir, 'nope.tar')]);
    assert.equal(missing.code, 3, missing.err);
    assert.match(missing.err, /nope\.tar/);
  });
});
