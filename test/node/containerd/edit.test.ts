import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addImport, setStringKey } from '../../../src/node/containerd/edit.js';
import { ContainerdConfigError } from '../../../src/node/containerd/errors.js';
import { V2_KEYS, V3_KEYS } from '../../../src/node/containerd/keys.js';
import { getPath, parseToml } from '../../../src/node/containerd/toml.js';

const SANDBOX = V2_KEYS.sandboxImage;
const CONFIG_PATH = V2_KEYS.configPath;

/** Lines removed and added by an edit (order kept), to assert edits are minimal. */
function lineDelta(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  let s = 0;
  while (s < a.length && s < b.length && a[s] === b[s]) s++;
  let e = 0;
  while (e < a.length - s && e < b.length - s && a[a.length - 1 - e] === b[b.length - 1 - e]) e++;
  return { removed: a.slice(s, a.length - e), added: b.slice(s, b.length - e) };
}

test('an existing value is replaced in place; comments and the rest stay byte for byte', () => {
  const before = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  # pinned by ops\n  sandbox_image = "k8s.gcr.io/pause:3.6"   # old\n  max_concurrent_downloads = 3\n';
  const after = setStringKey(before, 'c.toml', SANDBOX, 'registry.k8s.io/pause:3.9');
  assert.deepEqual(lineDelta(before, after), {
    removed: ['  sandbox_image = "k8s.gcr.io/pause:3.6"   # old'],
    added: ['  sandbox_image = "registry.k8s.io/pause:3.9"   # old'],
  });
});

test('a missing key is added after the last key of its table, indented like its neighbours', () => {
  const before = 'version = 2\n\n[plugins."io.containerd.grpc.v1.cri"]\n    enable_selinux = true\n    [plugins."io.containerd.grpc.v1.cri".cni]\n      bin_dir = "/usr/lib/cni"\n';
  const after = setStringKey(before, 'c.toml', SANDBOX, 'registry.k8s.io/pause:3.9');
  assert.deepEqual(lineDelta(before, after), { removed: [], added: ['    sandbox_image = "registry.k8s.io/pause:3.9"'] });
  assert.equal(getPath(parseToml(after).root, SANDBOX), 'registry.k8s.io/pause:3.9');
  assert.equal(getPath(parseToml(after).root, [...V2_KEYS.plugin, 'enable_selinux']), true);
});

test('a missing table is added before its first sub-table, or after its parent section, or at the end', () => {
  // registry.mirrors exists as a sub-table only: [..registry] goes right before it.
  const withSub = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.configs."r.io".auth]\n  username = "u"\n';
  const a = setStringKey(withSub, 'c.toml', CONFIG_PATH, '/etc/containerd/certs.d');
  assert.equal(a, 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n[plugins."io.containerd.grpc.v1.cri".registry.configs."r.io".auth]\n  username = "u"\n');

  // Only the CRI table exists, and another plugin follows it.
  const withParent = 'version = 2\n\n[plugins."io.containerd.grpc.v1.cri"]\n  enable_selinux = true\n\n[plugins."io.containerd.internal.v1.opt"]\n  path = "/opt/containerd"\n';
  const b = setStringKey(withParent, 'c.toml', CONFIG_PATH, '/x');
  assert.deepEqual(lineDelta(withParent, b).added, ['  [plugins."io.containerd.grpc.v1.cri".registry]', '    config_path = "/x"', '']);
  assert.equal(getPath(parseToml(b).root, [...V2_KEYS.plugin, 'enable_selinux']), true);
  assert.equal(getPath(parseToml(b).root, ['plugins', 'io.containerd.internal.v1.opt', 'path']), '/opt/containerd');

  // Nothing of it at all, file without a final newline.
  const bare = 'version = 3';
  const c = setStringKey(bare, 'c.toml', V3_KEYS.sandboxImage, 'registry.k8s.io/pause:3.10');
  assert.equal(c, "version = 3\n\n[plugins.\"io.containerd.cri.v1.images\".pinned_images]\n  sandbox = \"registry.k8s.io/pause:3.10\"\n");
});

test('a table made by dotted keys gets one more dotted key', () => {
  const before = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  registry.configs."r.io".auth.username = "u"\n';
  const after = setStringKey(before, 'c.toml', CONFIG_PATH, '/x');
  assert.deepEqual(lineDelta(before, after).added, ['  registry.config_path = "/x"']);
  assert.equal(getPath(parseToml(after).root, CONFIG_PATH), '/x');
});

test('an inline table or a non-string value is refused with the line and the fix', () => {
  const inline = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  registry = { configs = {} }\n';
  assert.throws(
    () => setStringKey(inline, 'c.toml', CONFIG_PATH, '/x'),
    (e: unknown) => e instanceof ContainerdConfigError && e.code === 'ERR_CONTAINERD_CONFIG_LAYOUT' && /c\.toml:3/.test(e.message) && /config_path/.test(e.hint ?? ''),
  );
  assert.throws(
    () => setStringKey('[plugins."io.containerd.grpc.v1.cri"]\nsandbox_image = 3\n', 'c.toml', SANDBOX, 'p'),
    (e: unknown) => e instanceof ContainerdConfigError && e.code === 'ERR_CONTAINERD_CONFIG_LAYOUT',
  );
});

test('imports: one line added after version, or the existing array extended in every shape', () => {
  const D = '/etc/containerd/conf.d/airgap.toml';
  const cases: Array<[string, string]> = [
    ['version = 2\n\n[grpc]\n', `version = 2\nimports = ["${D}"]\n\n[grpc]\n`],
    ['# hello\n[grpc]\n', `# hello\nimports = ["${D}"]\n\n[grpc]\n`],
    ['', `imports = ["${D}"]\n`],
    ['version = 2\nimports = []\n', `version = 2\nimports = ["${D}"]\n`],
    ['imports = ["/a.toml"]\n', `imports = ["/a.toml", "${D}"]\n`],
    ['imports = ["/a.toml",]\n', `imports = ["/a.toml", "${D}",]\n`],
    ['imports = [\n  "/a.toml", # first\n  "/b.toml",\n]\n', `imports = [\n  "/a.toml", # first\n  "/b.toml",\n  "${D}",\n]\n`],
    ["imports = ['/a]b.toml' # odd name\n]\n", `imports = ['/a]b.toml', "${D}" # odd name\n]\n`],
  ];
  for (const [before, want] of cases) {
    const after = addImport(before, 'c.toml', D);
    assert.equal(after, want, before);
    assert.ok((parseToml(after).root.imports as string[]).includes(D));
  }
});
