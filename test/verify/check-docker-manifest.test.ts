import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { blobPath, BundleEntry } from '../../src/bundle/metadata.js';
import type { Finding, VerifyReport } from '../../src/verify/report.js';
import { verifyBundle } from '../../src/verify/verify-bundle.js';
import { makeBundle, makeTempDir, type BuiltBundle, type MakeBundleOptions } from '../helpers/make-bundle.js';

/** airgap verify's check of manifest.json (docker load): what a damaged one is, and what is fine. */

let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-verify-docker-'));
});
after(async () => {
  await cleanup();
});

const build = (opts: MakeBundleOptions = {}): Promise<BuiltBundle> => makeBundle({ dir, dockerPlatform: 'linux/amd64', ...opts });

function docker(r: VerifyReport) {
  return r.checks.find((c) => c.name === 'docker')!;
}
function codes(r: VerifyReport, severity: Finding['severity'] = 'error'): string[] {
  return docker(r).findings.filter((f) => f.severity === severity).map((f) => f.code);
}
function entry(b: BuiltBundle, ref: string, platform = 'linux/amd64') {
  const p = b.images.find((i) => i.ref === ref)!.platforms.find((x) => x.platform === platform)!;
  return { Config: blobPath(p.config.digest), RepoTags: [ref], Layers: p.layers.map((l) => blobPath(l.digest)) };
}
const replace = (doc: unknown) => ({ kind: 'replace' as const, name: BundleEntry.DockerManifest, data: Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)) });

describe('verify: manifest.json', () => {
  it('passes when each entry is the bundle\'s own manifest for the recorded platform', async () => {
    const r = await verifyBundle((await build()).path);
    assert.equal(r.ok, true, JSON.stringify(docker(r).findings));
    assert.equal(docker(r).status, 'pass');
    assert.equal(docker(r).stats.tags, 3);
    assert.match(docker(r).summary, /linux\/amd64/);
  });

  it('is skipped for a bundle from an older airgap (no manifest.json, none recorded), with no finding', async () => {
    const r = await verifyBundle((await build({ dockerPlatform: undefined })).path);
    assert.equal(r.ok, true);
    assert.equal(docker(r).status, 'skip');
    assert.deepEqual(docker(r).findings, []);
    assert.match(docker(r).summary, /airgap load --docker/);
  });

  it('fails when the metadata records manifest.json but the bundle has none', async () => {
    const r = await verifyBundle((await build({ damage: [{ kind: 'drop-entry', name: BundleEntry.DockerManifest }] })).path);
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), ['docker-manifest-missing']);
  });

  it('fails on manifest.json that is not JSON, or not [{Config, RepoTags, Layers}]', async () => {
    for (const bad of ['{"Config":', { Config: 'x' }, [{ Config: 'x', RepoTags: ['a:1'] }]]) {
      const r = await verifyBundle((await build({ damage: [replace(bad)] })).path);
      assert.deepEqual(codes(r), ['invalid-docker-manifest'], JSON.stringify(bad));
      assert.equal(r.ok, false);
    }
  });

  it('fails on a path the bundle does not hold, a tag index.json does not name, and the config of another platform', async () => {
    const b0 = await build();
    const pause = entry(b0, 'registry.k8s.io/pause:3.9');
    const proxy = entry(b0, 'registry.k8s.io/kube-proxy:v1.30.14');
    const coredns = entry(b0, 'registry.k8s.io/coredns/coredns:v1.11.3');
    const missing = await verifyBundle((await build({ damage: [replace([coredns, proxy, { ...pause, Layers: [...pause.Layers, `blobs/sha256/${'f'.repeat(64)}`] }])] })).path);
    assert.deepEqual(codes(missing), ['docker-manifest-blob-missing']);
    assert.deepEqual(docker(missing).findings[0]!.digest, `sha256:${'f'.repeat(64)}`);

    const unknown = await verifyBundle((await build({ damage: [replace([coredns, proxy, pause, { ...pause, RepoTags: ['registry.k8s.io/pause:3.8'] }])] })).path);
    assert.deepEqual(codes(unknown), ['docker-tag-unknown']);

    const arm = entry(b0, 'registry.k8s.io/pause:3.9', 'linux/arm64');
    const wrong = await verifyBundle((await build({ damage: [replace([coredns, proxy, arm])] })).path);
    assert.deepEqual(codes(wrong), ['docker-manifest-mismatch']);
    assert.deepEqual(docker(wrong).findings.find((f) => f.severity === 'error')!.images, ['registry.k8s.io/pause:3.9']);
    assert.equal(wrong.images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!.ok, false, 'the image is marked as failing');

    const swapped = await verifyBundle((await build({ damage: [replace([coredns, { ...proxy, Layers: [...proxy.Layers].reverse() }, pause])] })).path);
    assert.deepEqual(codes(swapped), ['docker-manifest-mismatch'], 'layers out of order');
  });

  it('fails when an image the metadata says manifest.json loads has no entry', async () => {
    const b0 = await build();
    const r = await verifyBundle((await build({ damage: [replace([entry(b0, 'registry.k8s.io/coredns/coredns:v1.11.3'), entry(b0, 'registry.k8s.io/kube-proxy:v1.30.14')])] })).path);
    assert.deepEqual(codes(r), ['docker-image-not-loaded']);
    assert.deepEqual(docker(r).findings[0]!.images, ['registry.k8s.io/pause:3.9']);
  });

  it('names images left out for want of the platform as a note; the bundle is fine', async () => {
    const r = await verifyBundle((await build({ dockerPlatform: 'linux/arm64' })).path);
    assert.equal(r.ok, true, JSON.stringify(docker(r).findings));
    assert.deepEqual(docker(r).findings.map((f) => [f.severity, f.code, f.images]), [['info', 'docker-image-left-out', ['registry.k8s.io/coredns/coredns:v1.11.3']]]);
  });

  it('checks another tool\'s archive (no metadata) against any of the image\'s manifests, Docker\'s short names included', async () => {
    const b0 = await build({ metadata: false });
    const pause = entry(b0, 'registry.k8s.io/pause:3.9', 'linux/arm64');
    const ok = await verifyBundle((await build({ metadata: false, damage: [replace([pause])] })).path);
    assert.equal(docker(ok).status, 'pass', JSON.stringify(docker(ok).findings));
    const nginx = await verifyBundle((await build({ metadata: false, images: [{ ref: 'docker.io/library/nginx:1.27', platforms: ['linux/amd64'] }] })).path);
    assert.equal(docker(nginx).status, 'pass');
    const short = await build({ metadata: false, images: [{ ref: 'docker.io/library/nginx:1.27', platforms: ['linux/amd64'] }] });
    const e = { ...entry(short, 'docker.io/library/nginx:1.27'), RepoTags: ['nginx:1.27'] };
    const r = await verifyBundle((await build({ metadata: false, images: [{ ref: 'docker.io/library/nginx:1.27', platforms: ['linux/amd64'] }], damage: [replace([e])] })).path);
    assert.equal(docker(r).status, 'pass', JSON.stringify(docker(r).findings));
  });
});
