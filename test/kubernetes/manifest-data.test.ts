import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAirgapError } from '../../src/errors.js';
import { distributionNames, loadDistribution, manifestsDir, parseDistribution } from '../../src/kubernetes/index.js';

/** A small valid distribution to break one rule at a time. */
function sample(): Record<string, unknown> {
  return {
    distribution: 'mini',
    images: [
      { role: 'kube-proxy', image: '{registry}/kube-proxy', tag: 'v{kubernetes}' },
      { role: 'pause', image: '{registry}/pause', tag: '{pause}' },
    ],
    releases: [
      { from: 'v1.30.0', to: 'v1.30.4', registry: 'registry.k8s.io', pause: '3.9' },
      { from: 'v1.30.5', to: 'v1.30.9', registry: 'registry.k8s.io', pause: '3.9' },
    ],
  };
}

function rejects(mutate: (d: Record<string, unknown>) => void, reason: RegExp): void {
  const d = sample();
  mutate(d);
  assert.throws(() => parseDistribution(d, 'mini.json'), (e: unknown) => {
    assert.ok(isAirgapError(e));
    assert.equal(e.code, 'ERR_INVALID_MANIFEST_DATA');
    assert.equal(e.kind, 'internal');
    assert.match(e.message, /mini\.json/);
    assert.match(e.message, reason);
    return true;
  });
}

test('manifests/ is found relative to the installed module and holds kubeadm, k0s, k3s and rke2', () => {
  const dir = manifestsDir();
  assert.ok(existsSync(join(dir, 'kubeadm.json')), dir);
  assert.deepEqual(distributionNames(), ['k0s', 'k3s', 'kubeadm', 'rke2']);
  for (const name of distributionNames()) assert.equal(loadDistribution(name).name, name);
});

test('manifests/ ships in the npm package', () => {
  const pkg = JSON.parse(readFileSync(join(manifestsDir(), '..', 'package.json'), 'utf8')) as { files?: string[] };
  assert.ok(pkg.files?.includes('manifests'));
});

test('the sample distribution is valid as written', () => {
  const d = parseDistribution(sample(), 'mini.json');
  assert.equal(d.releases.length, 2);
  assert.deepEqual(d.images.map((i) => i.role), ['kube-proxy', 'pause']);
});

test('data errors are caught when loading, not when a user asks', () => {
  rejects((d) => {
    (d.releases as Record<string, string>[])[1]!.from = 'v1.30.6';
  }, /gap between v1\.30\.4 and v1\.30\.6/);
  rejects((d) => {
    (d.releases as Record<string, string>[])[1]!.from = 'v1.30.4';
  }, /overlap/);
  rejects((d) => {
    (d.releases as Record<string, string>[])[0]!.to = 'v1.31.2';
  }, /spans two minors/);
  rejects((d) => {
    delete (d.releases as Record<string, string>[])[1]!.pause;
  }, /does not define \{pause\}/);
  rejects((d) => {
    (d.releases as Record<string, string>[])[0]!.pause = 'not a tag!';
  }, /role pause/);
  rejects((d) => {
    (d.releases as Record<string, string>[])[0]!.from = 'v1.30';
  }, /plain release/);
  rejects((d) => {
    (d.releases as Record<string, string>[])[0]!.kubernetes = '1.2.3';
  }, /built-in variable/);
  rejects((d) => {
    (d.images as Record<string, unknown>[])[0]!.when = { cni: 'calico' };
  }, /undeclared variant/);
  rejects((d) => {
    d.images = [];
  }, /"images"/);
  rejects((d) => {
    d.distribution = 'Bad Name';
  }, /distribution name/);
  rejects((d) => {
    d.imageRepository = { rule: 'prefix' };
  }, /replace-registry/);
});

test('"unreleased": true marks patches a distribution skipped; they fill a hole between two releases', () => {
  const d = sample();
  d.releases = [
    { from: 'v1.30.0', to: 'v1.30.4', registry: 'registry.k8s.io', pause: '3.9' },
    { from: 'v1.30.5', to: 'v1.30.6', unreleased: true },
    { from: 'v1.30.7', to: 'v1.30.9', registry: 'registry.k8s.io', pause: '3.9' },
  ];
  const parsed = parseDistribution(d, 'mini.json');
  assert.equal(parsed.releases.length, 2);
  assert.deepEqual(parsed.unreleased.map((u) => [u.from.patch, u.to.patch]), [[5, 6]]);
  assert.deepEqual(parseDistribution(sample(), 'mini.json').unreleased, []);
});

test('unreleased ranges are checked like releases', () => {
  const withHole = (hole: Record<string, unknown>) => (d: Record<string, unknown>) => {
    d.releases = [
      { from: 'v1.30.0', to: 'v1.30.4', registry: 'registry.k8s.io', pause: '3.9' },
      hole,
      { from: 'v1.30.6', to: 'v1.30.9', registry: 'registry.k8s.io', pause: '3.9' },
    ];
  };
  rejects(withHole({ from: 'v1.30.5', to: 'v1.30.5', unreleased: false }), /unreleased must be true/);
  rejects(withHole({ from: 'v1.30.5', to: 'v1.30.5', unreleased: 'yes' }), /unreleased must be true/);
  rejects(withHole({ from: 'v1.30.5', to: 'v1.30.5', unreleased: true, pause: '3.9' }), /only "from" and "to", not "pause"/);
  rejects(withHole({ from: 'v1.30.5', to: 'v1.30.5', unreleased: true, build: 'k0s.0' }), /only "from" and "to", not "build"/);
  rejects(withHole({ from: 'v1.30.4', to: 'v1.30.5', unreleased: true }), /overlap/);
  rejects(withHole({ from: 'v1.30.5', to: 'v1.30.6', unreleased: true }), /overlap/);
  rejects(withHole({ from: 'v1.30.5', to: 'v1.31.0', unreleased: true }), /spans two minors/);
  // the hole must be filled completely, and only between two releases of the minor
  rejects((d) => {
    d.releases = [
      { from: 'v1.30.0', to: 'v1.30.4', registry: 'registry.k8s.io', pause: '3.9' },
      { from: 'v1.30.5', to: 'v1.30.5', unreleased: true },
      { from: 'v1.30.7', to: 'v1.30.9', registry: 'registry.k8s.io', pause: '3.9' },
    ];
  }, /gap between v1\.30\.5 and v1\.30\.7/);
  rejects((d) => {
    (d.releases as unknown[]).push({ from: 'v1.30.10', to: 'v1.30.10', unreleased: true });
  }, /unreleased v1\.30\.10 - v1\.30\.10 must lie between two releases of its minor/);
  rejects((d) => {
    (d.releases as unknown[]).unshift({ from: 'v1.29.0', to: 'v1.29.3', unreleased: true });
  }, /must lie between two releases/);
  rejects((d) => {
    d.releases = [{ from: 'v1.30.0', to: 'v1.30.0', unreleased: true }];
  }, /no release, only unreleased/);
  // without the marker a hole is still an error, and the message says how to mark one
  rejects((d) => {
    (d.releases as Record<string, string>[])[1]!.from = 'v1.30.6';
  }, /"unreleased": true/);
});

test('a release value may use the built-in variables, and only those', () => {
  const d = sample();
  d.images = [
    { role: 'kube-proxy', image: '{registry}/kube-proxy', tag: '{proxyTag}' },
    { role: 'pause', image: '{registry}/pause', tag: '{pause}' },
  ];
  d.releases = [
    { from: 'v1.30.0', to: 'v1.30.4', registry: 'registry.k8s.io', pause: '3.9', proxyTag: 'v{kubernetes}' },
    { from: 'v1.30.5', to: 'v1.30.5', registry: 'registry.k8s.io', pause: '3.9', proxyTag: 'v1.30.5-1' },
    { from: 'v1.30.6', to: 'v1.30.9', build: 'k0s.0', registry: 'registry.k8s.io', pause: '3.9', proxyTag: 'v{kubernetes}-{build}' },
  ];
  assert.equal(parseDistribution(d, 'mini.json').releases[0]?.values.proxyTag, 'v{kubernetes}');
  rejects((x) => {
    (x.releases as Record<string, string>[])[0]!.pause = '{registry}';
  }, /releases\[0\]\.pause uses \{registry\}; a value may use only \{kubernetes\}, \{version\}/);
  rejects((x) => {
    (x.releases as Record<string, string>[])[0]!.pause = '3.9-{build}';
  }, /uses \{build\}/);
  rejects((x) => {
    (x.releases as Record<string, string>[])[0]!.pause = '{kubernetes}!';
  }, /role pause/);
});

test('"orders" name other orders of the images; each lists every role once and is used', () => {
  const d = sample();
  d.orders = { flipped: ['pause', 'kube-proxy'] };
  (d.releases as Record<string, string>[])[1]!.order = 'flipped';
  const parsed = parseDistribution(d, 'mini.json');
  assert.deepEqual(parsed.orders, { flipped: ['pause', 'kube-proxy'] });
  assert.equal(parsed.releases[1]?.order, 'flipped');
  assert.equal(parsed.releases[0]?.order, undefined);
  const withOrders = (orders: unknown, order = 'flipped') => (x: Record<string, unknown>) => {
    x.orders = orders;
    (x.releases as Record<string, string>[])[1]!.order = order;
  };
  rejects(withOrders({ flipped: ['pause'] }), /orders\.flipped leaves out kube-proxy/);
  rejects(withOrders({ flipped: ['pause', 'kube-proxy', 'etcd'] }), /names role "etcd", which is not an image/);
  rejects(withOrders({ flipped: ['pause', 'kube-proxy', 'pause'] }), /names a role twice/);
  rejects(withOrders({ flipped: 'pause,kube-proxy' }), /orders\.flipped must be an array of strings/);
  rejects(withOrders({ flipped: ['pause', 'kube-proxy'] }, 'other'), /releases\[1\]\.order "other" is not one of "orders"/);
  rejects((x) => {
    x.orders = { flipped: ['pause', 'kube-proxy'] };
  }, /orders\.flipped is used by no release/);
});
