import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenges, pickChallenge } from '../../src/registry/auth/challenge.js';
import { normalizeScopes, repositoryScope } from '../../src/registry/auth/scope.js';

const table: Array<[string, string | string[], Array<{ scheme: string; params: Record<string, string> }>]> = [
  ['docker hub bearer', 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"', [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' } },
  ]],
  ['comma inside a quoted scope', 'Bearer realm="https://r/token",scope="repository:a/b:pull,push",error="insufficient_scope"', [
    { scheme: 'bearer', params: { realm: 'https://r/token', scope: 'repository:a/b:pull,push', error: 'insufficient_scope' } },
  ]],
  ['basic alone', 'Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
  ['bare scheme', 'Basic', [{ scheme: 'basic', params: {} }]],
  ['two challenges in one header', 'Basic realm="x, y", Bearer realm="https://t/token", service="s"', [
    { scheme: 'basic', params: { realm: 'x, y' } },
    { scheme: 'bearer', params: { realm: 'https://t/token', service: 's' } },
  ]],
  ['two header lines', ['Basic realm="a"', 'Bearer realm="https://b/t"'], [
    { scheme: 'basic', params: { realm: 'a' } },
    { scheme: 'bearer', params: { realm: 'https://b/t' } },
  ]],
  ['escapes, spaces and case', 'BEARER  Realm = "https://h/t?a=\\"q\\"" , SERVICE=plain', [
    { scheme: 'bearer', params: { realm: 'https://h/t?a="q"', service: 'plain' } },
  ]],
  ['unquoted values and trailing comma', 'Bearer realm=https://h/t,service=reg,', [
    { scheme: 'bearer', params: { realm: 'https://h/t', service: 'reg' } },
  ]],
  ['garbage does not throw', '"=,,=', []],
  ['empty', '', []],
];

for (const [name, header, want] of table) {
  test(`WWW-Authenticate: ${name}`, () => {
    assert.deepEqual(parseChallenges(header), want);
  });
}

test('Bearer is preferred over Basic when both are offered', () => {
  assert.equal(pickChallenge(parseChallenges('Basic realm="a", Bearer realm="https://b/t"'))?.scheme, 'bearer');
  assert.equal(pickChallenge(parseChallenges('Negotiate abc, Basic realm="a"'))?.scheme, 'basic');
  assert.equal(pickChallenge(parseChallenges('Negotiate')), undefined);
});

test('scopes for the same repository merge, whatever the order, and names with ports survive', () => {
  assert.equal(repositoryScope('a/b', ['push', 'pull']), 'repository:a/b:pull,push');
  assert.deepEqual(normalizeScopes(['repository:a/b:push', 'repository:a/b:pull', 'repository:c:pull']), ['repository:a/b:pull,push', 'repository:c:pull']);
  assert.deepEqual(normalizeScopes(['repository:127.0.0.1:5000/x:pull']), ['repository:127.0.0.1:5000/x:pull']);
  assert.deepEqual(normalizeScopes(['repository:a:pull repository:b:pull']), ['repository:a:pull', 'repository:b:pull']);
});
