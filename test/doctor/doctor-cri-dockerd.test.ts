/** doctor on a cri-dockerd node: runtime.pod-infra-image also reads cri-dockerd's own command line (unit + airgap's drop-in). */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runDoctor } from '../../src/doctor/doctor.js';
import { DockerNode } from '../../src/node/docker/node.js';
import { applyFileChanges } from '../../src/node/file-change.js';
import { makeBundle, makeTempDir } from '../helpers/make-bundle.js';

let work: { dir: string; cleanup(): Promise<void> };
let bundle: string;
let kubelet: string;
let root: string;

before(async () => {
  work = await makeTempDir('airgap-doctor-cri-dockerd-');
  bundle = (await makeBundle({ dir: work.dir })).path;
  kubelet = join(work.dir, 'kubelet');
  await mkdir(kubelet);
  // kubelet on cri-dockerd, no --pod-infra-container-image of its own: cri-dockerd's flag decides.
  await writeFile(join(kubelet, 'kubeadm-flags.env'), 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/cri-dockerd.sock"\n');
  root = join(work.dir, 'root');
  await mkdir(join(root, 'lib/systemd/system'), { recursive: true });
  await writeFile(join(root, 'lib/systemd/system/cri-docker.service'), '[Service]\nExecStart=/usr/bin/cri-dockerd --container-runtime-endpoint fd:// --pod-infra-container-image=registry.k8s.io/pause:3.6\n');
});
after(async () => work.cleanup());

test('cri-dockerd started with another pause: fail with the --docker --configure fix; after the drop-in: ok', async () => {
  const before = await runDoctor({ bundle, kubeletDir: kubelet, root });
  const c = before.checks.find((x) => x.id === 'runtime.pod-infra-image');
  assert.equal(c?.status, 'fail', JSON.stringify(before.checks, null, 1));
  assert.match(c!.message, /pause:3\.6 \(.*lib\/systemd\/system\/cri-docker\.service\)/);
  assert.match(c!.fix!, /--docker --configure/);
  assert.match(c!.fix!, /systemctl daemon-reload && systemctl restart cri-docker/);

  const node = new DockerNode({ root });
  await applyFileChanges((await node.planConfig({ registries: [], sandboxImage: 'registry.k8s.io/pause:3.9' })).changes);
  const afterFix = await runDoctor({ bundle, kubeletDir: kubelet, root });
  const ok = afterFix.checks.find((x) => x.id === 'runtime.pod-infra-image');
  assert.equal(ok?.status, 'ok', JSON.stringify(afterFix.checks, null, 1));
  assert.match(ok!.message, /cri-docker\.service\.d\/50-airgap\.conf/);
});
