/**
 * CRI-O end to end, inside a private mount namespace where /etc/containers, /etc/crio and /run/crio
 * are empty tmpfs (only lo exists): `airgap load --registry URL --runtime crio --configure` must
 * write the registries.conf.d mirror and the crio.conf.d pause, and podman — containers/image, the
 * library CRI-O pulls with, reading the same files — must pull every bundle image by its original
 * name from the node registry alone, with the upstream digest. doctor fails with a fix before and
 * reports the CRI-O checks ok after; a second load changes nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateImages, startRegistry, which, type GeneratedImages, type LabRegistry } from '../../../scripts/lab/index.js';
import { bundleFromLayout } from '../../helpers/lab-bundle.js';
import { makeTempDir } from '../../helpers/make-bundle.js';
import { assertNamespaceLab, inMountNamespace } from '../../helpers/mount-namespace.js';
import type { CrioLoadResult } from './scenarios.js';

const MODULE = fileURLToPath(new URL('./scenarios.js', import.meta.url));
const REFS = ['registry.k8s.io/pause:3.9', 'registry.k8s.io/coredns/coredns:v1.11.1', 'docker.io/library/busybox:1.36'];
const PAUSE = REFS[0]!;

describe('CRI-O node: airgap load --registry --runtime crio --configure, pulled through by podman', () => {
  let gen: GeneratedImages;
  let reg: LabRegistry | undefined;
  let work: { dir: string; cleanup(): Promise<void> } | undefined;
  let bundle: string;
  let r: CrioLoadResult;

  before(async () => {
    await assertNamespaceLab();
    if (!which('podman')) throw new Error("'podman' is not installed: install the test lab (bash scripts/lab-install.sh)");
    gen = await generateImages({ scale: 0.01, refs: REFS.map((ref) => ({ ref })) });
    work = await makeTempDir('airgap-crio-e2e-');
    bundle = (await bundleFromLayout(gen.layoutDir, join(work.dir, 'images.tar'))).path;
    reg = await startRegistry();
    r = await inMountNamespace<CrioLoadResult>({
      tmpfs: ['/etc/containers', '/etc/crio', '/run/crio'],
      module: MODULE,
      fn: 'crioLoad',
      arg: { bundle, registryUrl: reg.url, refs: REFS },
      timeoutMs: 170_000,
    });
  });
  after(async () => {
    await reg?.stop();
    await work?.cleanup();
  });

  it('doctor before the load fails the CRI-O checks, each with its fix', () => {
    const b = r.doctorBefore;
    assert.equal(b.ok, false);
    const sandbox = b.checks.find((c) => c.id === 'sandbox.image');
    assert.equal(sandbox?.status, 'fail', JSON.stringify(b.checks, null, 1));
    assert.match(sandbox!.fix!, /--runtime crio --configure/);
    for (const registry of ['docker.io', 'registry.k8s.io']) {
      const m = b.checks.find((c) => c.id === `mirrors.${registry}`);
      assert.equal(m?.status, 'fail', registry);
      assert.match(m!.fix!, /registries\.conf\.d\/50-airgap\.conf/);
    }
    assert.equal(b.checks.find((c) => c.id === 'runtime.kind')?.status, 'ok');
  });

  it('writes the registries.conf.d mirror per source registry and the crio.conf.d pause, and says to reload CRI-O', () => {
    assert.equal(r.first.exitCode, 0, r.first.stderr + r.first.stdout);
    assert.deepEqual(Object.keys(r.files).sort(), ['/etc/containers/registries.conf.d/50-airgap.conf', '/etc/crio/crio.conf.d/50-airgap.conf']);
    const host = new URL(reg!.url).host;
    const conf = r.files['/etc/containers/registries.conf.d/50-airgap.conf']!;
    assert.match(conf, new RegExp(`prefix = "registry\\.k8s\\.io"\\nlocation = "registry\\.k8s\\.io"\\n\\n\\[\\[registry\\.mirror\\]\\]\\nlocation = "${host}/registry\\.k8s\\.io"\\ninsecure = true`));
    assert.match(conf, new RegExp(`location = "${host}/docker\\.io"`));
    const crio = r.files['/etc/crio/crio.conf.d/50-airgap.conf']!;
    assert.match(crio, /\[crio\.image\]\npause_image = "registry\.k8s\.io\/pause:3\.9"\npinned_images = \["registry\.k8s\.io\/pause:3\.9"\]/);
    assert.match(r.first.stdout, /node +CRI-O \(--runtime/);
    assert.match(r.first.stdout, /CRI-O configuration: 2 files changed; sandbox image registry\.k8s\.io\/pause:3\.9/);
    assert.match(r.first.stdout, /Reload CRI-O so it reads the new configuration: systemctl reload crio/);
  });

  it('a second load (CRI-O found from kubelet\'s runtime endpoint) changes nothing', () => {
    assert.equal(r.second.exitCode, 0, r.second.stderr + r.second.stdout);
    const events = r.second.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const node = events.find((e) => e.event === 'node');
    assert.equal(node?.title, 'CRI-O');
    assert.equal(node?.source, 'detected');
    const summary = events.find((e) => e.event === 'summary')?.summary as { changed: boolean; config: { changed: string[] } };
    assert.equal(summary.changed, false);
    assert.deepEqual(summary.config.changed, []);
  });

  it('podman (containers/image, as CRI-O) pulls every bundle image by its original name from the mirror alone, with the upstream digest', () => {
    assert.equal(r.pulls.length, REFS.length);
    for (const p of r.pulls) {
      assert.equal(p.exitCode, 0, `${p.image}: ${p.stderr}`);
      const img = gen.images.find((i) => i.ref === p.image)!;
      const repo = p.image.slice(0, p.image.lastIndexOf(':'));
      assert.ok(p.repoDigests.includes(`${repo}@${img.digest}`), `${p.image}: ${p.repoDigests.join(', ')} lacks ${img.digest}`);
    }
  });

  it('doctor after the load reports the CRI-O checks ok', () => {
    const a = r.doctorAfter;
    const ids = a.checks.map((c) => `${c.id}=${c.status}`);
    for (const id of ['runtime.kind', 'node.kind', 'sandbox.image', 'mirrors.docker.io', 'mirrors.registry.k8s.io']) {
      assert.ok(ids.includes(`${id}=ok`), `${id}: ${JSON.stringify(a.checks, null, 1)}`);
    }
    assert.equal(a.checks.find((c) => c.id === 'sandbox.image')!.message.includes(PAUSE), true);
    assert.equal(a.ok, true, JSON.stringify(a.checks, null, 1));
    assert.equal(a.summary.fail, 0);
  });
});
