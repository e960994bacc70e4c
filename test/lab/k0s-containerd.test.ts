/**
 * k0sContainerdConfig: the files k0s (v1.27.1 – v1.35.x) writes from /etc/k0s/containerd.d
 * drop-ins, checked as files (unit) and then by a real containerd 1.6 started on them the way k0s
 * starts it, inside a private mount namespace at k0s's paths (/etc/k0s, /var/lib/k0s, /run/k0s):
 * CRI reports the sandbox image and registry config_path that k0s's merge produces.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { K0S_DEFAULT_PAUSE, K0S_TMPFS, k0sContainerdConfig } from '../helpers/k0s-containerd.js';
import { assertNamespaceLab, inMountNamespace } from '../helpers/mount-namespace.js';
import { mergePatch, parseToml, stringifyToml } from '../helpers/toml-lite.js';
import type { K0sScenarioResult } from './ns-scenarios.js';

const MODULE = fileURLToPath(new URL('./ns-scenarios.js', import.meta.url));

describe('toml-lite', () => {
  it('reads containerd-style TOML and writes it back to the same data', () => {
    const text = `version = 2
imports = ["/a.toml", '/b.toml']
# comment
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9" # trailing
  max_concurrent_downloads = 3
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = [
      "https://a.example.com", # one
      "https://b.example.com",
    ]
[plugins.'io.containerd.grpc.v1.cri'.containerd.runtimes.runc.options]
SystemdCgroup = true
inline = { a = 1, "b.c" = 'x' }
multi = """
line1
line2"""
hex = 0x1F
[[plugins.list]]
name = "one"
[[plugins.list]]
name = "two"
`;
    const t = parseToml(text);
    const cri = (t.plugins as Record<string, Record<string, unknown>>)['io.containerd.grpc.v1.cri']!;
    assert.equal(cri.sandbox_image, 'registry.k8s.io/pause:3.9');
    assert.deepEqual((cri.registry as { mirrors: Record<string, { endpoint: string[] }> }).mirrors['docker.io']!.endpoint, ['https://a.example.com', 'https://b.example.com']);
    assert.deepEqual(parseToml(stringifyToml(t)), t);
    assert.throws(() => parseToml('a = 1\na = 2\n'), /duplicate key/);
    assert.throws(() => parseToml('[x]\n[x]\n'), /defined twice/);
  });

  it('merges like RFC 7396: tables key by key, arrays and scalars replaced', () => {
    assert.deepEqual(mergePatch({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { c: [3], e: true } }), { a: { b: 1, c: [3], e: true }, d: 'x' });
  });
});

describe('k0sContainerdConfig (files)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-k0s-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const paths = (sub: string) => ({ dropInDir: join(dir, sub, 'containerd.d'), confPath: join(dir, sub, 'containerd.toml'), runDir: join(dir, sub, 'run'), dataDir: join(dir, sub, 'data') });

  it('merges CRI drop-ins (whole files, name order) into containerd-cri.toml and imports the others', async () => {
    const p = paths('merge');
    await mkdir(p.dropInDir, { recursive: true });
    await writeFile(join(p.dropInDir, '20-pause.toml'), 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n');
    await writeFile(
      join(p.dropInDir, '10-registry.toml'),
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/k0s/containerd.d/certs.d"\n[plugins."io.containerd.internal.v1.opt"]\n  path = "/x"\n',
    );
    await writeFile(join(p.dropInDir, '30-runtime.toml'), 'version = 2\n[plugins."io.containerd.runtime.v1.linux"]\n  shim_debug = true\n');
    await writeFile(join(p.dropInDir, 'notes.txt'), 'not a drop-in');
    const c = await k0sContainerdConfig(p);
    assert.equal(c.managed, true);
    assert.deepEqual(c.merged, [join(p.dropInDir, '10-registry.toml'), join(p.dropInDir, '20-pause.toml')]);
    assert.deepEqual(c.imports, [join(p.dropInDir, '30-runtime.toml'), join(p.runDir, 'containerd-cri.toml')]);
    const conf = await readFile(p.confPath, 'utf8');
    assert.match(conf, /^# k0s_managed=true\n/);
    assert.deepEqual(parseToml(conf), { version: 2, imports: c.imports });
    const cri = parseToml(await readFile(c.criConfigPath!, 'utf8')) as { plugins: Record<string, Record<string, unknown>> };
    assert.equal(cri.plugins['io.containerd.grpc.v1.cri']!.sandbox_image, 'registry.k8s.io/pause:3.9');
    assert.deepEqual(cri.plugins['io.containerd.grpc.v1.cri']!.registry, { config_path: '/etc/k0s/containerd.d/certs.d' });
    assert.deepEqual(cri.plugins['io.containerd.internal.v1.opt'], { path: '/x' }, 'the whole drop-in is merged, not only its CRI table');
    assert.deepEqual(c.args, [`--root=${join(p.dataDir, 'containerd')}`, `--state=${join(p.runDir, 'containerd')}`, `--address=${join(p.runDir, 'containerd.sock')}`]);
  });

  it('uses the profile pause image when no drop-in sets one; leaves an unmanaged containerd.toml alone', async () => {
    const p = paths('default');
    const c = await k0sContainerdConfig(p);
    const cri = parseToml(await readFile(c.criConfigPath!, 'utf8')) as { plugins: Record<string, Record<string, unknown>> };
    assert.equal(cri.plugins['io.containerd.grpc.v1.cri']!.sandbox_image, K0S_DEFAULT_PAUSE);
    // Managed: regenerated at every start (idempotent).
    assert.equal((await k0sContainerdConfig(p)).managed, true);

    const u = paths('unmanaged');
    await mkdir(join(dir, 'unmanaged'), { recursive: true });
    const mine = 'version = 2\n# my own config\n';
    await writeFile(u.confPath, mine);
    const cu = await k0sContainerdConfig(u);
    assert.equal(cu.managed, false);
    assert.equal(await readFile(u.confPath, 'utf8'), mine);
    assert.equal(existsSync(join(u.runDir, 'containerd-cri.toml')), false);
    // The marker anywhere on its own line keeps it managed.
    const m = paths('marker');
    await mkdir(join(dir, 'marker'), { recursive: true });
    await writeFile(m.confPath, '\n# k0s_managed=true\nversion = 2\n');
    assert.equal((await k0sContainerdConfig(m)).managed, true);
  });
});

describe('containerd 1.6 started as k0s starts it', () => {
  before(assertNamespaceLab);

  it('has k0s default pause image without drop-ins', async () => {
    const r = await inMountNamespace<K0sScenarioResult>({ tmpfs: K0S_TMPFS, module: MODULE, fn: 'k0sNode', arg: { dropIns: {} } });
    assert.equal(r.managed, true);
    assert.equal(r.socket, '/run/k0s/containerd.sock');
    assert.equal(r.sandboxImage, K0S_DEFAULT_PAUSE);
    assert.deepEqual(r.imports, ['/run/k0s/containerd-cri.toml']);
  });

  it('takes sandbox image and config_path from CRI drop-ins, merged with each other', async () => {
    const r = await inMountNamespace<K0sScenarioResult>({
      tmpfs: K0S_TMPFS,
      module: MODULE,
      fn: 'k0sNode',
      arg: {
        dropIns: {
          'airgap.toml': 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/k0s/containerd.d/certs.d"\n',
          'tuning.toml': 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  max_concurrent_downloads = 7\n',
        },
      },
    });
    assert.deepEqual(r.merged, ['/etc/k0s/containerd.d/airgap.toml', '/etc/k0s/containerd.d/tuning.toml']);
    assert.equal(r.sandboxImage, 'registry.k8s.io/pause:3.9');
    assert.equal(r.configPath, '/etc/k0s/containerd.d/certs.d');
    assert.equal(r.maxConcurrentDownloads, 7, 'a second CRI drop-in merges with the first instead of replacing it');
  });

  it('ignores drop-ins when containerd.toml is not k0s managed (containerd falls back to its own pause)', async () => {
    const r = await inMountNamespace<K0sScenarioResult>({
      tmpfs: K0S_TMPFS,
      module: MODULE,
      fn: 'k0sNode',
      arg: {
        containerdToml: 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = "native"\n[plugins."io.containerd.grpc.v1.cri".cni]\n  bin_dir = "/var/lib/k0s/lab-cni/bin"\n  conf_dir = "/var/lib/k0s/lab-cni/conf"\n',
        dropIns: { 'airgap.toml': 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n' },
      },
    });
    assert.equal(r.managed, false);
    assert.equal(r.criToml, undefined);
    assert.notEqual(r.sandboxImage, 'registry.k8s.io/pause:3.9');
    assert.notEqual(r.sandboxImage, K0S_DEFAULT_PAUSE);
    assert.match(r.sandboxImage, /pause:3\.\d+$/, "containerd's built-in default");
  });
});
