/**
 * CriClient against a real containerd 1.6 (lab), inside `unshare -n`: pulls go through a
 * hosts.toml mirror to a real registry that wants basic auth, so the credentials we encode are
 * the only way the pull can succeed.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CriCallError, CriClient } from '../../src/cri/index.js';
import {
  assertIsolatedNetwork,
  generateImages,
  seedRegistry,
  startContainerd,
  startRegistry,
  type GeneratedImage,
  type LabContainerd,
  type LabRegistry,
} from '../../scripts/lab/index.js';

const PAUSE = 'registry.k8s.io/pause:3.9';
const SANDBOX = 'registry.k8s.io/pause:3.9-airgap-test';

let ctd: LabContainerd;
let reg: LabRegistry;
let pause: GeneratedImage;
let cri: CriClient;

before(async () => {
  await assertIsolatedNetwork();
  const [gen, r, c] = await Promise.all([
    generateImages({ refs: [{ ref: PAUSE }] }),
    startRegistry({ auth: 'basic' }),
    startContainerd({ sandboxImage: SANDBOX }),
  ]);
  [reg, ctd] = [r, c];
  pause = gen.images[0]!;
  await seedRegistry(reg, gen);
  await mkdir(join(ctd.hostsDir, 'registry.k8s.io'), { recursive: true });
  await writeFile(
    join(ctd.hostsDir, 'registry.k8s.io', 'hosts.toml'),
    `server = "https://registry.k8s.io"\n\n[host."${reg.url}/v2/registry.k8s.io"]\n  capabilities = ["pull", "resolve"]\n  override_path = true\n`,
  );
  cri = new CriClient(`unix://${ctd.socket}`, { pullTimeoutMs: 30_000 });
});

after(async () => {
  await Promise.all([ctd?.stop(), reg?.stop()]);
});

test('version: containerd 1.6 answers on runtime.v1', async () => {
  const v = await cri.version();
  assert.equal(v.runtimeName, 'containerd');
  assert.match(v.runtimeVersion, /^v?1\.6\./);
  assert.equal(v.runtimeApiVersion, 'v1');
  assert.equal(cri.api, 'v1');
});

test('status: RuntimeReady, and verbose info shows the configuration containerd runs with', async () => {
  const quiet = await cri.status();
  assert.ok(quiet.conditions.some((c) => c.type === 'RuntimeReady' && c.status), JSON.stringify(quiet.conditions));
  assert.deepEqual(quiet.info, {});
  const s = await cri.status({ verbose: true });
  const config = s.info.config as { sandboxImage: string; registry: { configPath: string } };
  assert.equal(config.sandboxImage, SANDBOX);
  assert.equal(config.registry.configPath, ctd.hostsDir);
});

test('pullImage through the hosts.toml mirror needs the credentials; list, status and remove see the image', async () => {
  // Wrong password: the mirror refuses, containerd falls back to registry.k8s.io, which is unreachable here.
  const wrong = 'not-the-password';
  await assert.rejects(cri.pullImage(PAUSE, { auth: { username: reg.username!, password: wrong }, timeoutMs: 20_000 }), (e: unknown) => {
    assert.ok(e instanceof CriCallError, String(e));
    assert.equal(e.code, 'ERR_CRI_CALL');
    assert.equal(e.kind, 'runtime');
    assert.match(e.message, /PullImage/);
    assert.ok(!JSON.stringify({ m: e.message, d: e.details }).includes(wrong), 'no secret in the error');
    return true;
  });
  assert.equal(await cri.imageStatus(PAUSE), undefined);

  const id = await cri.pullImage(PAUSE, { auth: { username: reg.username!, password: reg.password! } });
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  const status = await cri.imageStatus(PAUSE);
  assert.ok(status);
  assert.equal(status.id, id);
  assert.deepEqual(status.repoTags, [PAUSE]);
  assert.deepEqual(status.repoDigests, [`registry.k8s.io/pause@${pause.digest}`]);
  assert.ok(status.size > 0);
  assert.equal(status.pinned, false);

  const listed = await cri.listImages();
  assert.deepEqual(listed.find((i) => i.id === id), status);

  await cri.removeImage(PAUSE);
  assert.equal(await cri.imageStatus(PAUSE), undefined);
  assert.equal((await cri.listImages()).find((i) => i.id === id), undefined);
  await cri.removeImage(PAUSE); // idempotent, as the API promises
});
