import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareImageLists, kubernetesImages } from '../../src/kubernetes/index.js';

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
const needed130 = kubernetesImages('v1.30.14').images;

test('a list that is exactly what v1.30.14 needs matches fully', () => {
  const r = compareImageLists(needed130.map((i) => i.ref), needed130);
  assert.deepEqual(r.matched, needed130);
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.mismatched, []);
  assert.deepEqual(r.extra, []);
});

test('pause 3.8 in the list while v1.30.14 needs 3.9 is a mismatch, not a missing image', () => {
  const list = needed130.map((i) => (i.role === 'pause' ? 'registry.k8s.io/pause:3.8' : i.ref));
  const r = compareImageLists(list, needed130);
  assert.deepEqual(r.mismatched, [
    { repository: 'registry.k8s.io/pause', listRef: 'registry.k8s.io/pause:3.8', neededRef: 'registry.k8s.io/pause:3.9', role: 'pause' },
  ]);
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.extra, []);
  assert.equal(r.matched.length, 6);
  assert.ok(!r.matched.some((m) => m.role === 'pause'));
});

test('missing images and extra ones are told apart', () => {
  const list = [
    'registry.k8s.io/kube-apiserver:v1.30.14',
    'registry.k8s.io/pause:3.9',
    'docker.io/calico/node:v3.28.1',
    'nginx',
  ];
  const r = compareImageLists(list, needed130);
  assert.deepEqual(r.matched.map((m) => m.role), ['kube-apiserver', 'pause']);
  assert.deepEqual(r.missing.map((m) => m.ref), [
    'registry.k8s.io/kube-controller-manager:v1.30.14',
    'registry.k8s.io/kube-scheduler:v1.30.14',
    'registry.k8s.io/kube-proxy:v1.30.14',
    'registry.k8s.io/coredns/coredns:v1.11.3',
    'registry.k8s.io/etcd:3.5.15-0',
  ]);
  assert.deepEqual(r.extra, ['docker.io/calico/node:v3.28.1', 'docker.io/library/nginx:latest']);
});

test('Docker Hub short names match their full form both ways', () => {
  const needed = [{ ref: 'docker.io/library/nginx:latest', role: 'extra' }, { ref: 'redis:7', role: 'extra' }];
  const r = compareImageLists(['nginx', 'index.docker.io/library/redis:7'], needed);
  assert.deepEqual(r.matched, [
    { ref: 'docker.io/library/nginx:latest', role: 'extra' },
    { ref: 'docker.io/library/redis:7', role: 'extra' },
  ]);
  assert.deepEqual(r.extra, []);
});

test('the old k8s.gcr.io name is a different repository: missing plus extra', () => {
  const r = compareImageLists(['k8s.gcr.io/pause:3.9'], [{ ref: 'registry.k8s.io/pause:3.9', role: 'pause' }]);
  assert.deepEqual(r.missing.map((m) => m.ref), ['registry.k8s.io/pause:3.9']);
  assert.deepEqual(r.extra, ['k8s.gcr.io/pause:3.9']);
});

test('digest-pinned list refs: tag+digest satisfies a tag need; digest alone does not', () => {
  const need = [{ ref: 'registry.k8s.io/pause:3.9', role: 'pause' }];
  assert.equal(compareImageLists([`registry.k8s.io/pause:3.9@${DIGEST_A}`], need).matched.length, 1);
  const byDigest = compareImageLists([`registry.k8s.io/pause@${DIGEST_A}`], need);
  assert.deepEqual(byDigest.matched, []);
  assert.deepEqual(byDigest.mismatched.map((m) => m.listRef), [`registry.k8s.io/pause@${DIGEST_A}`]);
  const wrongTag = compareImageLists([`registry.k8s.io/pause:3.8@${DIGEST_A}`], need);
  assert.equal(wrongTag.mismatched.length, 1);
});

test('digest-pinned needs: digests must agree where both sides have one', () => {
  const need = [{ ref: `registry.k8s.io/pause:3.9@${DIGEST_A}`, role: 'pause' }];
  assert.equal(compareImageLists([`registry.k8s.io/pause:3.9@${DIGEST_A}`], need).matched.length, 1);
  assert.equal(compareImageLists([`registry.k8s.io/pause@${DIGEST_A}`], need).mismatched.length, 1); // the tag is missing
  assert.equal(compareImageLists(['registry.k8s.io/pause:3.9'], need).matched.length, 1); // resolved at pack time
  const other = compareImageLists([`registry.k8s.io/pause:3.9@${DIGEST_B}`], need);
  assert.deepEqual(other.matched, []);
  assert.equal(other.mismatched[0]?.listRef, `registry.k8s.io/pause:3.9@${DIGEST_B}`);
  const digestOnlyNeed = [{ ref: `registry.k8s.io/pause@${DIGEST_A}`, role: 'pause' }];
  assert.equal(compareImageLists([`registry.k8s.io/pause:whatever@${DIGEST_A}`], digestOnlyNeed).matched.length, 1);
  assert.equal(compareImageLists(['registry.k8s.io/pause:3.9'], digestOnlyNeed).mismatched.length, 1);
});

test('an entry that satisfies one need is not reported as another need\'s mismatch', () => {
  const needed = [
    { ref: 'registry.k8s.io/pause:3.9', role: 'pause' },
    { ref: 'registry.k8s.io/pause:3.8', role: 'extra' },
  ];
  const r = compareImageLists(['registry.k8s.io/pause:3.9'], needed);
  assert.deepEqual(r.matched.map((m) => m.ref), ['registry.k8s.io/pause:3.9']);
  assert.deepEqual(r.missing.map((m) => m.ref), ['registry.k8s.io/pause:3.8']);
  assert.deepEqual(r.mismatched, []);
});

test('an extra tag of a needed repository is extra, not a mismatch, when the right tag is there too', () => {
  const r = compareImageLists(['registry.k8s.io/pause:3.8', 'registry.k8s.io/pause:3.9'], [{ ref: 'registry.k8s.io/pause:3.9', role: 'pause' }]);
  assert.equal(r.matched.length, 1);
  assert.deepEqual(r.mismatched, []);
  assert.deepEqual(r.extra, ['registry.k8s.io/pause:3.8']);
});

test('duplicates on either side count once', () => {
  const r = compareImageLists(['nginx', 'nginx:latest', 'docker.io/library/nginx'], [
    { ref: 'nginx', role: 'extra' },
    { ref: 'docker.io/library/nginx:latest', role: 'extra' },
  ]);
  assert.deepEqual(r.matched, [{ ref: 'docker.io/library/nginx:latest', role: 'extra' }]);
  assert.deepEqual(r.extra, []);
});
