/** A cri-dockerd node on a fake root: a cri-docker.service drop-in repeating the unit's ExecStart with the bundle's pause. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DockerNode, execStartOf, podInfraOf, withoutPodInfra } from '../../../src/node/docker/node.js';
import { applyFileChanges } from '../../../src/node/file-change.js';
import type { NodeConfigRequest } from '../../../src/node/node.js';
import { resolveNode } from '../../../src/node/resolve.js';
import { withRoot } from '../fake-root.js';

const PAUSE = 'registry.k8s.io/pause:3.9';
const REQ: NodeConfigRequest = { registries: ['registry.k8s.io'], sandboxImage: PAUSE };
/** As cri-dockerd's packaging ships it. */
const UNIT = [
  '[Unit]',
  'Description=CRI Interface for Docker Application Container Engine',
  'Requires=cri-docker.socket',
  '',
  '[Service]',
  'Type=notify',
  'ExecStart=/usr/bin/cri-dockerd --container-runtime-endpoint fd://',
  'ExecReload=/bin/kill -s HUP $MAINPID',
  '',
  '[Install]',
  'WantedBy=multi-user.target',
  '',
].join('\n');
const DROP_IN = 'etc/systemd/system/cri-docker.service.d/50-airgap.conf';
/** How often the flag is on the drop-in's command lines. */
const flagCount = (text: string): number => text.split('\n').filter((l) => l.startsWith('ExecStart=')).join('\n').match(/--pod-infra-container-image/g)?.length ?? 0;

test('ExecStart: continuation lines joined, an empty ExecStart resets, other sections ignored', () => {
  assert.equal(execStartOf(UNIT), '/usr/bin/cri-dockerd --container-runtime-endpoint fd://');
  assert.equal(execStartOf('[Service]\nExecStart=/a \\\n  --x=1\n'), '/a --x=1');
  assert.equal(execStartOf('[Service]\nExecStart=/a\nExecStart=\n'), undefined);
  assert.equal(execStartOf('[Unit]\nExecStart=/nope\n'), undefined);
  assert.equal(withoutPodInfra('/c --a --pod-infra-container-image=k8s.gcr.io/pause:3.6 --b'), '/c --a --b');
  assert.equal(withoutPodInfra('/c --pod-infra-container-image "k8s.gcr.io/pause:3.6"'), '/c');
  assert.equal(podInfraOf('/c --pod-infra-container-image k8s.gcr.io/pause:3.6'), 'k8s.gcr.io/pause:3.6');
});

for (const dir of ['lib/systemd/system', 'usr/lib/systemd/system', 'etc/systemd/system']) {
  test(`unit in /${dir}: the drop-in clears ExecStart and repeats it with --pod-infra-container-image`, async () => {
    await withRoot({ [`${dir}/cri-docker.service`]: UNIT }, async (r) => {
      const plan = await new DockerNode({ root: r.dir }).planConfig(REQ);
      assert.deepEqual(plan.errors, []);
      assert.equal(plan.changes.length, 1);
      const c = plan.changes[0]!;
      assert.equal(c.path, r.path(DROP_IN));
      assert.match(c.after, /\n\[Service\]\nExecStart=\nExecStart=\/usr\/bin\/cri-dockerd --container-runtime-endpoint fd:\/\/ --pod-infra-container-image=registry\.k8s\.io\/pause:3\.9\n$/);
      assert.equal(plan.restart.needed, true);
      assert.equal(plan.restart.command, 'systemctl daemon-reload && systemctl restart cri-docker');
      assert.equal(plan.sandboxImage, PAUSE);
    });
  });
}

test('/etc/systemd/system wins over /lib; an existing --pod-infra-container-image is replaced, not repeated', async () => {
  await withRoot({
    'lib/systemd/system/cri-docker.service': UNIT,
    'etc/systemd/system/cri-docker.service': UNIT.replace('fd://', 'fd:// --pod-infra-container-image=k8s.gcr.io/pause:3.6 --network-plugin=cni'),
  }, async (r) => {
    const plan = await new DockerNode({ root: r.dir }).planConfig(REQ);
    const after = plan.changes[0]!.after;
    assert.match(after, /ExecStart=\/usr\/bin\/cri-dockerd --container-runtime-endpoint fd:\/\/ --network-plugin=cni --pod-infra-container-image=registry\.k8s\.io\/pause:3\.9\n/);
    assert.equal(flagCount(after), 1);
    assert.doesNotMatch(after, /pause:3\.6/);
  });
});

test('applied, a second plan changes nothing (it reads the unit, not its own drop-in); the effective ExecStart names the pause', async () => {
  await withRoot({ 'lib/systemd/system/cri-docker.service': UNIT }, async (r) => {
    const node = new DockerNode({ root: r.dir });
    await applyFileChanges((await node.planConfig(REQ)).changes);
    const again = await node.planConfig(REQ);
    assert.deepEqual(again.changes, []);
    assert.deepEqual(again.unchanged, [r.path(DROP_IN)]);
    assert.equal(again.restart.needed, false);
    const eff = await node.effectiveExecStart();
    assert.equal(eff.file, r.path(DROP_IN));
    assert.equal(podInfraOf(eff.exec), PAUSE);
    // A new pause replaces the old one in place.
    const next = await node.planConfig({ ...REQ, sandboxImage: 'registry.k8s.io/pause:3.10' });
    assert.equal(flagCount(next.changes[0]!.after), 1);
    assert.match(next.changes[0]!.after, /pause:3\.10\n$/);
  });
});

test('no unit file: an error naming where it was looked for and what to do', async () => {
  await withRoot({}, async (r) => {
    const plan = await new DockerNode({ root: r.dir }).planConfig(REQ);
    assert.equal(plan.changes.length, 0);
    assert.equal(plan.errors[0]?.code, 'ERR_CRI_DOCKERD_UNIT');
    assert.match(plan.errors[0]!.message, /no cri-docker\.service in .*etc\/systemd\/system, .*lib\/systemd\/system, .*usr\/lib\/systemd\/system/);
    assert.match(plan.errors[0]!.hint ?? '', /install cri-dockerd/);
  });
});

test('a later drop-in setting ExecStart is warned about; a dry run shows the diff and writes nothing', async () => {
  await withRoot({
    'lib/systemd/system/cri-docker.service': UNIT,
    'etc/systemd/system/cri-docker.service.d/90-mine.conf': '[Service]\nExecStart=\nExecStart=/usr/bin/cri-dockerd --x\n',
  }, async (r) => {
    const plan = await new DockerNode({ root: r.dir }).planConfig(REQ);
    assert.ok(plan.warnings.some((w) => /90-mine\.conf also sets ExecStart/.test(w)), plan.warnings.join('\n'));
    const [applied] = await applyFileChanges(plan.changes, { dryRun: true });
    assert.match(applied!.diff, /\+ExecStart=\/usr\/bin\/cri-dockerd/);
    assert.equal(await r.read(DROP_IN), null);
  });
});

test('resolveNode: a docker runtime picks the cri-dockerd node', async () => {
  const { node } = await resolveNode({ runtime: { kind: 'docker', source: 'given', evidence: '--docker' } });
  assert.equal(node.runtime, 'docker');
  assert.equal(node.title, 'Docker Engine (cri-dockerd)');
});
