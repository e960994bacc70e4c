/**
 * Planning on config fixtures. Where the containerd installed here (1.6) can judge the result,
 * `containerd config dump` is the oracle: it prints the merged configuration containerd would run
 * with, so "the sandbox image is ours and the user's SystemdCgroup survived" is containerd's word,
 * not ours. containerd 2.x plans are checked on their content (no 2.x binary here).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyConfigPlan } from '../../../src/node/containerd/apply.js';
import { ContainerdConfigError } from '../../../src/node/containerd/errors.js';
import { planContainerdConfig, type ContainerdConfigRequest } from '../../../src/node/containerd/plan.js';
import { getPath, parseToml } from '../../../src/node/containerd/toml.js';
import { dumped, fixture, type Fixture } from './fixtures.js';

const PAUSE = 'registry.k8s.io/pause:3.9';
const V16 = '1.6.20';
const V21 = '2.1.4';

function request(f: Fixture, over: Partial<ContainerdConfigRequest> = {}): ContainerdConfigRequest {
  return {
    configPath: f.path('config.toml'),
    hostsDir: f.path('certs.d'),
    registries: ['registry.k8s.io', 'docker.io'],
    mirror: { url: 'http://127.0.0.1:5000' },
    sandboxImage: PAUSE,
    containerdVersion: V16,
    ...over,
  };
}

const DEBIAN_LIKE = `version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = true
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
`;

const runcOptions = (cri: unknown) => getPath(cri as never, ['containerd', 'runtimes', 'runc', 'options', 'SystemdCgroup']);

test('containerd 1.6 really replaces the whole CRI table with an imported one (why we edit in place)', async () => {
  const f = await fixture({
    'config.toml': DEBIAN_LIKE.replace('version = 2', 'version = 2\nimports = ["{{dir}}/drop.toml"]'),
    'drop.toml': `version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "${PAUSE}"\n`,
  });
  try {
    const d = await dumped(f.path('config.toml'));
    assert.equal(d.sandboxImage, PAUSE);
    // The user's settings are gone: a drop-in alone would have broken this node.
    assert.equal(runcOptions(d.cri), false);
    assert.equal(getPath(d.cri as never, ['cni', 'bin_dir']), '/opt/cni/bin');
  } finally {
    await f.cleanup();
  }
});

test('no config file (1.6): main config created with one import, drop-in holds both keys', async () => {
  const f = await fixture();
  try {
    const plan = await planContainerdConfig(request(f));
    assert.deepEqual(plan.errors, []);
    assert.equal(plan.configVersion, 2);
    assert.deepEqual(
      plan.changes.map((c) => [c.role, c.kind, c.path.slice(f.dir.length)]),
      [
        ['hosts', 'create', '/certs.d/docker.io/hosts.toml'],
        ['hosts', 'create', '/certs.d/registry.k8s.io/hosts.toml'],
        ['drop-in', 'create', '/conf.d/airgap.toml'],
        ['main-config', 'create', '/config.toml'],
      ],
    );
    assert.ok(plan.notes.some((n) => /does not exist/.test(n)));
    assert.equal(plan.restartNeeded, true);
    await applyConfigPlan(plan);
    const d = await dumped(f.path('config.toml'));
    assert.equal(d.sandboxImage, PAUSE);
    assert.equal(d.configPath, f.path('certs.d'));
  } finally {
    await f.cleanup();
  }
});

test('v2 without a CRI table (1.6): drop-in plus one imports line, nothing else in the file moves', async () => {
  const original = 'version = 2\nroot = "/var/lib/containerd"\n\n[grpc]\n  address = "/run/containerd/containerd.sock"\n';
  const f = await fixture({ 'config.toml': original });
  try {
    const plan = await planContainerdConfig(request(f));
    const main = plan.changes.find((c) => c.role === 'main-config')!;
    assert.equal(main.after, original.replace('root =', `imports = ["${f.path('conf.d/airgap.toml')}"]\nroot =`));
    await applyConfigPlan(plan);
    const d = await dumped(f.path('config.toml'));
    assert.equal(d.sandboxImage, PAUSE);
    assert.equal(d.configPath, f.path('certs.d'));
    assert.equal(getPath(d.root as never, ['grpc', 'address']), '/run/containerd/containerd.sock');
  } finally {
    await f.cleanup();
  }
});

test('v2 with a CRI table (1.6): keys set in the user file in place, their settings survive, no drop-in', async () => {
  const f = await fixture({ 'config.toml': DEBIAN_LIKE });
  try {
    const plan = await planContainerdConfig(request(f));
    assert.deepEqual(plan.changes.map((c) => c.role), ['hosts', 'hosts', 'main-config']);
    assert.ok(plan.notes.some((n) => /replaces a plugin's whole table/.test(n)));
    assert.equal(plan.effective.sandboxImage?.value, PAUSE);
    assert.equal(plan.effective.sandboxImage?.file, f.path('config.toml'));
    await applyConfigPlan(plan);
    assert.equal(await f.read('conf.d/airgap.toml'), null);
    const d = await dumped(f.path('config.toml'));
    assert.equal(d.sandboxImage, PAUSE);
    assert.equal(d.configPath, f.path('certs.d'));
    assert.equal(runcOptions(d.cri), true);
    assert.equal(getPath(d.cri as never, ['cni', 'bin_dir']), '/usr/lib/cni');
  } finally {
    await f.cleanup();
  }
});

test('legacy mirrors: refused with the files, lines and the fix; apply writes nothing', async () => {
  const f = await fixture({
    'config.toml': `${DEBIAN_LIKE}
[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
  endpoint = ["https://mirror.corp"]
[plugins."io.containerd.grpc.v1.cri".registry.mirrors."quay.io"]
  endpoint = ["https://quay-mirror.corp"]
`,
  });
  try {
    const before = await f.snapshot();
    const plan = await planContainerdConfig(request(f));
    assert.equal(plan.errors.length, 1);
    const err = plan.errors[0]!;
    assert.equal(err.code, 'ERR_CONTAINERD_LEGACY_MIRRORS');
    assert.equal(err.kind, 'usage');
    assert.match(err.message, /docker\.io \(.*config\.toml:13\), quay\.io \(.*config\.toml:15\)/);
    assert.match(err.message, /cannot|refuses/);
    assert.match(err.hint!, /certs\.d\/<registry>\/hosts\.toml/);
    assert.match(err.hint!, /delete the \[plugins\."io\.containerd\.grpc\.v1\.cri"\.registry\.mirrors\."<registry>"\] tables from .*config\.toml/);
    await assert.rejects(applyConfigPlan(plan), (e: unknown) => e === err);
    await assert.rejects(applyConfigPlan(plan, { dryRun: true }), (e: unknown) => e === err);
    assert.deepEqual(await f.snapshot(), before);
  } finally {
    await f.cleanup();
  }
});

test('what containerd 1.6 rejects next to config_path is exactly what we refuse', async () => {
  // configs.tls: refused on 1.x (containerd says "`configs.tls` cannot be set"), a warning on 2.x.
  const tls = `${DEBIAN_LIKE}[plugins."io.containerd.grpc.v1.cri".registry.configs."r.corp".tls]\n  insecure_skip_verify = true\n`;
  // configs.auth and an empty mirrors table are accepted by containerd: no refusal.
  const fine = `${DEBIAN_LIKE}[plugins."io.containerd.grpc.v1.cri".registry.mirrors]\n[plugins."io.containerd.grpc.v1.cri".registry.configs."r.corp".auth]\n  username = "u"\n`;
  for (const [text, v, code] of [
    [tls, V16, 'ERR_CONTAINERD_LEGACY_MIRRORS'],
    [tls, V21, undefined],
    [fine, V16, undefined],
  ] as const) {
    const f = await fixture({ 'config.toml': text });
    try {
      const plan = await planContainerdConfig(request(f, { containerdVersion: v }));
      assert.deepEqual(plan.errors.map((e) => e.code), code ? [code] : [], `${v} ${text.slice(-60)}`);
      if (v === V21) assert.ok(plan.warnings.some((w) => /configs\.<host>\.tls/.test(w)));
    } finally {
      await f.cleanup();
    }
  }
});

test("a config_path the user set is respected: hosts.toml go there, it is not overridden", async () => {
  const f = await fixture({
    'config.toml': `${DEBIAN_LIKE}[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{{dir}}/mine.d"\n`,
  });
  try {
    const plan = await planContainerdConfig(request(f, { hostsDir: undefined }));
    assert.equal(plan.hostsDir, f.path('mine.d'));
    assert.equal(plan.hostsDirSource, 'configured');
    assert.ok(plan.notes.some((n) => n.includes(`config_path is already set to ${f.path('mine.d')}`)));
    assert.deepEqual(
      plan.changes.map((c) => c.path.slice(f.dir.length)),
      ['/mine.d/docker.io/hosts.toml', '/mine.d/registry.k8s.io/hosts.toml', '/config.toml'],
    );
    const main = plan.changes.find((c) => c.role === 'main-config')!;
    assert.equal(main.reason, `sandbox image → ${PAUSE}`);
    // The same directory spelled differently is not a conflict; a different one is, said as such.
    assert.equal((await planContainerdConfig(request(f, { hostsDir: f.path('mine.d') + '/' }))).hostsDir, f.path('mine.d'));
    await assert.rejects(
      planContainerdConfig(request(f, { hostsDir: f.path('other.d') })),
      (e: unknown) => e instanceof ContainerdConfigError && e.code === 'ERR_CONTAINERD_HOSTS_DIR_CONFLICT' && /leave out --hosts-dir/.test(e.hint ?? ''),
    );
  } finally {
    await f.cleanup();
  }
});

test('existing imports (1.6): a user drop-in that defines the CRI table is the one edited', async () => {
  const f = await fixture({
    'config.toml': 'version = 2\nimports = ["{{dir}}/conf.d/*.toml"]\n',
    'conf.d/10-runtime.toml': 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n',
  });
  try {
    const plan = await planContainerdConfig(request(f));
    assert.deepEqual(
      plan.changes.map((c) => [c.role, c.path.slice(f.dir.length)]),
      [
        ['hosts', '/certs.d/docker.io/hosts.toml'],
        ['hosts', '/certs.d/registry.k8s.io/hosts.toml'],
        ['user-config', '/conf.d/10-runtime.toml'],
      ],
    );
    await applyConfigPlan(plan);
    const d = await dumped(f.path('config.toml'));
    assert.equal(d.sandboxImage, PAUSE);
    assert.equal(d.configPath, f.path('certs.d'));
    assert.equal(runcOptions(d.cri), true);
    // The backup must not be picked up by the *.toml import glob.
    const names = [...(await f.snapshot()).keys()].filter((k) => k.startsWith('conf.d/'));
    assert.ok(names.some((n) => /10-runtime\.toml\.airgap-backup-\d{8}T\d{6}Z$/.test(n)), names.join());
    assert.ok(names.every((n) => n === 'conf.d/10-runtime.toml' || !n.endsWith('.toml')), names.join());
  } finally {
    await f.cleanup();
  }
});

test('containerd 2.x, v3 config importing conf.d/*.toml: only our drop-in, with the version 3 keys', async () => {
  const main = "version = 3\nimports = ['{{dir}}/conf.d/*.toml']\n\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\n  SystemdCgroup = true\n";
  const f = await fixture({ 'config.toml': main });
  try {
    const plan = await planContainerdConfig(request(f, { containerdVersion: V21, sandboxImage: 'registry.k8s.io/pause:3.10' }));
    assert.deepEqual(plan.changes.map((c) => c.role), ['hosts', 'hosts', 'drop-in']);
    const dropIn = parseToml(plan.changes[2]!.after).root;
    assert.equal(dropIn.version, 3);
    assert.equal(getPath(dropIn, ['plugins', 'io.containerd.cri.v1.images', 'pinned_images', 'sandbox']), 'registry.k8s.io/pause:3.10');
    assert.equal(getPath(dropIn, ['plugins', 'io.containerd.cri.v1.images', 'registry', 'config_path']), f.path('certs.d'));
    assert.equal(getPath(dropIn, ['plugins', 'io.containerd.grpc.v1.cri']), undefined);
    assert.equal(plan.effective.sandboxImage?.file, f.path('conf.d/airgap.toml'));
  } finally {
    await f.cleanup();
  }
});

test('containerd 2.x, v2 config: the drop-in stays version 2 (never newer than the root), a note says it is migrated', async () => {
  const f = await fixture({ 'config.toml': DEBIAN_LIKE });
  try {
    const plan = await planContainerdConfig(request(f, { containerdVersion: V21 }));
    assert.deepEqual(plan.changes.map((c) => c.role), ['hosts', 'hosts', 'drop-in', 'main-config']);
    const dropIn = parseToml(plan.changes[2]!.after).root;
    assert.equal(dropIn.version, 2);
    assert.equal(getPath(dropIn, ['plugins', 'io.containerd.grpc.v1.cri', 'sandbox_image']), PAUSE);
    // 2.x merges key by key: the user's file only gains the import.
    const main = plan.changes[3]!;
    assert.equal(main.after, DEBIAN_LIKE.replace('version = 2\n', `version = 2\nimports = ["${f.path('conf.d/airgap.toml')}"]\n`));
    assert.ok(plan.notes.some((n) => /migrates it at every start/.test(n)));
  } finally {
    await f.cleanup();
  }
});

test('containerd 2.x: a user file loaded after our drop-in that sets the sandbox image is edited too', async () => {
  const f = await fixture({
    'config.toml': 'version = 2\nimports = ["{{dir}}/conf.d/*.toml"]\n',
    'conf.d/zz-site.toml': 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.8"\n',
  });
  try {
    const plan = await planContainerdConfig(request(f, { containerdVersion: V21 }));
    const site = plan.changes.find((c) => c.path.endsWith('zz-site.toml'))!;
    assert.equal(site.role, 'user-config');
    assert.match(site.reason, /loaded after .*airgap\.toml and would win/);
    assert.equal(plan.effective.sandboxImage?.value, PAUSE);
  } finally {
    await f.cleanup();
  }
});

test('version 1 and a version 3 file under containerd 1.x are refused with the fix', async () => {
  for (const [text, code, hint] of [
    ['[plugins.cri]\n  sandbox_image = "x"\n', 'ERR_CONTAINERD_CONFIG_V1', /containerd config default/],
    ['version = 1\n', 'ERR_CONTAINERD_CONFIG_V1', /containerd config default/],
    ['version = 3\n', 'ERR_CONTAINERD_CONFIG_VERSION', /version 2 configuration for containerd 1\.x/],
  ] as const) {
    const f = await fixture({ 'config.toml': text });
    try {
      await assert.rejects(
        planContainerdConfig(request(f)),
        (e: unknown) => e instanceof ContainerdConfigError && e.code === code && e.kind === 'usage' && hint.test(e.hint ?? ''),
        text,
      );
    } finally {
      await f.cleanup();
    }
  }
  const f = await fixture({ 'config.toml': 'version = 1\n' });
  try {
    await assert.rejects(planContainerdConfig(request(f, { containerdVersion: V21 })), (e: unknown) => /containerd config migrate/.test((e as ContainerdConfigError).hint ?? ''));
  } finally {
    await f.cleanup();
  }
});

test('hosts.toml: docker.io upstream, path prefix, CA and skip_verify; names normalised', async () => {
  const f = await fixture({ 'certs.d/quay.io/hosts.toml': 'server = "https://quay.io"\n' });
  try {
    const plan = await planContainerdConfig(
      request(f, {
        registries: ['Registry.K8s.io', 'index.docker.io', 'docker.io', 'quay.io', 'registry.local:5000'],
        mirror: { url: 'https://node-registry:5443/', pathPrefix: '/mirror/', caFile: f.path('ca.pem'), skipVerify: true },
      }),
    );
    assert.deepEqual(plan.registries, ['docker.io', 'quay.io', 'registry.k8s.io', 'registry.local:5000']);
    const docker = parseToml(plan.changes.find((c) => c.path.endsWith('/docker.io/hosts.toml'))!.after).root;
    assert.equal(docker.server, 'https://registry-1.docker.io');
    assert.deepEqual(docker.host, {
      'https://node-registry:5443/v2/mirror/docker.io': {
        capabilities: ['pull', 'resolve'],
        override_path: true,
        ca: f.path('ca.pem'),
        skip_verify: true,
      },
    });
    assert.ok(plan.changes.some((c) => c.path === f.path('certs.d/registry.local:5000/hosts.toml')));
    assert.ok(plan.warnings.some((w) => w.includes(`${f.path('certs.d/quay.io/hosts.toml')} exists and was not written by airgap`)));
  } finally {
    await f.cleanup();
  }
  const g = await fixture();
  try {
    for (const [over, code] of [
      [{ registries: ['https://quay.io'] }, 'ERR_CONTAINERD_REGISTRY_NAME'],
      [{ mirror: { url: '127.0.0.1:5000' } }, 'ERR_CONTAINERD_MIRROR_URL'],
      [{ mirror: { url: 'http://127.0.0.1:5000/v2' } }, 'ERR_CONTAINERD_MIRROR_URL'],
      [{ mirror: { url: 'http://u:secret@127.0.0.1:5000' } }, 'ERR_CONTAINERD_MIRROR_URL'],
    ] as const) {
      await assert.rejects(planContainerdConfig(request(g, over as Partial<ContainerdConfigRequest>)), (e: unknown) => {
        assert.ok(e instanceof ContainerdConfigError);
        assert.equal(e.code, code);
        assert.ok(!e.message.includes('secret'), 'no password in messages');
        return true;
      });
    }
  } finally {
    await g.cleanup();
  }
});

test('a _default, wildcard or host_port_ directory in the hosts dir is warned about', async () => {
  const f = await fixture({
    'certs.d/_default/hosts.toml': 'server = "https://mirror.corp"\n',
    'certs.d/*/hosts.toml': '',
    'certs.d/registry.local_5000_/hosts.toml': '',
  });
  try {
    const plan = await planContainerdConfig(request(f, { registries: ['registry.k8s.io', 'registry.local:5000'] }));
    assert.ok(plan.warnings.some((w) => /_default applies to every registry without its own directory/.test(w)));
    assert.ok(plan.warnings.some((w) => /does not expand wildcards/.test(w)));
    assert.ok(plan.warnings.some((w) => /registry\.local_5000_ exists and containerd reads it before/.test(w)));
    const empty = await fixture();
    try {
      assert.deepEqual((await planContainerdConfig(request(empty))).warnings, []);
    } finally {
      await empty.cleanup();
    }
  } finally {
    await f.cleanup();
  }
});

test('re-plans: a new registry only adds a hosts.toml (no restart); a new pause edits the config (restart)', async () => {
  const f = await fixture({ 'config.toml': DEBIAN_LIKE });
  try {
    await applyConfigPlan(await planContainerdConfig(request(f)));
    const same = await planContainerdConfig(request(f));
    assert.deepEqual(same.changes, []);
    assert.equal(same.restartNeeded, false);
    assert.equal(same.unchanged.length, 3);

    const more = await planContainerdConfig(request(f, { registries: ['registry.k8s.io', 'docker.io', 'quay.io'] }));
    assert.deepEqual(more.changes.map((c) => [c.kind, c.path.slice(f.dir.length)]), [['create', '/certs.d/quay.io/hosts.toml']]);
    assert.equal(more.restartNeeded, false);

    const newer = await planContainerdConfig(request(f, { sandboxImage: 'registry.k8s.io/pause:3.10' }));
    assert.deepEqual(newer.changes.map((c) => c.role), ['main-config']);
    assert.equal(newer.restartNeeded, true);
    const d = newer.changes[0]!;
    assert.equal(d.after, d.before!.replace(PAUSE, 'registry.k8s.io/pause:3.10'));
  } finally {
    await f.cleanup();
  }
});
