import assert from 'node:assert/strict';
import { chmod, readdir, stat, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { applyConfigPlan, describeApplyResult, renderDiff } from '../../../src/node/containerd/apply.js';
import { ContainerdConfigError } from '../../../src/node/containerd/errors.js';
import { planContainerdConfig, type ContainerdConfigRequest } from '../../../src/node/containerd/plan.js';
import { fixture, type Fixture } from './fixtures.js';

const CONFIG = `version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
`;

function request(f: Fixture, over: Partial<ContainerdConfigRequest> = {}): ContainerdConfigRequest {
  return {
    configPath: f.path('etc/config.toml'),
    hostsDir: f.path('etc/certs.d'),
    registries: ['registry.k8s.io', 'docker.io'],
    mirror: { url: 'http://127.0.0.1:5000' },
    sandboxImage: 'registry.k8s.io/pause:3.9',
    containerdVersion: '1.6.20',
    ...over,
  };
}

test('dry run: changes nothing, returns every change as a unified diff', async () => {
  const f = await fixture({ 'etc/config.toml': CONFIG });
  try {
    const before = await f.snapshot();
    const plan = await planContainerdConfig(request(f));
    const r = await applyConfigPlan(plan, { dryRun: true });
    assert.deepEqual(await f.snapshot(), before);
    assert.equal(r.dryRun, true);
    assert.equal(r.changes.length, 3);
    for (const c of r.changes) {
      assert.equal(c.diff, renderDiff(c));
      assert.equal(c.backup, undefined);
    }
    const main = r.changes.find((c) => c.role === 'main-config')!;
    assert.match(main.diff, new RegExp(`^--- a${f.path('etc/config.toml')}\n\\+\\+\\+ b${f.path('etc/config.toml')}\n@@ `));
    assert.match(main.diff, /^-  sandbox_image = "registry.k8s.io\/pause:3.6"$/m);
    assert.match(main.diff, /^\+  sandbox_image = "registry.k8s.io\/pause:3.9"$/m);
    assert.match(main.diff, /^\+    config_path = ".*etc\/certs.d"$/m);
    const hosts = r.changes.find((c) => c.role === 'hosts')!;
    assert.match(hosts.diff, /^--- \/dev\/null\n/);
    const lines = describeApplyResult(r);
    assert.ok(lines.every((l) => !/^(created|updated) /.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^would update .*config\.toml/.test(l)));
    assert.ok(lines.some((l) => /would need to be restarted.*systemctl restart containerd/.test(l)));
  } finally {
    await f.cleanup();
  }
});

test('apply: atomic writes, backups of what was replaced, modes kept or 0644/0755, and a re-run changes nothing', async () => {
  const f = await fixture({ 'etc/config.toml': CONFIG });
  const oldUmask = process.umask(0o077);
  try {
    await chmod(f.path('etc/config.toml'), 0o600);
    const plan = await planContainerdConfig(request(f));
    const now = new Date('2026-03-04T05:06:07.890Z');
    const r = await applyConfigPlan(plan, { now });
    assert.equal(r.nothingChanged, false);
    assert.equal(r.restartNeeded, true);

    const main = r.changes.find((c) => c.role === 'main-config')!;
    assert.equal(main.backup, f.path('etc/config.toml.airgap-backup-20260304T050607Z'));
    assert.equal(await f.read('etc/config.toml.airgap-backup-20260304T050607Z'), CONFIG);
    assert.equal(await f.read('etc/config.toml'), main.after);
    // The user's file keeps its mode; new files and directories are 0644 / 0755 despite umask 077.
    assert.equal((await stat(f.path('etc/config.toml'))).mode & 0o777, 0o600);
    assert.equal((await stat(f.path('etc/config.toml.airgap-backup-20260304T050607Z'))).mode & 0o777, 0o600);
    assert.equal((await stat(f.path('etc/certs.d/docker.io/hosts.toml'))).mode & 0o777, 0o644);
    assert.equal((await stat(f.path('etc/certs.d'))).mode & 0o777, 0o755);
    assert.equal((await stat(f.path('etc/certs.d/docker.io'))).mode & 0o777, 0o755);
    // No temp files left behind.
    const all = [...(await f.snapshot()).keys()];
    assert.ok(all.every((p) => !p.includes('airgap-tmp')), all.join());

    const again = await applyConfigPlan(await planContainerdConfig(request(f)), { now });
    assert.equal(again.nothingChanged, true);
    assert.equal(again.restartNeeded, false);
    assert.deepEqual(describeApplyResult(again), ['containerd configuration: nothing changed (already configured)']);
    // Only one backup: the re-run wrote nothing.
    assert.deepEqual((await readdir(f.path('etc'))).filter((n) => n.includes('backup')), ['config.toml.airgap-backup-20260304T050607Z']);

    // A second real change on the same second gets its own backup name.
    const newer = await applyConfigPlan(await planContainerdConfig(request(f, { sandboxImage: 'registry.k8s.io/pause:3.10' })), { now });
    assert.equal(newer.changes[0]!.backup, f.path('etc/config.toml.airgap-backup-20260304T050607Z.1'));
    assert.equal(newer.restartNeeded, true);
  } finally {
    process.umask(oldUmask);
    await f.cleanup();
  }
});

test('only hosts.toml changed: no restart needed, and the result says so', async () => {
  const f = await fixture({ 'etc/config.toml': CONFIG });
  try {
    await applyConfigPlan(await planContainerdConfig(request(f)));
    const r = await applyConfigPlan(await planContainerdConfig(request(f, { registries: ['registry.k8s.io', 'docker.io', 'quay.io'] })));
    assert.deepEqual(r.changes.map((c) => c.role), ['hosts']);
    assert.equal(r.restartNeeded, false);
    assert.ok(describeApplyResult(r).some((l) => /no containerd restart needed: hosts\.toml files are read at every pull/.test(l)));
  } finally {
    await f.cleanup();
  }
});

test('a file changed after planning: refused, and what was already written is put back', async () => {
  const f = await fixture({ 'etc/config.toml': CONFIG });
  try {
    const plan = await planContainerdConfig(request(f));
    const edited = CONFIG + '# edited by someone else\n';
    await writeFile(f.path('etc/config.toml'), edited);
    await assert.rejects(
      applyConfigPlan(plan),
      (e: unknown) => e instanceof ContainerdConfigError && e.code === 'ERR_CONTAINERD_CONFIG_CHANGED' && /run airgap load --configure-containerd again/.test(e.hint ?? ''),
    );
    assert.equal(await f.read('etc/config.toml'), edited);
    // The hosts.toml files written before the check are rolled back.
    assert.equal(await f.read('etc/certs.d/docker.io/hosts.toml'), null);
    assert.equal(await f.read('etc/certs.d/registry.k8s.io/hosts.toml'), null);
  } finally {
    await f.cleanup();
  }
});

test('a write that fails part-way: an io error naming the file, earlier files restored', async () => {
  const f = await fixture({ 'etc/config.toml': CONFIG, 'etc/certs.d/registry.k8s.io/hosts.toml': 'server = "https://registry.k8s.io"\n' });
  try {
    const plan = await planContainerdConfig(request(f));
    // docker.io's directory cannot be created: a file sits where it should go.
    await writeFile(f.path('etc/certs.d/docker.io'), 'in the way');
    const order = plan.changes.map((c) => c.path);
    assert.ok(order.indexOf(f.path('etc/certs.d/docker.io/hosts.toml')) < order.indexOf(f.path('etc/config.toml')));
    await assert.rejects(
      applyConfigPlan(plan),
      (e: unknown) =>
        e instanceof ContainerdConfigError && e.code === 'ERR_CONTAINERD_CONFIG_WRITE' && e.kind === 'io' && e.message.includes('docker.io/hosts.toml'),
    );
    assert.equal(await f.read('etc/config.toml'), CONFIG);
    assert.equal(await f.read('etc/certs.d/registry.k8s.io/hosts.toml'), 'server = "https://registry.k8s.io"\n');
  } finally {
    await f.cleanup();
  }
});
