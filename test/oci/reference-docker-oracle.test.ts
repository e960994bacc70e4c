/**
 * The docker CLI as the oracle: `docker pull REF` parses REF with distribution/reference before it
 * contacts the daemon, so against a socket that does not exist it answers either "invalid
 * reference format…" (refused) or "Cannot connect to the Docker daemon" (accepted). Every table
 * case must get the same verdict from docker and from parseReference, except the divergences we
 * chose and list below. Runs inside `unshare -n` so nothing can leave the machine; skipped where
 * docker or unshare is missing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isReference } from '../../src/oci/index.js';
import { H, invalid, valid } from './reference-cases.js';

const NO_SOCKET = 'unix:///nonexistent/airgap-test-docker.sock';

function dockerAvailable(): string | undefined {
  const docker = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p));
  if (!docker) return undefined;
  const probe = spawnSync('unshare', ['-n', docker, '--version'], { encoding: 'utf8' });
  return probe.status === 0 ? docker : undefined;
}

const docker = dockerAvailable();

function dockerAccepts(ref: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    execFile(
      'unshare',
      ['-n', docker!, 'pull', '--', ref],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', DOCKER_HOST: NO_SOCKET }, timeout: 10_000 },
      (_err, stdout, stderr) => {
        const out = `${stdout}${stderr}`;
        if (/Cannot connect to the Docker daemon/.test(out)) resolve(true);
        else if (/invalid reference format|repository name must|must be lowercase|cannot specify 64-byte|invalid (digest|checksum)|unsupported digest|too long/i.test(out)) resolve(false);
        else reject(new Error(`unexpected docker output for ${JSON.stringify(ref)}: ${out.slice(0, 300)}`));
      },
    );
  });
}

/** References docker accepts and we refuse, on purpose. */
const DIVERGENCES = [
  // docker re-parses "foo_bar.com/app" as a domain-less name; a pull then has no registry to go to
  'foo_bar.com/app',
  'a.b_c-d/e',
  // no such TCP port
  'localhost:99999/foo',
  // sha384 is not an OCI-registered digest algorithm; we hash with sha256 and sha512 only
  `nginx@sha384:${'f'.repeat(96)}`,
];

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('parseReference agrees with the docker CLI', { skip: docker ? false : 'docker CLI or unshare not available' }, () => {
  it('gives docker\'s verdict on every table case', async () => {
    const inputs = [...valid.map((c) => c.input), ...invalid.map((c) => c.input)];
    const differ: string[] = [];
    await pool(inputs, 4, async (input) => {
      const theirs = await dockerAccepts(input);
      const ours = isReference(input);
      if (theirs !== ours && !DIVERGENCES.includes(input)) differ.push(`${input}: docker ${theirs ? 'accepts' : 'refuses'}, we ${ours ? 'accept' : 'refuse'}`);
    });
    assert.deepEqual(differ, []);
  });

  it('still accepts what we refuse on purpose (so this list stays true)', async () => {
    for (const input of DIVERGENCES) {
      assert.equal(await dockerAccepts(input), true, input);
      assert.equal(isReference(input), false, input);
    }
  });

  it('refuses a bare image ID and accepts it with a tag, as we do', async () => {
    const id = `1a${H.slice(2)}`;
    assert.equal(await dockerAccepts(id), false);
    assert.equal(await dockerAccepts(`${id}:v1`), true);
    assert.equal(isReference(id), false);
    assert.equal(isReference(`${id}:v1`), true);
  });
});
