import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { Agent, fetch, type Dispatcher } from 'undici';
import {
  generateImages,
  seedRegistry,
  seededRepository,
  skopeoRegistryFlags,
  startRegistry,
  type GeneratedImages,
  type LabRegistry,
  type StartRegistryOptions,
} from '../../scripts/lab/index.js';

// One Docker manifest list (kube-proxy) and one OCI index (coredns): both media-type families.
const SAMPLE = ['registry.k8s.io/kube-proxy:v1.30.14', 'registry.k8s.io/coredns/coredns:v1.11.3'];

let gen: GeneratedImages;
let work: string;

before(async () => {
  gen = await generateImages({ scale: 0.01 });
  work = await mkdtemp(join(tmpdir(), 'airgap-lab-test-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

function dispatcherFor(reg: LabRegistry): Dispatcher | undefined {
  return reg.ca ? new Agent({ connect: { ca: reg.ca } }) : undefined;
}

function basicHeader(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** realm/service/scope from a `Bearer realm="…",service="…"` challenge. */
function parseBearer(challenge: string): Record<string, string> {
  assert.match(challenge, /^Bearer /);
  const out: Record<string, string> = {};
  for (const m of challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

async function getToken(
  reg: LabRegistry,
  scope: string | undefined,
  creds: { user: string; pass: string } | undefined,
): Promise<{ status: number; token?: string }> {
  const ch = await fetch(`${reg.url}/v2/`, { dispatcher: dispatcherFor(reg) });
  const { realm, service } = parseBearer(ch.headers.get('www-authenticate') ?? '');
  const u = new URL(realm!);
  u.searchParams.set('service', service!);
  if (scope) u.searchParams.set('scope', scope);
  const res = await fetch(u, {
    dispatcher: dispatcherFor(reg),
    headers: creds ? { authorization: basicHeader(creds.user, creds.pass) } : {},
  });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return { status: res.status };
  }
  const body = (await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
  assert.equal(body.token, body.access_token);
  assert.ok(body.expires_in > 0);
  assert.ok(!Number.isNaN(Date.parse(body.issued_at)));
  return { status: 200, token: body.token };
}

async function skopeoDigest(reg: LabRegistry, ref: string): Promise<string> {
  const img = gen.images.find((i) => i.ref === ref)!;
  // its own dir: the modes run concurrently and each writes an auth file
  const flags = await skopeoRegistryFlags(reg, undefined, await mkdtemp(join(work, 'inspect-')));
  const res = await execa('skopeo', ['inspect', '--raw', ...flags, `docker://${reg.host}/${seededRepository(img)}:${img.tag}`], {
    encoding: 'buffer',
    stdin: 'ignore',
  });
  return `sha256:${createHash('sha256').update(res.stdout).digest('hex')}`;
}

interface Mode {
  name: string;
  opts: StartRegistryOptions;
  anonymousStatus: number;
  challenge?: RegExp;
}

const MODES: Mode[] = [
  { name: 'plain http, no auth', opts: {}, anonymousStatus: 200 },
  { name: 'htpasswd basic auth', opts: { auth: 'basic' }, anonymousStatus: 401, challenge: /^Basic realm="airgap-lab"$/ },
  { name: 'TLS from a generated CA', opts: { tls: true }, anonymousStatus: 200 },
  { name: 'TLS + basic auth', opts: { tls: true, auth: 'basic' }, anonymousStatus: 401, challenge: /^Basic realm="airgap-lab"$/ },
  {
    name: 'token auth (x5c JWT)',
    opts: { auth: 'token' },
    anonymousStatus: 401,
    challenge: /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="airgap-lab-registry"$/,
  },
  {
    name: 'TLS + token auth (kid JWT)',
    opts: { auth: 'token', tls: true, tokenKeyHeader: 'kid' },
    anonymousStatus: 401,
    challenge: /^Bearer realm="https:\/\/127\.0\.0\.1:\d+\/token",service="airgap-lab-registry"$/,
  },
];

// The modes are independent registries: run them side by side (each is mostly waiting on skopeo).
describe('registry modes', { concurrency: true }, () => {
  for (const mode of MODES) {
    describe(`registry: ${mode.name}`, () => {
      let reg: LabRegistry;
      before(async () => {
        reg = await startRegistry(mode.opts);
      });
      after(async () => {
        await reg.stop();
      });

      it('listens on loopback with the expected scheme', () => {
        assert.match(reg.host, /^127\.0\.0\.1:\d+$/);
        assert.equal(reg.url, `${mode.opts.tls ? 'https' : 'http'}://${reg.host}`);
        assert.ok(reg.pid > 0);
      });

      it(`answers /v2/ anonymously with ${mode.anonymousStatus}`, async () => {
        const res = await fetch(`${reg.url}/v2/`, { dispatcher: dispatcherFor(reg) });
        await res.arrayBuffer();
        assert.equal(res.status, mode.anonymousStatus);
        assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
        if (mode.challenge) assert.match(res.headers.get('www-authenticate') ?? '', mode.challenge);
        else assert.equal(res.headers.get('www-authenticate'), null);
      });

      if (mode.opts.tls) {
        it('is refused by a client that does not trust the lab CA', async () => {
          await assert.rejects(fetch(`${reg.url}/v2/`), (err: Error) => {
            const cause = (err as { cause?: { code?: string } }).cause;
            assert.match(String(cause?.code), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
            return true;
          });
        });
      }

      if (mode.opts.auth === 'basic') {
        it('accepts the right password and refuses a wrong one', async () => {
          const ok = await fetch(`${reg.url}/v2/`, {
            dispatcher: dispatcherFor(reg),
            headers: { authorization: basicHeader(reg.username!, reg.password!) },
          });
          await ok.arrayBuffer();
          assert.equal(ok.status, 200);
          const bad = await fetch(`${reg.url}/v2/`, {
            dispatcher: dispatcherFor(reg),
            headers: { authorization: basicHeader(reg.username!, `${reg.password}x`) },
          });
          await bad.arrayBuffer();
          assert.equal(bad.status, 401);
        });
      }

      if (mode.opts.auth === 'token') {
        it('accepts a token from its token server, which records the request', async () => {
          reg.tokenServer!.requests.length = 0;
          const { status, token } = await getToken(reg, undefined, { user: reg.username!, pass: reg.password! });
          assert.equal(status, 200);
          const res = await fetch(`${reg.url}/v2/`, { dispatcher: dispatcherFor(reg), headers: { authorization: `Bearer ${token}` } });
          await res.arrayBuffer();
          assert.equal(res.status, 200);
          const [rec] = reg.tokenServer!.requests;
          assert.equal(rec!.service, 'airgap-lab-registry');
          assert.equal(rec!.hadBasicAuth, true);
          assert.equal(rec!.account, reg.username);
        });
      }

      it('can be seeded, and skopeo reads back the generated index digests', async () => {
        // Both media-type families over plain HTTP; the Docker list (the harder case) everywhere else.
        const refs = mode.opts.auth === undefined && !mode.opts.tls ? SAMPLE : SAMPLE.slice(0, 1);
        await seedRegistry(reg, gen, { only: refs });
        for (const ref of refs) {
          const img = gen.images.find((i) => i.ref === ref)!;
          assert.equal(await skopeoDigest(reg, ref), img.digest, ref);
        }
      });
    });
  }
});

describe('registry: token server policy', () => {
  let reg: LabRegistry;
  let anon: LabRegistry;
  const pauseRepo = 'registry.k8s.io/pause';
  before(async () => {
    [reg, anon] = await Promise.all([startRegistry({ auth: 'token' }), startRegistry({ auth: 'token', anonymousPull: true })]);
    await Promise.all([
      seedRegistry(reg, gen, { only: ['registry.k8s.io/pause:3.9'] }),
      seedRegistry(anon, gen, { only: ['registry.k8s.io/pause:3.9'] }),
    ]);
  });
  after(async () => {
    await Promise.all([reg.stop(), anon.stop()]);
  });

  it('refuses a wrong password and anonymous requests, and records them without secrets', async () => {
    reg.tokenServer!.requests.length = 0;
    const bad = await getToken(reg, `repository:${pauseRepo}:pull`, { user: reg.username!, pass: 'wrong' });
    assert.equal(bad.status, 401);
    const none = await getToken(reg, `repository:${pauseRepo}:pull`, undefined);
    assert.equal(none.status, 401);
    const [r1, r2] = reg.tokenServer!.requests;
    assert.deepEqual([r1!.hadBasicAuth, r1!.account, r1!.status], [true, null, 401]);
    assert.deepEqual([r2!.hadBasicAuth, r2!.account, r2!.status], [false, null, 401]);
    assert.doesNotMatch(JSON.stringify(reg.tokenServer!.requests), /wrong/);
  });

  it('grants exactly the requested repository scope', async () => {
    const { token } = await getToken(reg, `repository:${pauseRepo}:pull`, { user: reg.username!, pass: reg.password! });
    const mine = await fetch(`${reg.url}/v2/${pauseRepo}/tags/list`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(mine.status, 200);
    assert.deepEqual(((await mine.json()) as { tags: string[] }).tags, ['3.9']);
    const other = await fetch(`${reg.url}/v2/registry.k8s.io/etcd/tags/list`, { headers: { authorization: `Bearer ${token}` } });
    await other.arrayBuffer();
    assert.equal(other.status, 401);
    // pull-only token: starting an upload (push) is refused
    const push = await fetch(`${reg.url}/v2/${pauseRepo}/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    await push.arrayBuffer();
    assert.equal(push.status, 401);
    const rec = reg.tokenServer!.requests.at(-1)!;
    assert.deepEqual(rec.scopes, [`repository:${pauseRepo}:pull`]);
    assert.deepEqual(rec.granted, [`repository:${pauseRepo}:pull`]);
  });

  it('with anonymous pull on, hands out pull-only tokens without credentials', async () => {
    const { status, token } = await getToken(anon, `repository:${pauseRepo}:pull,push`, undefined);
    assert.equal(status, 200);
    assert.deepEqual(anon.tokenServer!.requests.at(-1)!.granted, [`repository:${pauseRepo}:pull`]);
    const pull = await fetch(`${anon.url}/v2/${pauseRepo}/tags/list`, { headers: { authorization: `Bearer ${token}` } });
    await pull.arrayBuffer();
    assert.equal(pull.status, 200);
    const push = await fetch(`${anon.url}/v2/${pauseRepo}/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    await push.arrayBuffer();
    assert.equal(push.status, 401);
  });

  it('speaks the OAuth2 POST flow (password grant, then refresh token)', async () => {
    const realm = reg.tokenServer!.url;
    const post = (form: Record<string, string>) =>
      fetch(realm, { method: 'POST', body: new URLSearchParams(form) }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { access_token?: string; refresh_token?: string },
      }));
    const scope = `repository:${pauseRepo}:pull`;
    const first = await post({ grant_type: 'password', username: reg.username!, password: reg.password!, service: 'airgap-lab-registry', scope, access_type: 'offline', client_id: 'lab-test' });
    assert.equal(first.status, 200);
    assert.ok(first.body.refresh_token);
    const again = await post({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token!, service: 'airgap-lab-registry', scope, client_id: 'lab-test' });
    assert.equal(again.status, 200);
    const res = await fetch(`${reg.url}/v2/${pauseRepo}/tags/list`, { headers: { authorization: `Bearer ${again.body.access_token}` } });
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    const bad = await post({ grant_type: 'password', username: reg.username!, password: 'nope', service: 'airgap-lab-registry', scope });
    assert.equal(bad.status, 401);
  });
});

describe('registry: lifecycle', () => {
  it('stops by PID, frees the port and removes its temp dir', async () => {
    const reg = await startRegistry();
    await reg.stop();
    assert.throws(() => process.kill(reg.pid, 0), { code: 'ESRCH' });
    await assert.rejects(fetch(`${reg.url}/v2/`));
    await assert.rejects(execa('test', ['-e', reg.dir]));
  });

  it('can run read-only: pulls work, pushes are refused', async () => {
    const reg = await startRegistry({ readOnly: true });
    try {
      const v2 = await fetch(`${reg.url}/v2/`);
      assert.equal(v2.status, 200);
      const push = await fetch(`${reg.url}/v2/registry.k8s.io/pause/blobs/uploads/`, { method: 'POST' });
      assert.equal(push.status, 405);
      assert.match(await push.text(), /not allowed/i);
    } finally {
      await reg.stop();
    }
  });

  it('keeps content across a restart on the same dir, seeds under a prefix, deletes', async () => {
    const dir = await mkdtemp(join(work, 'keep-'));
    const first = await startRegistry({ dir });
    await seedRegistry(first, gen, { only: ['registry.k8s.io/pause:3.9'], prefix: 'lab/' });
    await first.stop();
    const second = await startRegistry({ dir });
    try {
      const pause = gen.images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!;
      const head = await fetch(`${second.url}/v2/lab/registry.k8s.io/pause/manifests/3.9`, {
        method: 'HEAD',
        headers: { accept: pause.mediaType },
      });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('docker-content-digest'), pause.digest);
      const del = await fetch(`${second.url}/v2/lab/registry.k8s.io/pause/manifests/${pause.digest}`, { method: 'DELETE' });
      await del.arrayBuffer();
      assert.equal(del.status, 202);
    } finally {
      await second.stop();
    }
  });
});
