import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertIsolatedNetwork, generateImages, seedRegistry, startRegistry, type GeneratedImages, type LabRegistry,
} from '../../scripts/lab/index.js';
import { runCli } from './harness.js';

/**
 * Secrets and trust: passwords never appear in output, --json, errors or the bundle, whether they
 * come from --creds, a docker config or a URL; TLS is verified unless the registry is named
 * insecure, and --ca-file is honoured; the bundle is not writable by others.
 */

const isolated = await assertIsolatedNetwork().then(() => true, () => false);
const PAUSE = 'registry.k8s.io/pause:3.9';

describe('secrets never leak; TLS is verified', { skip: isolated ? false : 'run inside unshare -n (scripts/test.sh does)' }, () => {
  let gen: GeneratedImages;
  let basic: LabRegistry;
  let tls: LabRegistry;
  let dir: string;
  const SECRET = 'S3cr3t-pw-do-not-print';

  before(async () => {
    gen = await generateImages({ refs: [{ ref: PAUSE }], scale: 0.01 });
    [basic, tls] = await Promise.all([startRegistry({ auth: 'basic', password: SECRET }), startRegistry({ tls: true })]);
    await Promise.all([seedRegistry(basic, gen), seedRegistry(tls, gen)]);
    dir = await mkdtemp(join(tmpdir(), 'airgap-secrets-'));
  });
  after(async () => {
    await Promise.all([basic?.stop(), tls?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const via = (reg: LabRegistry): string[] => ['--registry-mirror', `registry.k8s.io=${reg.url}/registry.k8s.io`];
  const assertNoSecret = (what: string, text: string | Buffer): void => {
    const s = Buffer.isBuffer(text) ? text.toString('latin1') : text;
    assert.ok(!s.includes(SECRET), `${what} holds the password`);
    assert.ok(!s.includes(Buffer.from(`lab:${SECRET}`).toString('base64')), `${what} holds the Basic credentials`);
    assert.doesNotMatch(s, /authorization:\s*(basic|bearer)\s+\S/i, `${what} holds an Authorization header`);
  };

  it('--creds: not in the output, --json events, the bundle or its journal', async () => {
    const out = join(dir, 'creds.tar');
    const r = await runCli(['pack', '--image', PAUSE, ...via(basic), '--insecure-registry', basic.host, '--creds', `${basic.host}=lab:${SECRET}`, '-o', out, '--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    for (const [w, t] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) assertNoSecret(w, t);
    assertNoSecret('the bundle', await readFile(out));
    const mode = (await stat(out)).mode & 0o777;
    assert.equal(mode & 0o022, 0, `the bundle is not writable by group or others (${mode.toString(8)})`);
  });

  it('a wrong password: exit 5, the registry named, the password not echoed (text and --json)', async () => {
    const wrong = `${SECRET}-wrong`;
    for (const json of [false, true]) {
      const r = await runCli(['pack', '--image', PAUSE, ...via(basic), '--insecure-registry', basic.host, '--creds', `${basic.host}=lab:${wrong}`, '-o', join(dir, 'wrong.tar'), ...(json ? ['--json'] : [])]);
      assert.equal(r.exitCode, 5, r.stderr);
      assert.match(r.stderr, new RegExp(basic.host.replace(/\./g, '\\.')));
      assert.ok(!`${r.stdout}${r.stderr}`.includes(wrong), 'the wrong password is not echoed either');
      assertNoSecret('output', `${r.stdout}${r.stderr}`);
    }
  });

  it('a docker config with the password: used, never printed; a password in a mirror URL is redacted', async () => {
    const cfg = join(dir, 'docker');
    await rm(cfg, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(cfg));
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from(`lab:${SECRET}`).toString('base64') } } }), { mode: 0o600 });
    const ok = await runCli(['pack', '--image', PAUSE, ...via(basic), '--insecure-registry', basic.host, '-o', join(dir, 'cfg.tar'), '--json'], { env: { DOCKER_CONFIG: cfg } });
    assert.equal(ok.exitCode, 0, ok.stderr);
    assertNoSecret('output', `${ok.stdout}${ok.stderr}`);
    assertNoSecret('the bundle', await readFile(join(dir, 'cfg.tar')));

    const inUrl = `http://lab:${SECRET}@${basic.host}/registry.k8s.io`;
    const r = await runCli(['pack', '--image', PAUSE, '--registry-mirror', `registry.k8s.io=${inUrl}`, '--insecure-registry', basic.host, '-o', join(dir, 'url.tar'), '--json']);
    assertNoSecret('output', `${r.stdout}${r.stderr}`);
  });

  it('load with --creds: not in the output or the --json events', async () => {
    const bundle = join(dir, 'creds.tar');
    const r = await runCli(['load', bundle, '--registry', `${basic.url}/loaded`, '--creds', `${basic.host}=lab:${SECRET}`, '--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    assertNoSecret('output', `${r.stdout}${r.stderr}`);
    const bad = await runCli(['load', bundle, '--registry', `${basic.url}/loaded`, '--creds', `${basic.host}=lab:nope-${SECRET}`]);
    assert.equal(bad.exitCode, 5, bad.stderr);
    assertNoSecret('output', `${bad.stdout}${bad.stderr}`);
  });

  it('TLS: an unknown CA is refused (exit 4, says why); --ca-file and --insecure-registry are honoured', async () => {
    const refused = await runCli(['pack', '--image', PAUSE, ...via(tls), '-o', join(dir, 'tls.tar')]);
    assert.equal(refused.exitCode, 4, refused.stderr);
    assert.match(refused.stderr, /certificate|CA/i);
    assert.match(refused.stderr, /--ca-file|--insecure-registry/);
    const withCa = await runCli(['pack', '--image', PAUSE, ...via(tls), '--ca-file', tls.caFile!, '-o', join(dir, 'tls-ca.tar')]);
    assert.equal(withCa.exitCode, 0, withCa.stderr);
    const insecure = await runCli(['pack', '--image', PAUSE, ...via(tls), '--insecure-registry', tls.host, '-o', join(dir, 'tls-insecure.tar')]);
    assert.equal(insecure.exitCode, 0, insecure.stderr);
    // Naming another host insecure does not lower the guard for this one.
    const other = await runCli(['pack', '--image', PAUSE, ...via(tls), '--insecure-registry', '127.0.0.2:5000', '-o', join(dir, 'tls-other.tar')]);
    assert.equal(other.exitCode, 4, other.stderr);
  });
});
