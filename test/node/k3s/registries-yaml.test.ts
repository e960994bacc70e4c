/** Merging our mirror entries into k3s's registries.yaml: explicit entries, the user's file kept, never "*". */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { NodeConfigError } from '../../../src/node/errors.js';
import { mergeRegistries, readRegistries, type MirrorEntry } from '../../../src/node/k3s/registries-yaml.js';

const FILE = '/etc/rancher/k3s/registries.yaml';
const ENTRIES: MirrorEntry[] = [
  { registry: 'registry.k8s.io', endpoint: 'http://127.0.0.1:5000/v2/registry.k8s.io' },
  { registry: 'docker.io', endpoint: 'http://127.0.0.1:5000/v2/docker.io' },
];

type Parsed = { mirrors?: Record<string, { endpoint?: string[]; rewrite?: Record<string, string> }>; configs?: Record<string, Record<string, unknown>> };

test('no file: one explicit, quoted entry per registry, never "*"', () => {
  const m = mergeRegistries(null, FILE, ENTRIES);
  assert.deepEqual(m.errors, []);
  assert.deepEqual(m.warnings, []);
  assert.deepEqual([...m.changed].sort(), ['docker.io', 'registry.k8s.io']);
  const y = parse(m.text) as Parsed;
  assert.deepEqual(y, {
    mirrors: {
      'registry.k8s.io': { endpoint: ['http://127.0.0.1:5000/v2/registry.k8s.io'] },
      'docker.io': { endpoint: ['http://127.0.0.1:5000/v2/docker.io'] },
    },
  });
  assert.ok(!m.text.includes('"*"'));
  assert.match(m.text, /^ {2}"registry\.k8s\.io":$/m);
  assert.match(m.text, /^ {6}- "http:\/\/127\.0\.0\.1:5000\/v2\/docker\.io"$/m);
  assert.match(m.text, /^#/, 'the created file says who wrote it');
});

test('merging into its own output changes nothing, text identical', () => {
  const first = mergeRegistries(null, FILE, ENTRIES).text;
  const second = mergeRegistries(first, FILE, ENTRIES);
  assert.deepEqual(second.changed, []);
  assert.deepEqual(second.warnings, []);
  assert.equal(second.text, first);
  // Also with the TLS settings of an https mirror.
  const tls = { host: 'reg.local:5443', caFile: '/etc/airgap/ca.pem', skipVerify: true };
  const a = mergeRegistries(null, FILE, ENTRIES, tls).text;
  const b = mergeRegistries(a, FILE, ENTRIES, tls);
  assert.deepEqual(b.changed, []);
  assert.equal(b.text, a);
});

const USER_FILE = `# My mirrors, do not lose this comment
mirrors:
  quay.io:
    endpoint:
      - "https://quay-cache.corp:8443"
  ghcr.io:
    endpoint:
      - https://ghcr-cache.corp
configs:
  # auth for the corporate cache
  "quay-cache.corp:8443":
    auth:
      username: robot
      password: s3cret
`;

test("a user's file keeps its comments, other mirrors, configs (auth) and order", () => {
  const m = mergeRegistries(USER_FILE, FILE, ENTRIES);
  assert.deepEqual(m.errors, []);
  assert.ok(m.text.includes('# My mirrors, do not lose this comment'));
  assert.ok(m.text.includes('# auth for the corporate cache'));
  const y = parse(m.text) as Parsed;
  assert.deepEqual(Object.keys(y.mirrors!), ['quay.io', 'ghcr.io', 'registry.k8s.io', 'docker.io']);
  assert.deepEqual(y.mirrors!['quay.io'], { endpoint: ['https://quay-cache.corp:8443'] });
  assert.deepEqual(y.mirrors!['ghcr.io'], { endpoint: ['https://ghcr-cache.corp'] });
  assert.deepEqual(y.mirrors!['docker.io'], { endpoint: ['http://127.0.0.1:5000/v2/docker.io'] });
  assert.deepEqual(y.configs, { 'quay-cache.corp:8443': { auth: { username: 'robot', password: 's3cret' } } });
  assert.deepEqual(Object.keys(y), ['mirrors', 'configs']);
});

test('a registry the user already mirrors: our endpoint first, theirs kept after, with a warning', () => {
  const before = 'mirrors:\n  docker.io:\n    endpoint:\n      - "https://hub-cache.corp"\n';
  const m = mergeRegistries(before, FILE, ENTRIES);
  assert.deepEqual(m.errors, []);
  const y = parse(m.text) as Parsed;
  assert.deepEqual(y.mirrors!['docker.io']!.endpoint, ['http://127.0.0.1:5000/v2/docker.io', 'https://hub-cache.corp']);
  assert.equal(m.warnings.length, 1);
  assert.match(m.warnings[0]!, /docker\.io/);
  assert.match(m.warnings[0]!, /https:\/\/hub-cache\.corp/);
  // Our endpoint listed second (e.g. by hand): moved first, not duplicated.
  const swapped = 'mirrors:\n  docker.io:\n    endpoint: ["https://hub-cache.corp", "http://127.0.0.1:5000/v2/docker.io"]\n';
  const s = parse(mergeRegistries(swapped, FILE, ENTRIES).text) as Parsed;
  assert.deepEqual(s.mirrors!['docker.io']!.endpoint, ['http://127.0.0.1:5000/v2/docker.io', 'https://hub-cache.corp']);
});

test('a rewrite on a bundle registry: ERR_NODE_CONFIG_LAYOUT, nothing merged for it', () => {
  const before = 'mirrors:\n  docker.io:\n    endpoint:\n      - "https://hub-cache.corp"\n    rewrite:\n      "^library/(.*)": "hub/$1"\n';
  const m = mergeRegistries(before, FILE, ENTRIES);
  assert.equal(m.errors.length, 1);
  const e = m.errors[0]!;
  assert.ok(e instanceof NodeConfigError);
  assert.equal(e.code, 'ERR_NODE_CONFIG_LAYOUT');
  assert.match(e.message, /docker\.io/);
  assert.match(e.message, new RegExp(FILE));
  assert.ok(!m.changed.includes('docker.io'));
  const y = parse(m.text) as Parsed;
  assert.deepEqual(y.mirrors!['docker.io']!.endpoint, ['https://hub-cache.corp']);
  assert.deepEqual(y.mirrors!['docker.io']!.rewrite, { '^library/(.*)': 'hub/$1' });
  // The other registry is still merged.
  assert.deepEqual(y.mirrors!['registry.k8s.io']!.endpoint, ['http://127.0.0.1:5000/v2/registry.k8s.io']);
});

test('an https mirror with a CA file and skip-verify: configs."host:port".tls', () => {
  const entries = [{ registry: 'registry.k8s.io', endpoint: 'https://reg.local:5443/v2/registry.k8s.io' }];
  const m = mergeRegistries(null, FILE, entries, { host: 'reg.local:5443', caFile: '/etc/airgap/ca.pem', skipVerify: true });
  const y = parse(m.text) as Parsed;
  assert.deepEqual(y.configs, { 'reg.local:5443': { tls: { ca_file: '/etc/airgap/ca.pem', insecure_skip_verify: true } } });
  const facts = readRegistries(m.text, FILE);
  assert.deepEqual(facts.configs.get('reg.local:5443'), { ca: '/etc/airgap/ca.pem', skipVerify: true, auth: false });
});

test("TLS settings merge into the user's existing configs entry, its auth kept", () => {
  const before = 'configs:\n  "reg.local:5443":\n    auth:\n      username: u\n      password: p\n';
  const m = mergeRegistries(before, FILE, [], { host: 'reg.local:5443', caFile: '/ca.pem' });
  const y = parse(m.text) as Parsed;
  assert.deepEqual(y.configs!['reg.local:5443'], { auth: { username: 'u', password: 'p' }, tls: { ca_file: '/ca.pem' } });
});

test('an http mirror writes no configs', () => {
  const y = parse(mergeRegistries(null, FILE, ENTRIES).text) as Parsed;
  assert.equal(y.configs, undefined);
});

for (const [name, text] of [
  ['broken YAML', 'mirrors:\n  docker.io:\n    endpoint: [unclosed\n'],
  ['a top-level list', '- docker.io\n- quay.io\n'],
  ['mirrors that is a list', 'mirrors:\n  - docker.io\n'],
] as const) {
  test(`${name}: ERR_NODE_CONFIG_SYNTAX naming the file`, () => {
    for (const fn of [() => mergeRegistries(text, FILE, ENTRIES), () => readRegistries(text, FILE)]) {
      assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof NodeConfigError);
        assert.equal(e.code, 'ERR_NODE_CONFIG_SYNTAX');
        assert.ok(e.message.includes(FILE), e.message);
        return true;
      });
    }
  });
}

test('readRegistries: wildcard, endpoints, rewrites, configs', () => {
  const text = `mirrors:
  "*":
    endpoint: ["http://cache:5000"]
  docker.io:
    endpoint: "https://hub-cache.corp"
    rewrite:
      "^(.*)": "hub/$1"
  quay.io:
    endpoint:
      - https://a
      - https://b
configs:
  cache:5000:
    tls:
      insecure_skip_verify: true
  "hub-cache.corp":
    auth:
      username: u
`;
  const f = readRegistries(text, FILE);
  assert.equal(f.exists, true);
  assert.equal(f.wildcard, true);
  assert.deepEqual(f.mirrors.get('*'), { endpoints: ['http://cache:5000'], rewrites: 0 });
  assert.deepEqual(f.mirrors.get('docker.io'), { endpoints: ['https://hub-cache.corp'], rewrites: 1 });
  assert.deepEqual(f.mirrors.get('quay.io'), { endpoints: ['https://a', 'https://b'], rewrites: 0 });
  assert.deepEqual(f.configs.get('cache:5000'), { skipVerify: true, auth: false });
  assert.deepEqual(f.configs.get('hub-cache.corp'), { auth: true });

  const none = readRegistries(null, FILE);
  assert.equal(none.exists, false);
  assert.equal(none.wildcard, false);
  assert.equal(none.mirrors.size, 0);
  assert.equal(readRegistries(mergeRegistries(null, FILE, ENTRIES).text, FILE).wildcard, false);
});

test('a file holding only comments (a commented-out template) keeps them', () => {
  const before = '# my template\n# mirrors:\n#   docker.io:\n';
  const m = mergeRegistries(before, FILE, ENTRIES);
  for (const line of before.trimEnd().split('\n')) assert.ok(m.text.includes(line), `lost ${JSON.stringify(line)}:\n${m.text}`);
  const y = parse(m.text) as Parsed;
  assert.deepEqual(Object.keys(y.mirrors!), ['registry.k8s.io', 'docker.io']);
  assert.equal(mergeRegistries(m.text, FILE, ENTRIES).text, m.text);
});

test("a user's file already holding our entries, in its own formatting, is returned byte for byte", () => {
  const before = `mirrors:
  docker.io: {endpoint: [http://127.0.0.1:5000/v2/docker.io, 'https://hub-cache.corp']}
  registry.k8s.io:
    endpoint: [ "http://127.0.0.1:5000/v2/registry.k8s.io" ]   # ours
`;
  const m = mergeRegistries(before, FILE, ENTRIES);
  assert.deepEqual(m.changed, []);
  assert.deepEqual(m.warnings, []);
  assert.equal(m.text, before);
});
