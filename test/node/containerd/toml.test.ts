import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import { ContainerdConfigError } from '../../../src/node/containerd/errors.js';
import { getPath, parseToml, tomlKeyPath, tomlString } from '../../../src/node/containerd/toml.js';

test("containerd's own default config parses, with values where containerd puts them", async () => {
  const { stdout } = await execa('containerd', ['config', 'default']);
  const doc = parseToml(stdout, 'default.toml');
  assert.equal(doc.root.version, 2);
  assert.equal(getPath(doc.root, ['grpc', 'address']), '/run/containerd/containerd.sock');
  assert.match(String(getPath(doc.root, ['plugins', 'io.containerd.grpc.v1.cri', 'sandbox_image'])), /pause:3\.\d+$/);
  assert.equal(getPath(doc.root, ['plugins', 'io.containerd.grpc.v1.cri', 'registry', 'config_path']), '');
  // Every recorded value span holds exactly the value (what the editor relies on).
  for (const p of doc.pairs) {
    const again = parseToml(`x = ${stdout.slice(p.valueStart, p.valueEnd)}`).root.x;
    assert.deepEqual(again, p.value, p.path.join('.'));
  }
});

test('keys: bare, quoted, literal, dotted; headers and positions', () => {
  const text = [
    'version = 3',
    "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
    '  sandbox = "registry.k8s.io/pause:3.10" # the pause',
    '[plugins."io.containerd.cri.v1.images".registry]',
    '  config_path = \'/etc/containerd/certs.d\'',
    '  a . "b.c" . d = 1',
  ].join('\n');
  const doc = parseToml(text);
  assert.equal(getPath(doc.root, ['plugins', 'io.containerd.cri.v1.images', 'pinned_images', 'sandbox']), 'registry.k8s.io/pause:3.10');
  assert.equal(getPath(doc.root, ['plugins', 'io.containerd.cri.v1.images', 'registry', 'a', 'b.c', 'd']), 1);
  const sandbox = doc.pairs.find((p) => p.path.at(-1) === 'sandbox')!;
  assert.equal(sandbox.line, 3);
  assert.equal(text.slice(sandbox.valueStart, sandbox.valueEnd), '"registry.k8s.io/pause:3.10"');
  assert.equal(text.slice(sandbox.lineStart, sandbox.lineEnd), '  sandbox = "registry.k8s.io/pause:3.10" # the pause\n');
  assert.deepEqual(doc.headers.map((h) => [h.line, h.path.at(-1)]), [
    [2, 'pinned_images'],
    [4, 'registry'],
  ]);
  const last = doc.pairs.at(-1)!;
  assert.deepEqual(last.table, ['plugins', 'io.containerd.cri.v1.images', 'registry']);
  assert.equal(last.lineEnd, text.length);
});

test('values: strings with escapes, multi-line strings, numbers, booleans, arrays, inline tables, dates', () => {
  const text = String.raw`
s = "tab\tquote\" \u00e9 \U0001F600"
lit = 'C:\path'
ml = """
one \
   two"""
mll = '''
raw \n'''
ints = [1_000, 0x1f, 0o17, 0b101, -3, +4]
floats = [1.5, -2e3, inf, -inf]
flags = [true, false]
arr = [
  "a", # comment
  'b',
]
inline = { a = 1, b.c = "x" }
when = 1979-05-27T07:32:00Z
day = 1979-05-27
`;
  const r = parseToml(text).root;
  assert.equal(r.s, 'tab\tquote" é 😀');
  assert.equal(r.lit, 'C:\\path');
  assert.equal(r.ml, 'one two');
  assert.equal(r.mll, 'raw \\n');
  assert.deepEqual(r.ints, [1000, 31, 15, 5, -3, 4]);
  assert.deepEqual(r.floats, [1.5, -2000, Infinity, -Infinity]);
  assert.deepEqual(r.flags, [true, false]);
  assert.deepEqual(r.arr, ['a', 'b']);
  assert.deepEqual(r.inline, { a: 1, b: { c: 'x' } });
  assert.equal(r.when, '1979-05-27T07:32:00Z');
  assert.equal(r.day, '1979-05-27');
});

test('arrays of tables', () => {
  const r = parseToml('[[a.b]]\nx = 1\n[[a.b]]\nx = 2\n[a.b.c]\ny = 3\n').root;
  assert.deepEqual(r, { a: { b: [{ x: 1 }, { x: 2, c: { y: 3 } }] } });
});

test('invalid TOML is refused with file, line and column', () => {
  const cases: Array<[string, RegExp]> = [
    ['a = 1\na = 2', /f\.toml:2:1: .*duplicate key a/],
    ['[t]\n[t]', /f\.toml:2:\d+: .*table \[t\] is defined more than once/],
    ['a = "unterminated', /unterminated string/],
    ['a = ', /expected a value/],
    ['a = 1 b = 2', /expected a newline/],
    ['x = { a = 1 }\n[x]', /not a table|defined more than once/],
    ['a.b = 1\n[a.b]', /defined more than once/],
    ['a = "\\q"', /invalid escape/],
    ['[a', /expected \]/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseToml(text, 'f.toml'),
      (e: unknown) => e instanceof ContainerdConfigError && e.code === 'ERR_CONTAINERD_CONFIG_SYNTAX' && re.test(e.message),
      text,
    );
  }
});

test('writers quote what needs quoting and round-trip', () => {
  assert.equal(tomlKeyPath(['plugins', 'io.containerd.grpc.v1.cri', 'registry']), 'plugins."io.containerd.grpc.v1.cri".registry');
  for (const s of ['plain', 'with "quotes" and \\ backslash', 'tab\tnewline\n', 'ctl\u0001', 'ünï']) {
    assert.equal(parseToml(`k = ${tomlString(s)}`).root.k, s);
  }
});
