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

test('manifests/ is found relative to the installed module and holds kubeadm and k0s', () => {
  const dir = manifestsDir();
  assert.ok(existsSync(join(dir, 'kubeadm.json')), dir);
  assert.deepEqual(distributionNames(), ['k0s', 'kubeadm']);
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
