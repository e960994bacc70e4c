import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CredentialStore, parseCredentialFlag } from '../../src/registry/credentials.js';

let dir: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-creds-'));
  // A fake credential helper: answers for two servers, logs what it was asked, "not found" otherwise.
  const script = `#!/bin/sh
read server
echo "$server" >> "${dir}/helper.log"
case "$server" in
  helped.example) echo '{"ServerURL":"helped.example","Username":"helper-user","Secret":"helper-pass"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"refresh-tok"}' ;;
  store.example) echo '{"ServerURL":"store.example","Username":"store-user","Secret":"store-pass"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;
  await writeFile(join(dir, 'docker-credential-test'), script);
  await chmod(join(dir, 'docker-credential-test'), 0o755);
  env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function config(name: string, doc: unknown): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, JSON.stringify(doc));
  return p;
}

test('--creds: REGISTRY=USER:PASSWORD, password may hold ":" and "="', () => {
  assert.deepEqual(parseCredentialFlag('harbor.corp=robot$x:pa:ss=w'), { registry: 'harbor.corp', username: 'robot$x', password: 'pa:ss=w' });
  assert.deepEqual(parseCredentialFlag('https://index.docker.io/v1/=u:p').registry, 'docker.io');
  for (const bad of ['harbor.corp', 'harbor.corp=user', 'harbor.corp=:pw', 'harbor.corp=user:', 'bad host=u:hunter2']) {
    assert.throws(() => parseCredentialFlag(bad), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_INVALID_CREDENTIALS');
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    }, bad);
  }
});

test('auths: base64 auth, username+password, identitytoken, Docker Hub key forms', async () => {
  const path = await config('auths.json', {
    auths: {
      'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hub:pass').toString('base64') },
      'http://plain.example:5000/v2/': { username: 'u2', password: 'p2' },
      'idtok.example': { identitytoken: 'refresh-123' },
      'empty.example': {},
    },
  });
  const store = new CredentialStore({ dockerConfig: path, env });
  assert.deepEqual(await store.get('docker.io'), { kind: 'basic', username: 'hubuser', password: 'hub:pass', source: `${path} (auths)` });
  assert.deepEqual(await store.get('registry-1.docker.io'), await store.get('docker.io'));
  assert.equal((await store.get('plain.example:5000'))?.kind, 'basic');
  assert.deepEqual(await store.get('idtok.example'), { kind: 'identity-token', identityToken: 'refresh-123', source: `${path} (auths)` });
  assert.equal(await store.get('empty.example'), undefined);
  assert.equal(await store.get('other.example'), undefined);
});

test('flags win over the docker config', async () => {
  const path = await config('flags.json', { auths: { 'harbor.corp': { username: 'cfg', password: 'cfg' } } });
  const store = new CredentialStore({ dockerConfig: path, env, flags: ['harbor.corp=flaguser:flagpass'] });
  assert.deepEqual(await store.get('harbor.corp'), { kind: 'basic', username: 'flaguser', password: 'flagpass', source: '--creds' });
});

test('credHelpers and credsStore run docker-credential-<name> get with the server on stdin', async () => {
  const path = await config('helpers.json', {
    credsStore: 'test',
    credHelpers: { 'helped.example': 'test', 'missing.example': 'nonexistent' },
    auths: { 'store.example': {} },
  });
  const store = new CredentialStore({ dockerConfig: path, env });
  assert.deepEqual(await store.get('helped.example'), { kind: 'basic', username: 'helper-user', password: 'helper-pass', source: 'docker-credential-test' });
  assert.deepEqual(await store.get('docker.io'), { kind: 'identity-token', identityToken: 'refresh-tok', source: 'docker-credential-test' });
  assert.deepEqual((await store.get('store.example'))?.kind, 'basic', 'an empty auths entry falls through to the credsStore');
  assert.equal(await store.get('unknown.example'), undefined, '"credentials not found" is anonymous, not an error');
  // A helper named for a host that is not installed is an error that names the helper and hides nothing secret.
  await assert.rejects(store.get('missing.example'), (e: Error & { code?: string; kind?: string }) => {
    assert.equal(e.code, 'ERR_CREDENTIAL_HELPER');
    assert.equal(e.kind, 'auth');
    assert.match(e.message, /docker-credential-nonexistent is not on PATH/);
    return true;
  });
  const { readFile } = await import('node:fs/promises');
  const asked = (await readFile(join(dir, 'helper.log'), 'utf8')).trim().split('\n');
  assert.ok(asked.includes('helped.example'));
  assert.ok(asked.includes('https://index.docker.io/v1/'), 'Docker Hub is asked for under its legacy server URL');
  // cached: asking again does not run the helper again
  const before = asked.length;
  await store.get('helped.example');
  assert.equal((await readFile(join(dir, 'helper.log'), 'utf8')).trim().split('\n').length, before);
});

test('a missing global credsStore does not stop anonymous access, and is remembered for hints', async () => {
  const path = await config('desktop.json', { credsStore: 'desktop' });
  const warnings: string[] = [];
  const store = new CredentialStore({ dockerConfig: path, env, onWarning: (_r, m) => warnings.push(m) });
  assert.equal(await store.get('registry.k8s.io'), undefined);
  assert.match(store.problem('registry.k8s.io') ?? '', /docker-credential-desktop is not on PATH/);
  assert.equal(warnings.length, 1);
});

test('a missing or broken docker config is no credentials', async () => {
  const broken = join(dir, 'broken.json');
  await writeFile(broken, '{ not json');
  assert.equal(await new CredentialStore({ dockerConfig: broken, env }).get('x.example'), undefined);
  assert.equal(await new CredentialStore({ dockerConfig: join(dir, 'absent.json'), env }).get('x.example'), undefined);
});
