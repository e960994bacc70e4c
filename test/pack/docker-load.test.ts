/**
 * A bundle made by `airgap pack` from the lab registry carries manifest.json next to its OCI layout:
 * the real Docker Engine (Debian's docker.io 20.10) loads every image by name with `docker load -i`,
 * and the OCI readers see exactly what they saw before manifest.json was there — containerd 1.6's
 * importer (`ctr images import`, which k3s and RKE2 run on agent/images) keeps the OCI layout's
 * names and upstream digests, with and without --all-platforms; `skopeo inspect --raw` reads the
 * upstream bytes. Inside `unshare -n` only (scripts/test.sh): a missing tool or namespace fails.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { assertIsolatedNetwork, startContainerd, type GeneratedImages } from '../../scripts/lab/index.js';
import { digestOf } from '../../src/oci/digest.js';
import { formatPlatform, hostPlatform } from '../../src/oci/platform.js';
import { startDockerEngine } from '../helpers/docker-engine.js';
import { runCli, startSeededLab, type SeededLab } from '../helpers/node-lab.js';

describe('a packed bundle for docker load, ctr import and skopeo', () => {
  let lab: SeededLab;
  let gen: GeneratedImages;
  let bundle: string;
  const host = formatPlatform(hostPlatform());

  before(async () => {
    await assertIsolatedNetwork();
    lab = await startSeededLab('airgap-pack-docker-');
    gen = lab.gen;
    bundle = join(lab.work, 'k8s.tar');
    const r = await runCli(['pack', '--kubernetes', 'v1.30.14', '--platform', 'all', ...lab.mirrorArgs, '-o', bundle]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(gen.images.some((i) => i.mediaType.includes('docker')) && gen.images.some((i) => i.mediaType.includes('oci')), 'Docker lists and OCI indexes both');
  });
  after(async () => {
    await lab?.stop();
  });

  it('docker load -i gives every image its name, with the bundle\'s config for this machine\'s platform as image ID', async () => {
    const engine = await startDockerEngine(join(lab.work, 'docker'));
    try {
      const r = await engine.docker(['load', '-i', bundle]);
      assert.equal(r.exitCode, 0, String(r.stderr));
      assert.match(String((await engine.docker(['version', '--format', '{{.Server.Version}}'])).stdout), /^20\.10\./);
      assert.deepEqual(String(r.stdout).trim().split('\n').sort(), gen.images.map((i) => `Loaded image: ${i.ref}`).sort());
      for (const img of gen.images) {
        const id = await engine.docker(['image', 'inspect', '--format', '{{.Id}}', img.ref]);
        assert.equal(id.exitCode, 0, `${img.ref}: ${String(id.stderr)}`);
        const want = img.platforms.find((p) => p.platform === host)!.config.digest;
        assert.equal(String(id.stdout).trim(), want, `${img.ref}: its ${host} config`);
      }
      const ls = await engine.docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
      assert.deepEqual(String(ls.stdout).trim().split('\n').sort(), gen.images.map((i) => i.ref).sort(), 'nothing else');
    } finally {
      await engine.stop();
    }
  });

  it('ctr images import (with and without --all-platforms) gives the names and upstream digests it gave without manifest.json', async () => {
    // The same bundle with manifest.json removed: what airgap wrote before.
    const old = join(lab.work, 'without-manifest-json.tar');
    await copyFile(bundle, old);
    // -b 1: GNU tar's --delete needs 512-byte records for an archive not padded to 10 KiB ones.
    const del = await execa('tar', ['--delete', '-b', '1', '-f', old, 'manifest.json'], { reject: false });
    assert.equal(del.exitCode, 0, del.stderr);
    const listing = await execa('tar', ['-tf', old]);
    assert.ok(!listing.stdout.split('\n').includes('manifest.json'));

    await mkdir(join(lab.work, 'ctd'));
    const ctd = await startContainerd({ dir: join(lab.work, 'ctd') });
    try {
      const images = async (): Promise<string[]> => (await ctd.ctr(['-n', 'k8s.io', 'images', 'ls'])).trim().split('\n').slice(1)
        .map((l) => l.trim().split(/\s+/))
        .map(([ref, type, digest, , , platforms]) => `${ref} ${type} ${digest} ${platforms}`)
        .sort();
      const importAs = async (file: string, all: boolean): Promise<string[]> => {
        const before = (await ctd.ctr(['-n', 'k8s.io', 'images', 'ls', '-q'])).trim().split('\n').filter(Boolean);
        if (before.length) await ctd.ctr(['-n', 'k8s.io', 'images', 'rm', ...before]);
        await ctd.ctr(['-n', 'k8s.io', 'images', 'import', ...(all ? ['--all-platforms'] : []), file]);
        return images();
      };
      for (const all of [true, false]) {
        const was = await importAs(old, all);
        const now = await importAs(bundle, all);
        assert.deepEqual(now, was, `the same images${all ? ' with --all-platforms' : ''}`);
        for (const img of gen.images) {
          const line = now.find((l) => l.startsWith(`${img.ref} `));
          assert.ok(line, `${img.ref} is in containerd`);
          assert.ok(line.includes(` ${img.digest} `), `${img.ref} has its upstream digest ${img.digest}: ${line}`);
          assert.ok(line.includes(' application/vnd.oci.image.index.v1+json '), line);
        }
        const named = now.filter((l) => !l.startsWith('sha256:')).map((l) => l.split(' ')[0]);
        assert.deepEqual(named, gen.images.map((i) => i.ref).sort(), 'no image named from manifest.json\'s RepoTags');
      }
    } finally {
      await ctd.stop();
    }
  });

  it('skopeo inspect --raw oci-archive: reads every image\'s upstream bytes', async () => {
    for (const img of gen.images) {
      const raw = await execa('skopeo', ['inspect', '--raw', `oci-archive:${bundle}:${img.ref}`], { encoding: 'buffer', stdin: 'ignore' });
      assert.equal(digestOf(Buffer.from(raw.stdout)), img.digest, img.ref);
    }
  });
});
