/** A CRI-O node on a fake root: a registries.conf.d drop-in (one mirror per registry) and a crio.conf.d drop-in (pause). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getPath, parseToml } from '../../../src/node/containerd/toml.js';
import { CrioNode } from '../../../src/node/crio/node.js';
import { entryFor, mirrorLocation, parseRegistriesConf, readRegistriesConf } from '../../../src/node/crio/registries-conf.js';
import { applyFileChanges } from '../../../src/node/file-change.js';
import type { NodeConfigRequest } from '../../../src/node/node.js';
import { resolveNode } from '../../../src/node/resolve.js';
import { withRoot } from '../fake-root.js';

const PAUSE = 'registry.k8s.io/pause:3.9';
const REQ: NodeConfigRequest = {
  registries: ['registry.k8s.io', 'docker.io'],
  mirror: { url: 'http://127.0.0.1:5000' },
  sandboxImage: PAUSE,
};

test('mirror locations: host, prefix, registry namespace; no scheme, no /v2', () => {
  assert.equal(mirrorLocation({ url: 'http://127.0.0.1:5000' }, 'registry.k8s.io'), '127.0.0.1:5000/registry.k8s.io');
  assert.equal(mirrorLocation({ url: 'https://reg.local:5000', pathPrefix: '/k8s/' }, 'docker.io'), 'reg.local:5000/k8s/docker.io');
  assert.equal(mirrorLocation({ url: 'http://127.0.0.1:5000' }, 'localhost:5001'), '127.0.0.1:5000/localhost_5001');
});

test('plan: a registries.conf.d drop-in with one [[registry]] per registry and a crio.conf.d drop-in with the pause, pinned', async () => {
  await withRoot({}, async (r) => {
    const node = new CrioNode({ root: r.dir });
    const plan = await node.planConfig(REQ);
    assert.deepEqual(plan.errors, []);
    assert.deepEqual(plan.changes.map((c) => c.path), [r.path('etc/containers/registries.conf.d/50-airgap.conf'), r.path('etc/crio/crio.conf.d/50-airgap.conf')]);
    const reg = parseRegistriesConf(plan.changes[0]!.after, 'x');
    assert.deepEqual(reg.map((e) => [e.prefix, e.location, e.mirrors]), [
      ['docker.io', 'docker.io', [{ location: '127.0.0.1:5000/docker.io', insecure: true }]],
      ['registry.k8s.io', 'registry.k8s.io', [{ location: '127.0.0.1:5000/registry.k8s.io', insecure: true }]],
    ]);
    const crio = parseToml(plan.changes[1]!.after).root;
    assert.equal(getPath(crio, ['crio', 'image', 'pause_image']), PAUSE);
    assert.deepEqual(getPath(crio, ['crio', 'image', 'pinned_images']), [PAUSE]);
    assert.equal(plan.restart.needed, true);
    assert.equal(plan.restart.command, 'systemctl reload crio');
    assert.equal(plan.restart.what, 'CRI-O');
    assert.equal(plan.sandboxImage, PAUSE);
  });
});

test('https mirror: no insecure; the CA goes to /etc/containers/certs.d/<host>/ca.crt', async () => {
  await withRoot({ 'ca.pem': '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' }, async (r) => {
    const plan = await new CrioNode({ root: r.dir }).planConfig({ ...REQ, mirror: { url: 'https://reg.local:5443', caFile: r.path('ca.pem') } });
    const ca = plan.changes.find((c) => c.path.endsWith('ca.crt'));
    assert.equal(ca?.path, r.path('etc/containers/certs.d/reg.local:5443/ca.crt'));
    const reg = parseRegistriesConf(plan.changes.find((c) => c.path.endsWith('50-airgap.conf') && c.path.includes('registries'))!.after, 'x');
    assert.deepEqual(reg[0]!.mirrors, [{ location: 'reg.local:5443/docker.io', insecure: false }]);
  });
});

test('applied, a second plan changes nothing; a later drop-in claiming the same prefix or pause is warned about', async () => {
  await withRoot({
    'etc/containers/registries.conf': 'unqualified-search-registries = ["docker.io"]\n',
    'etc/containers/registries.conf.d/99-other.conf': '[[registry]]\nprefix = "docker.io"\nlocation = "mirror.corp/docker"\n',
    'etc/crio/crio.conf.d/99-mine.conf': '[crio.image]\npause_image = "k8s.gcr.io/pause:3.6"\n',
  }, async (r) => {
    const node = new CrioNode({ root: r.dir });
    const plan = await node.planConfig(REQ);
    assert.ok(plan.warnings.some((w) => /99-other\.conf also configures docker\.io/.test(w)), plan.warnings.join('\n'));
    assert.ok(plan.warnings.some((w) => /99-mine\.conf also sets pause_image/.test(w)), plan.warnings.join('\n'));
    await applyFileChanges(plan.changes);
    const again = await node.planConfig(REQ);
    assert.deepEqual(again.changes, []);
    assert.equal(again.restart.needed, false);
    assert.equal(again.unchanged.length, 2);
    // What containers/image ends up with: the later file wins for docker.io.
    const facts = await readRegistriesConf(r.path('etc/containers'));
    assert.equal(entryFor(facts, 'docker.io')?.location, 'mirror.corp/docker');
    assert.equal(entryFor(facts, 'registry.k8s.io')?.mirrors[0]?.location, '127.0.0.1:5000/registry.k8s.io');
  });
});

test('dry run: diffs, nothing written', async () => {
  await withRoot({}, async (r) => {
    const plan = await new CrioNode({ root: r.dir }).planConfig(REQ);
    const applied = await applyFileChanges(plan.changes, { dryRun: true });
    assert.match(applied[0]!.diff, /\+\[\[registry\.mirror\]\]/);
    assert.equal(await r.read('etc/containers/registries.conf.d/50-airgap.conf'), null);
  });
});

test('resolveNode: a cri-o runtime picks the CRI-O node, whatever the distribution files say', async () => {
  await withRoot({ 'etc/k0s/k0s.yaml': 'kind: ClusterConfig\n' }, async (r) => {
    const { node, detection } = await resolveNode({ root: r.dir, runtime: { kind: 'cri-o', source: 'given', evidence: '--runtime crio' } });
    assert.equal(node.runtime, 'cri-o');
    assert.equal(node.title, 'CRI-O');
    assert.equal(detection.source, 'given');
    assert.deepEqual(detection.evidence, ['--runtime crio']);
  });
});
