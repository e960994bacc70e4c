import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle } from '../helpers/make-bundle.js';
import { buildTar, type TestTarEntry } from '../helpers/tar-writer.js';
import { assertIsolatedNetwork, startRegistry, type LabRegistry } from '../../scripts/lab/index.js';
import { auditRegistry, runCli } from './harness.js';

/**
 * Hostile bundles against load and serve (the reader's and verify's own checks are in
 * test/bundle and test/verify): each is refused with a clear error before anything reaches the
 * node registry, no file is written outside its place, and memory stays bounded (the CLI runs with
 * a 96 MiB heap: a declared size trusted for an allocation would kill it).
 */

const isolated = await assertIsolatedNetwork().then(() => true, () => false);
const ENV = { NODE_OPTIONS: '--max-old-space-size=96' };
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

interface Blob { digest: string; size: number; data: Buffer }
function blob(data: Buffer | string): Blob {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return { digest: `sha256:${sha(b)}`, size: b.byteLength, data: b };
}

/** A bundle made by hand: oci-layout, index.json naming `top` as registry.k8s.io/hostile:1, and the blobs. */
async function handMade(dir: string, name: string, top: { mediaType: string; digest: string; size: number }, blobs: Blob[], extra: TestTarEntry[] = []): Promise<string> {
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...top, annotations: { 'io.containerd.image.name': 'registry.k8s.io/hostile:1', 'org.opencontainers.image.ref.name': '1' } }] };
  const entries: TestTarEntry[] = [
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
    ...blobs.map((b) => ({ name: `blobs/sha256/${b.digest.slice(7)}`, data: b.data })),
    ...extra,
  ];
  const path = join(dir, name);
  await writeFile(path, buildTar(entries).buffer);
  return path;
}

function image(layers: { mediaType?: string; digest: string; size: number }[]): { config: Blob; manifest: Blob } {
  const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const manifest = blob(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  }));
  return { config, manifest };
}

describe('hostile bundles meet load and serve', { skip: isolated ? false : 'run inside unshare -n (scripts/test.sh does)' }, () => {
  let dir: string;
  let node: LabRegistry;
  const cases: { name: string; path: string; says: RegExp }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-hostile-'));
    node = await startRegistry();
    const layer = blob(Buffer.alloc(1000, 7));

    // Tar-level hostility, through the shared bundle maker.
    for (const [kind, says] of [
      ['evil-path', /"\.\.\/|\.\." component|outside the target/],
      ['absolute-path', /absolute path/],
      ['symlink', /symbolic link/],
      ['hardlink', /hard link/],
      ['device', /device|regular files only/],
      ['duplicate', /appears twice/],
    ] as const) {
      const b = await makeBundle({ dir, name: `${kind}.tar`, damage: [{ kind } as never] });
      cases.push({ name: `a tar with ${kind}`, path: b.path, says });
    }

    // index.json names a manifest the bundle does not hold.
    {
      const { config, manifest } = image([layer]);
      cases.push({ name: 'index.json pointing at a missing blob', path: await handMade(dir, 'missing.tar', { mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.size }, [config, layer]), says: new RegExp(manifest.digest.slice(7, 19)) });
    }
    // A layer declared as 1 PiB (the entry holds 1000 bytes).
    {
      const { config, manifest } = image([{ digest: layer.digest, size: 2 ** 50 }]);
      cases.push({ name: 'a layer declared 1 PiB', path: await handMade(dir, 'giant-layer.tar', { mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.size }, [config, manifest, layer]), says: /size|bytes|1125899906842624/ });
    }
    // The top manifest declared 1 TiB in index.json.
    {
      const { config, manifest } = image([layer]);
      cases.push({ name: 'a manifest declared 1 TiB', path: await handMade(dir, 'giant-manifest.tar', { mediaType: OCI_MANIFEST, digest: manifest.digest, size: 2 ** 40 }, [config, manifest, layer]), says: /limit|size|bytes/ });
    }
    // 100 000 layers (all the same 1000-byte blob).
    {
      const { config, manifest } = image(Array.from({ length: 100_000 }, () => layer));
      cases.push({ name: 'a manifest with 100 000 layers', path: await handMade(dir, 'many-layers.tar', { mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.size }, [config, manifest, layer]), says: /limit|layers/ });
    }
    // Indexes nested 40 deep.
    {
      const { config, manifest } = image([layer]);
      const blobs: Blob[] = [config, manifest, layer];
      let child = { mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.size };
      for (let i = 0; i < 40; i++) {
        const idx = blob(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...child, platform: { os: 'linux', architecture: 'amd64' } }] }));
        blobs.push(idx);
        child = { mediaType: OCI_INDEX, digest: idx.digest, size: idx.size };
      }
      cases.push({ name: 'indexes nested 40 deep', path: await handMade(dir, 'deep.tar', child, blobs), says: /deep|nest|level/ });
    }
    // A loop: an index stored under a digest its own bytes name (so the bytes cannot hash to it).
    {
      const fake = `sha256:${'ab'.repeat(32)}`;
      const loop = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_INDEX, digest: fake, size: 0, platform: { os: 'linux', architecture: 'amd64' } }] }));
      const fixed = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_INDEX, digest: fake, size: loop.byteLength, platform: { os: 'linux', architecture: 'amd64' } }] }));
      const entry = { digest: fake, size: fixed.byteLength, data: fixed };
      cases.push({ name: 'an index that names itself (a loop)', path: await handMade(dir, 'loop.tar', { mediaType: OCI_INDEX, digest: fake, size: fixed.byteLength }, [entry]), says: /does not match its digest|size/ });
    }
    // An unknown digest algorithm.
    {
      const { config, manifest } = image([{ digest: `md5:${'0'.repeat(32)}`, size: 10 }]);
      cases.push({ name: 'an unknown digest algorithm', path: await handMade(dir, 'md5.tar', { mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.size }, [config, manifest]), says: /md5|digest/ });
    }
    // A manifest that is not JSON (stored under its true digest).
    {
      const bad = blob('{"schemaVersion": 2, "layers": [');
      cases.push({ name: 'a manifest that is not JSON', path: await handMade(dir, 'malformed.tar', { mediaType: OCI_MANIFEST, digest: bad.digest, size: bad.size }, [bad]), says: /JSON|manifest/ });
    }
    // index.json that is not JSON.
    {
      const path = join(dir, 'bad-index.tar');
      await writeFile(path, buildTar([
        { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
        { name: 'index.json', data: Buffer.from('{"manifests": [') },
      ]).buffer);
      cases.push({ name: 'index.json that is not JSON', path, says: /index\.json/ });
    }
  });
  after(async () => {
    await node?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('load refuses each with a clear error and the node registry gets nothing', async () => {
    assert.ok(cases.length >= 15);
    for (const c of cases) {
      const r = await runCli(['load', c.path, '--registry', `${node.url}/h${cases.indexOf(c)}`], { env: ENV });
      assert.notEqual(r.exitCode, 0, `${c.name}: refused`);
      assert.ok(r.exitCode === 1 || r.exitCode === 2 || r.exitCode === 3, `${c.name}: exit ${r.exitCode} (1 damaged, 2/3 unusable; never 70):\n${r.stderr}`);
      assert.match(r.stderr, /^airgap: error: /m, c.name);
      assert.match(r.stderr, c.says, `${c.name}: says why:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, `${c.name}: no stack trace`);
    }
    const audit = await auditRegistry(node.url);
    assert.deepEqual([...audit.tags.keys()], [], 'no hostile image is served');
    assert.deepEqual(audit.problems, []);
  });

  it('serve refuses each at startup (or answers only what verifies) and never crashes', async () => {
    for (const c of cases) {
      const r = await runCli(['serve', c.path, '--addr', '127.0.0.1:0', '--json'], { env: ENV, killAfterMs: 3000 });
      if (r.signal === 'SIGKILL') {
        // It started: only what is sound may be served. A graph with damage must not be offered.
        const ready = r.stdout.split('\n').find((l) => l.includes('"ready"'));
        assert.ok(ready, `${c.name}: started without saying so:\n${r.stdout}\n${r.stderr}`);
        continue;
      }
      assert.ok(r.exitCode === 1 || r.exitCode === 2 || r.exitCode === 3, `${c.name}: exit ${r.exitCode}:\n${r.stderr}`);
      assert.match(r.stderr, /airgap: error: /, c.name);
      assert.doesNotMatch(r.stderr, /^\s+at /m, `${c.name}: no stack trace`);
    }
  });

  it('nothing is written next to the bundles or outside them', async () => {
    const names = (await readdir(dir)).filter((n) => !n.endsWith('.tar'));
    assert.deepEqual(names, [], 'only the bundles themselves');
    for (const p of ['/etc/airgap-pwned', '/tmp/airgap-pwned', join(dir, '..', 'evil')]) {
      assert.equal(await readdir(p).then(() => true, (e: NodeJS.ErrnoException) => e.code !== 'ENOENT' && e.code !== 'ENOTDIR'), false, p);
    }
  });
});
