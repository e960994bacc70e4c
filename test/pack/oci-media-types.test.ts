/**
 * pack --oci-media-types, proven with containers/image itself (podman 4.3, skopeo 1.9 from Debian):
 * what they refuse in a bundle with upstream's Docker-typed manifests — podman pull of an image whose
 * manifest is a Docker one, skopeo copy --all --preserve-digests of a Docker manifest list into an
 * OCI layout — they accept from a bundle packed with the flag, for every image; `airgap verify`
 * passes on it. Also: `podman load -i` reads any bundle through its manifest.json. podman runs on
 * a temp --root/--runroot with the vfs driver: nothing touches this machine's storage. Inside
 * `unshare -n` only (scripts/test.sh); a missing tool fails.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { assertIsolatedNetwork, which, type GeneratedImages } from '../../scripts/lab/index.js';
import type { BundleMetadata } from '../../src/bundle/metadata.js';
import { MediaType } from '../../src/oci/media-type.js';
import { formatPlatform, hostPlatform } from '../../src/oci/platform.js';
import { runCli, startSeededLab, type SeededLab } from '../helpers/node-lab.js';

/** A single-platform Docker manifest under a tag of its own, as many images on Docker Hub are. */
const SINGLE = 'registry.k8s.io/kube-proxy:v1.30.14-single';
const UNSUPPORTED = /unsupported image-specific operation on artifact with type "application\/vnd\.docker\.container\.image\.v1\+json"/;
const MUST_CONVERT = /must be converted to type \\?"application\/vnd\.oci\.image\.index\.v1\+json\\?".*Instructed to preserve digests/;

describe('pack --oci-media-types for podman, buildah and skopeo (oci-archive:)', () => {
  let lab: SeededLab;
  let gen: GeneratedImages;
  let work: string;
  let policy: string;
  let n = 0;
  const host = formatPlatform(hostPlatform());
  /** upstream: every platform, no flag; converted: every platform; convertedDefault: the default platform only */
  const bundles = { upstream: '', converted: '', convertedDefault: '' };
  let singleConfig: string;
  let refs: string[];

  /** podman on a storage of its own (a new one per call unless `root` is given). */
  const podman = (args: string[], root = join(work, `podman-${n++}`)) => execa('podman', [
    '--root', join(root, 'storage'), '--runroot', join(root, 'run'), '--tmpdir', join(root, 'tmp'), '--storage-driver', 'vfs',
    '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', ...args,
  ], { reject: false, stdin: 'ignore', timeout: 120_000 });
  const pull = (bundle: string, ref: string, root?: string) => podman(['pull', '--signature-policy', policy, `oci-archive:${bundle}:${ref}`], root);
  const skopeoCopyAll = (bundle: string, ref: string, to: string) => execa('skopeo', ['copy', '--all', '--preserve-digests', '--policy', policy, `oci-archive:${bundle}:${ref}`, `oci:${to}:x`], { reject: false, stdin: 'ignore' });

  before(async () => {
    await assertIsolatedNetwork();
    for (const tool of ['podman', 'buildah', 'skopeo']) assert.ok(which(tool), `'${tool}' is not installed: install the test lab (bash scripts/lab-install.sh)`);
    lab = await startSeededLab('airgap-pack-oci-');
    ({ gen, work } = lab);
    policy = join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    // Tag kube-proxy's linux/amd64 Docker manifest on its own in the lab registry.
    const proxy = gen.images.find((i) => i.ref === 'registry.k8s.io/kube-proxy:v1.30.14')!;
    const child = proxy.platforms.find((p) => p.platform === 'linux/amd64')!;
    assert.equal(child.mediaType, MediaType.DockerManifest);
    singleConfig = child.config.digest;
    const body = await readFile(join(gen.layoutDir, 'blobs', 'sha256', child.digest.slice('sha256:'.length)));
    const put = await fetch(`${lab.upstream.url}/v2/registry.k8s.io/kube-proxy/manifests/v1.30.14-single`, { method: 'PUT', body, headers: { 'Content-Type': MediaType.DockerManifest } });
    assert.equal(put.status, 201, await put.text());
    refs = [...gen.images.map((i) => i.ref), SINGLE];

    for (const [name, extra] of [['upstream', ['--platform', 'all']], ['converted', ['--platform', 'all', '--oci-media-types']], ['convertedDefault', ['--oci-media-types']]] as const) {
      const out = join(work, `${name}.tar`);
      const r = await runCli(['pack', '--kubernetes', 'v1.30.14', '--image', SINGLE, ...extra, ...lab.mirrorArgs, '-o', out]);
      assert.equal(r.exitCode, 0, r.stderr);
      bundles[name] = out;
      if ((extra as readonly string[]).includes('--oci-media-types')) {
        assert.match(r.stderr, /warning: --oci-media-types .* NEW digests/, 'a warning on stderr');
        assert.match(r.stderr, /image@sha256:<upstream digest>/);
      } else {
        assert.doesNotMatch(r.stderr, /oci-media-types/);
      }
    }
  });
  after(async () => {
    await lab?.stop();
  });

  it('without the flag: podman refuses the Docker manifest, skopeo copy --all --preserve-digests the Docker lists (as documented)', async () => {
    const p = await pull(bundles.upstream, SINGLE);
    assert.notEqual(p.exitCode, 0, 'podman pull of a Docker manifest in an OCI layout fails');
    assert.match(String(p.stderr), UNSUPPORTED);
    for (const img of gen.images.filter((i) => i.mediaType === MediaType.DockerManifestList)) {
      const c = await skopeoCopyAll(bundles.upstream, img.ref, join(work, `up-${n++}`));
      assert.notEqual(c.exitCode, 0, img.ref);
      assert.match(String(c.stderr), MUST_CONVERT, img.ref);
    }
  });

  it('with it: podman pulls every image, with its upstream config as image ID; skopeo copies every index as it is in the bundle', async () => {
    const root = join(work, 'podman-converted');
    for (const ref of refs) {
      const p = await pull(bundles.convertedDefault, ref, root);
      assert.equal(p.exitCode, 0, `${ref}: ${String(p.stderr)}`);
      const want = ref === SINGLE ? singleConfig : gen.images.find((i) => i.ref === ref)!.platforms.find((x) => x.platform === host)!.config.digest;
      assert.equal(`sha256:${String(p.stdout).trim().split('\n').at(-1)}`, want, `${ref}: podman's image ID is the config digest`);
    }
    const meta = JSON.parse((await execa('tar', ['-xOf', bundles.converted, 'airgap-bundle.json'])).stdout) as BundleMetadata;
    for (const ref of refs) {
      const to = join(work, `oci-${n++}`);
      const c = await skopeoCopyAll(bundles.converted, ref, to);
      assert.equal(c.exitCode, 0, `${ref}: ${String(c.stderr)}`);
      const index = JSON.parse(await readFile(join(to, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      assert.equal(index.manifests[0]!.digest, meta.images.find((i) => i.ref === ref)!.digest, `${ref}: copied with the bundle's digest`);
    }
    // buildah's library as well, by the same name
    const b = await execa('buildah', ['--root', join(work, 'buildah', 'storage'), '--runroot', join(work, 'buildah', 'run'), '--storage-driver', 'vfs',
      'from', '--signature-policy', policy, `oci-archive:${bundles.convertedDefault}:${SINGLE}`], { reject: false, stdin: 'ignore' });
    assert.equal(b.exitCode, 0, String(b.stderr));
  });

  it('records and shows what it converted; airgap verify passes', async () => {
    for (const bundle of [bundles.converted, bundles.convertedDefault]) {
      const v = await runCli(['verify', bundle]);
      assert.equal(v.exitCode, 0, v.stdout);
      const meta = JSON.parse((await execa('tar', ['-xOf', bundle, 'airgap-bundle.json'])).stdout) as BundleMetadata;
      assert.equal(meta.mediaTypes, 'oci-converted');
      for (const img of gen.images) {
        const m = meta.images.find((i) => i.ref === img.ref)!;
        if (img.mediaType === MediaType.DockerManifestList) {
          assert.equal(m.convertedFrom, img.digest, `${img.ref} records its upstream digest`);
          assert.notEqual(m.digest, img.digest);
        } else {
          assert.deepEqual([m.digest, m.convertedFrom], [img.digest, undefined], `${img.ref} was OCI already: unchanged`);
        }
      }
      const inspect = await runCli(['inspect', bundle]);
      assert.equal(inspect.exitCode, 0, inspect.stderr);
      assert.match(inspect.stdout, /media types +OCI, converted \(pack --oci-media-types\)/);
      assert.match(inspect.stdout, /registry\.k8s\.io\/pause:3\.9 .* was sha256:[0-9a-f]{12}/);
    }
    const up = await runCli(['inspect', bundles.upstream]);
    assert.match(up.stdout, /media types +as upstream/);
  });

  it('podman load -i reads any bundle through manifest.json: every image by name', async () => {
    const root = join(work, 'podman-load');
    await mkdir(root);
    const r = await podman(['load', '-i', bundles.upstream], root);
    assert.equal(r.exitCode, 0, String(r.stderr));
    for (const ref of refs) {
      const id = await podman(['image', 'inspect', '--format', '{{.Id}}', ref], root);
      assert.equal(id.exitCode, 0, `${ref}: ${String(id.stderr)}`);
      const want = ref === SINGLE ? singleConfig : gen.images.find((i) => i.ref === ref)!.platforms.find((x) => x.platform === host)!.config.digest;
      assert.equal(`sha256:${String(id.stdout).trim()}`, want, ref);
    }
  });
});
