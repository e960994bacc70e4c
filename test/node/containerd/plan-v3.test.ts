/**
 * containerd 2.x: a version 3 configuration — as `containerd config default` of containerd 2.1
 * writes it (containerd's docs/cri/config.md layout; containerd 2 is not packaged for these
 * machines, so the documented format is the oracle) — gets exactly the version 3 keys:
 * `[plugins.'io.containerd.cri.v1.images'.pinned_images] sandbox` and `.registry] config_path`,
 * never the removed `mirrors`/`configs`, never the version 2 CRI plugin; 2.2's built-in
 * `config_path` list is understood.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { planContainerdConfig, type ContainerdConfigRequest } from '../../../src/node/containerd/plan.js';
import { getPath, isTable, parseToml, type TomlTable } from '../../../src/node/containerd/toml.js';
import { fixture, type Fixture } from './fixtures.js';

const PAUSE = 'registry.k8s.io/pause:3.9';

/** The CRI part of containerd 2.1's `containerd config default` (version 3), abridged to the tables that matter. */
const DEFAULT_V3 = `version = 3
root = '/var/lib/containerd'
state = '/run/containerd'
imports = ['{{dir}}/conf.d/*.toml']

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    disable_snapshot_annotations = true
    discard_unpacked_layers = false
    max_concurrent_downloads = 3
    image_pull_progress_timeout = '5m0s'

    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = 'registry.k8s.io/pause:3.10'

    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = ''

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          SystemdCgroup = true
`;

function request(f: Fixture, version: string, over: Partial<ContainerdConfigRequest> = {}): ContainerdConfigRequest {
  return {
    configPath: f.path('config.toml'),
    registries: ['registry.k8s.io', 'docker.io'],
    mirror: { url: 'http://127.0.0.1:5000' },
    sandboxImage: PAUSE,
    containerdVersion: version,
    ...over,
  };
}

/** Every key path (dotted) set in a TOML table. */
function keyPaths(t: TomlTable, prefix: string[] = []): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(t)) {
    if (isTable(v)) out.push(...keyPaths(v, [...prefix, k]));
    else out.push([...prefix, k].join(' > '));
  }
  return out.sort();
}

test('containerd 2.1, its default version 3 config: the drop-in holds exactly the two version 3 keys', async () => {
  const f = await fixture({ 'config.toml': DEFAULT_V3 });
  try {
    const plan = await planContainerdConfig(request(f, '2.1.4', { hostsDir: f.path('certs.d') }));
    assert.deepEqual(plan.errors, []);
    assert.equal(plan.configVersion, 3);
    const dropIn = plan.changes.find((c) => c.role === 'drop-in')!;
    const doc = parseToml(dropIn.after).root;
    assert.deepEqual(keyPaths(doc), [
      'plugins > io.containerd.cri.v1.images > pinned_images > sandbox',
      'plugins > io.containerd.cri.v1.images > registry > config_path',
      'version',
    ]);
    assert.equal(getPath(doc, ['plugins', 'io.containerd.cri.v1.images', 'pinned_images', 'sandbox']), PAUSE);
    assert.equal(getPath(doc, ['plugins', 'io.containerd.cri.v1.images', 'registry', 'config_path']), f.path('certs.d'));
    // The user's file is not touched: it already imports conf.d/*.toml, and 2.x merges key by key.
    assert.equal(plan.changes.find((c) => c.path === f.path('config.toml')), undefined);
    for (const c of plan.changes) {
      assert.doesNotMatch(c.after, /registry\.(mirrors|configs)|io\.containerd\.grpc\.v1\.cri/, c.path);
    }
    assert.equal(plan.effective.sandboxImage?.value, PAUSE);
    assert.equal(plan.effective.configPath?.value, f.path('certs.d'));
  } finally {
    await f.cleanup();
  }
});

test('containerd 2.2 reads /etc/containerd/certs.d:/etc/docker/certs.d by default: config_path is not written, hosts go to the first', async () => {
  const f = await fixture({ 'config.toml': DEFAULT_V3.replace("\n    [plugins.'io.containerd.cri.v1.images'.registry]\n      config_path = ''\n", '\n') });
  try {
    const plan = await planContainerdConfig(request(f, '2.2.0'));
    assert.deepEqual(plan.errors, []);
    assert.equal(plan.hostsDir, '/etc/containerd/certs.d');
    const dropIn = parseToml(plan.changes.find((c) => c.role === 'drop-in')!.after).root;
    assert.equal(getPath(dropIn, ['plugins', 'io.containerd.cri.v1.images', 'registry', 'config_path']), undefined);
    assert.equal(getPath(dropIn, ['plugins', 'io.containerd.cri.v1.images', 'pinned_images', 'sandbox']), PAUSE);
    assert.ok(plan.changes.filter((c) => c.role === 'hosts').every((c) => c.path.startsWith('/etc/containerd/certs.d/')));
    assert.equal(plan.effective.configPath?.value, '/etc/containerd/certs.d:/etc/docker/certs.d');
    assert.ok(plan.notes.some((n) => /by default: config_path is left unset/.test(n)), plan.notes.join('\n'));
  } finally {
    await f.cleanup();
  }
});

test('a configured config_path list: hosts.toml files go to its first directory, the list is kept', async () => {
  const f = await fixture({ 'config.toml': DEFAULT_V3.replace("config_path = ''", "config_path = '{{dir}}/a:{{dir}}/b'") });
  try {
    const plan = await planContainerdConfig(request(f, '2.1.4'));
    assert.equal(plan.hostsDir, f.path('a'));
    assert.deepEqual(plan.changes.filter((c) => c.role === 'hosts').map((c) => c.path).sort(), [f.path('a/docker.io/hosts.toml'), f.path('a/registry.k8s.io/hosts.toml')]);
    const dropIn = parseToml(plan.changes.find((c) => c.role === 'drop-in')!.after).root;
    assert.equal(getPath(dropIn, ['plugins', 'io.containerd.cri.v1.images', 'registry', 'config_path']), undefined);
  } finally {
    await f.cleanup();
  }
});

test('a version 3 config with the removed registry.mirrors is refused, naming the fix; nothing is planned that writes mirrors', async () => {
  const legacy = DEFAULT_V3 + `\n[plugins.'io.containerd.cri.v1.images'.registry.mirrors.'docker.io']\n  endpoint = ['https://mirror.corp']\n`;
  const f = await fixture({ 'config.toml': legacy });
  try {
    const plan = await planContainerdConfig(request(f, '2.1.4', { hostsDir: f.path('certs.d') }));
    assert.equal(plan.errors[0]?.code, 'ERR_CONTAINERD_LEGACY_MIRRORS');
    assert.match(plan.errors[0]!.hint ?? '', /hosts\.toml/);
  } finally {
    await f.cleanup();
  }
});
