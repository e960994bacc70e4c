/**
 * End to end, inside `unshare -n` (nothing but lo): a real registry holds the bundle's images
 * under the node-registry layout, a real containerd 1.6 runs on a node-like config.toml, and a CRI
 * client pulls the images by their original names through containerd's ImageService, exactly as
 * kubelet does. Only what our configuration sets up can make those pulls succeed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { applyConfigPlan } from '../../../src/node/containerd/apply.js';
import { planContainerdConfig, type ContainerdConfigRequest } from '../../../src/node/containerd/plan.js';
import {
  assertIsolatedNetwork,
  generateImages,
  KUBEADM_V1_30_14,
  seedRegistry,
  startRegistry,
  type GeneratedImages,
  type LabRegistry,
} from '../../../scripts/lab/index.js';
import { CriCallError } from '../../../src/cri/index.js';
import { startNodeContainerd, writeNodeConfig, type NodeConfig, type NodeContainerd } from './node-containerd.js';

const PAUSE = 'registry.k8s.io/pause:3.9';
const EXTRA = [{ ref: 'docker.io/library/busybox:1.36' }, { ref: 'quay.io/jetstack/cert-manager-controller:v1.14.4' }];

let reg: LabRegistry;
let gen: GeneratedImages;
let dir: string;
let node: NodeConfig;
let containerd: NodeContainerd | undefined;

before(async () => {
  await assertIsolatedNetwork();
  [reg, gen] = await Promise.all([startRegistry(), generateImages({ refs: [...KUBEADM_V1_30_14, ...EXTRA] })]);
  await seedRegistry(reg, gen);
  // Short: the socket path must fit a unix socket address.
  dir = await mkdtemp(join(tmpdir(), 'airgap-e2e-'));
  node = await writeNodeConfig(dir);
});

after(async () => {
  await containerd?.stop();
  await reg?.stop();
  if (dir && process.env.AIRGAP_LAB_KEEP !== '1') await rm(dir, { recursive: true, force: true });
});

function req(registries: string[]): ContainerdConfigRequest {
  // containerdVersion is left out: detected from the containerd installed here.
  return { configPath: node.configFile, hostsDir: join(dir, 'certs.d'), registries, mirror: { url: reg.url }, sandboxImage: PAUSE };
}

interface CriConfigInfo {
  sandboxImage: string;
  maxConcurrentDownloads: number;
  registry: { configPath: string };
}

async function criConfig(c: NodeContainerd): Promise<CriConfigInfo> {
  return (await c.cri.status({ verbose: true })).info.config as CriConfigInfo;
}

/** Requests containerd made to the registry, as "METHOD URI" from its access log. */
async function registryRequests(): Promise<string[]> {
  const log = await readFile(reg.logFile, 'utf8');
  return log
    .split('\n')
    .filter((l) => l.includes('containerd'))
    .map((l) => `${/http\.request\.method=(\S+)/.exec(l)?.[1]} ${/http\.request\.uri="?([^" ]+)/.exec(l)?.[1]}`);
}

test('CRI pulls every bundle image by its original name through the node registry; pause is the sandbox image', async () => {
  const k8sImages = gen.images.filter((i) => i.registry === 'registry.k8s.io');
  const otherImages = gen.images.filter((i) => i.registry !== 'registry.k8s.io');

  // Before: containerd's own default pause, no config_path, and an offline pull fails.
  containerd = await startNodeContainerd(node, 'containerd-1.log');
  const before = await criConfig(containerd);
  assert.notEqual(before.sandboxImage, PAUSE);
  assert.equal(before.registry.configPath, '');
  await assert.rejects(containerd.cri.pullImage(PAUSE, { timeoutMs: 20_000 }), CriCallError);

  // Configure for the registry.k8s.io images first.
  const plan = await planContainerdConfig(req(['registry.k8s.io']));
  assert.deepEqual(plan.errors, []);
  const applied = await applyConfigPlan(plan);
  assert.equal(applied.restartNeeded, true);
  // The running containerd does not see config.toml changes: the restart really is needed.
  assert.equal((await criConfig(containerd)).sandboxImage, before.sandboxImage);
  await containerd.stop();

  containerd = await startNodeContainerd(node, 'containerd-2.log');
  const cfg = await criConfig(containerd);
  assert.equal(cfg.sandboxImage, PAUSE);
  assert.equal(cfg.registry.configPath, join(dir, 'certs.d'));
  // The node's own CRI settings survived the edit.
  assert.equal(cfg.maxConcurrentDownloads, node.maxConcurrentDownloads);

  // No bundle image is in containerd (as after removing imported ones): every pull must go out.
  for (const img of gen.images) await containerd.cri.removeImage(img.ref);
  assert.deepEqual((await containerd.cri.listImages()).filter((i) => i.repoTags.some((t) => gen.images.some((g) => g.ref === t))), []);

  for (const img of k8sImages) {
    const id = await containerd.cri.pullImage(img.ref);
    const status = await containerd.cri.imageStatus(img.ref);
    assert.ok(status, img.ref);
    assert.equal(status.id, id);
    assert.ok(status.repoTags.includes(img.ref), `${img.ref}: ${status.repoTags.join()}`);
    // The digest of the generated index: these bytes came from the node registry, nowhere else.
    assert.ok(status.repoDigests.includes(`registry.k8s.io/${img.repository}@${img.digest}`), `${img.ref}: ${status.repoDigests.join()}`);
  }
  const requests = await registryRequests();
  assert.ok(
    requests.some((r) => r === 'HEAD /v2/registry.k8s.io/pause/manifests/3.9?ns=registry.k8s.io' || r === 'GET /v2/registry.k8s.io/pause/manifests/3.9?ns=registry.k8s.io'),
    requests.slice(0, 5).join('\n'),
  );

  // Registries without a hosts.toml yet fail offline...
  for (const img of otherImages) await assert.rejects(containerd.cri.pullImage(img.ref, { timeoutMs: 20_000 }), CriCallError, img.ref);

  // ...and work as soon as their hosts.toml exist: no restart, containerd reads them at each pull.
  const more = await planContainerdConfig(req(gen.images.map((i) => i.registry)));
  assert.deepEqual(more.changes.map((c) => c.role), ['hosts', 'hosts']);
  const moreApplied = await applyConfigPlan(more);
  assert.equal(moreApplied.restartNeeded, false);
  for (const img of otherImages) {
    await containerd.cri.pullImage(img.ref);
    const status = await containerd.cri.imageStatus(img.ref);
    assert.ok(status?.repoDigests.includes(`${img.registry}/${img.repository}@${img.digest}`), img.ref);
  }

  // Re-running is safe and changes nothing.
  const again = await applyConfigPlan(await planContainerdConfig(req(gen.images.map((i) => i.registry))));
  assert.equal(again.nothingChanged, true);
  assert.equal(again.restartNeeded, false);
});
