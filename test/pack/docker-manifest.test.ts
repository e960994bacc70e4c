import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blobPath, type BundleMetadata } from '../../src/bundle/metadata.js';
import { AirgapError } from '../../src/errors.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { formatPlatform, hostPlatform, parsePlatform, parsePlatformSelection } from '../../src/oci/platform.js';
import type { PackEvent } from '../../src/pack/events.js';
import { defaultDockerPlatform, pack, type PackOptions } from '../../src/pack/pack.js';
import { verifyBundle } from '../../src/verify/verify-bundle.js';
import { addImage, readTar, tempDir, TestRegistry } from './helpers.js';

/**
 * Every bundle carries manifest.json, the docker-archive index `docker load` reads, for one
 * platform. The real Docker Engine reads it in test/pack/docker-load.test.ts; here its content.
 */

const EPOCH = 1700000000;

function opts(reg: TestRegistry, output: string, more: Partial<PackOptions>): PackOptions {
  return { sources: reg, output, sourceDateEpoch: EPOCH, retryDelayMs: 1, ...more };
}

describe('pack: manifest.json for docker load', () => {
  it('right after index.json: each image for the one platform, tags of one image in one entry, the rest named as missing', async (t) => {
    const dir = await tempDir(t);
    const reg = new TestRegistry();
    const pause = addImage(reg, 'registry.k8s.io/pause:3.9', { layers: 1 });
    await reg.repo('registry.k8s.io/pause').tag(pause.index!, '3.9-alias');
    const proxy = addImage(reg, 'registry.k8s.io/kube-proxy:v1.30.14', { docker: true });
    addImage(reg, 'docker.io/library/tool:1', { platforms: ['linux/arm64'], single: true });
    const out = join(dir, 'b.tar');
    const events: PackEvent[] = [];
    await pack(opts(reg, out, {
      images: ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9-alias', 'registry.k8s.io/kube-proxy:v1.30.14', 'docker.io/library/tool:1'],
      platforms: parsePlatformSelection('all'),
      dockerPlatform: parsePlatform('linux/amd64'),
      onEvent: (e) => events.push(e),
    }));
    const entries = await readTar(await readFile(out));
    assert.deepEqual(entries.slice(0, 4).map((e) => e.name), ['airgap-bundle.json', 'oci-layout', 'index.json', 'manifest.json']);
    const amd64 = (img: typeof pause) => img.manifests.find((m) => m.platform === 'linux/amd64')!;
    const entryOf = (img: typeof pause, tags: string[]) => ({
      Config: blobPath(amd64(img).config.digest),
      RepoTags: tags,
      Layers: amd64(img).layers.map((l) => blobPath(l.digest)),
    });
    // In reference order: docker.io/library/tool:1 has no linux/amd64 manifest and is left out.
    assert.deepEqual(JSON.parse(entries[3]!.data.toString()), [
      entryOf(proxy, ['registry.k8s.io/kube-proxy:v1.30.14']),
      entryOf(pause, ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9-alias']),
    ]);
    const names = new Set(entries.map((e) => e.name));
    for (const e of JSON.parse(entries[3]!.data.toString()) as { Config: string; Layers: string[] }[]) {
      for (const p of [e.Config, ...e.Layers]) assert.ok(names.has(p), `${p} is in the bundle`);
    }
    const meta = JSON.parse(entries[0]!.data.toString()) as BundleMetadata;
    assert.deepEqual(meta.docker, {
      platform: 'linux/amd64',
      images: ['registry.k8s.io/kube-proxy:v1.30.14', 'registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9-alias'],
      missing: ['docker.io/library/tool:1'],
    });
    assert.equal(meta.mediaTypes, 'upstream');
    const notice = events.find((e) => e.event === 'notice' && e.code === 'DOCKER_MISSING');
    assert.ok(notice && notice.event === 'notice');
    assert.match(notice.message, /docker\.io\/library\/tool:1/);
    assert.match(notice.message, /--docker-platform/);

    const report = await verifyBundle(out);
    assert.equal(report.ok, true, JSON.stringify(report.checks.flatMap((c) => c.findings)));
    const docker = report.checks.find((c) => c.name === 'docker')!;
    assert.equal(docker.status, 'pass');
    assert.deepEqual(docker.findings.map((f) => [f.severity, f.code]), [['info', 'docker-image-left-out']]);
  });

  it('--docker-platform names the images for that platform; one the bundle will not hold is refused before any request (exit 2)', async (t) => {
    const dir = await tempDir(t);
    const reg = new TestRegistry();
    const img = addImage(reg, 'registry.k8s.io/pause:3.9');
    const out = join(dir, 'arm.tar');
    await pack(opts(reg, out, { images: ['registry.k8s.io/pause:3.9'], platforms: parsePlatformSelection('linux/amd64,linux/arm64'), dockerPlatform: parsePlatform('linux/arm64') }));
    const entries = await readTar(await readFile(out));
    const arm = img.manifests.find((m) => m.platform === 'linux/arm64')!;
    assert.equal((JSON.parse(entries[3]!.data.toString()) as { Config: string }[])[0]!.Config, blobPath(arm.config.digest));

    const fetchesBefore = reg.repo('registry.k8s.io/pause').fetches.length;
    const err = await pack(opts(reg, join(dir, 'x.tar'), { images: ['registry.k8s.io/pause:3.9'], platforms: parsePlatformSelection('linux/amd64'), dockerPlatform: parsePlatform('linux/arm64') }))
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof AirgapError);
    assert.equal(err.code, 'ERR_DOCKER_PLATFORM_NOT_PACKED');
    assert.equal(exitCodeFor(err.kind), 2);
    assert.match(err.message, /linux\/arm64.*linux\/amd64/);
    assert.equal(reg.repo('registry.k8s.io/pause').fetches.length, fetchesBefore, 'nothing was fetched');
  });

  it('defaults to this machine\'s platform when the bundle holds it, else to the first platform packed', () => {
    const host = hostPlatform();
    const other = formatPlatform(host) === 'linux/arm64' ? 'linux/amd64' : 'linux/arm64';
    assert.equal(formatPlatform(defaultDockerPlatform(parsePlatformSelection('all'))), formatPlatform(host));
    assert.equal(formatPlatform(defaultDockerPlatform(parsePlatformSelection(`${other},${formatPlatform(host)}`))), formatPlatform(host));
    assert.equal(formatPlatform(defaultDockerPlatform(parsePlatformSelection(`${other},linux/s390x`))), other);
  });
});
