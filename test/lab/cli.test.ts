import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const cli = fileURLToPath(new URL('../../scripts/lab/cli.js', import.meta.url));

interface UpLine {
  url: string;
  host: string;
  pid: number;
  username?: string;
  password?: string;
  images: { ref: string; digest: string; mediaType: string; platforms: { platform: string; digest: string }[] }[];
}

describe('lab CLI', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'airgap-lab-cli-test-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('up: starts a seeded registry, prints one JSON line, stops everything on SIGTERM', async () => {
    const child = spawn(process.execPath, [cli, 'up', '--auth', 'basic', '--platforms', 'linux/amd64'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const line = await Promise.race([
      (async () => {
        for await (const l of createInterface({ input: child.stdout! })) return l;
        return '';
      })(),
      sleep(60000, '', { ref: false }),
    ]);
    assert.ok(line, `a JSON line on stdout (stderr: ${stderr})`);
    const up = JSON.parse(line) as UpLine;
    assert.match(up.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(up.images.length, 7);
    assert.ok(up.images.every((i) => i.platforms.length === 1 && i.platforms[0]!.platform === 'linux/amd64'));

    const auth = `Basic ${Buffer.from(`${up.username}:${up.password}`).toString('base64')}`;
    const pause = up.images.find((i) => i.ref === 'registry.k8s.io/pause:3.9')!;
    const head = await fetch(`${up.url}/v2/registry.k8s.io/pause/manifests/3.9`, {
      method: 'HEAD',
      headers: { authorization: auth, accept: pause.mediaType },
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('docker-content-digest'), pause.digest);

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.throws(() => process.kill(up.pid, 0), { code: 'ESRCH' });
  });

  it('generate: writes a layout to --out and describes it', async () => {
    const out = join(work, 'layout');
    const res = await execa(process.execPath, [cli, 'generate', '--scale', '0.01', '--out', out]);
    const summary = JSON.parse(res.stdout) as { layoutDir: string; images: { ref: string; digest: string }[] };
    assert.equal(summary.layoutDir, out);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), summary.images.map((i) => i.digest).sort());
    const again = await execa(process.execPath, [cli, 'generate', '--out', out], { reject: false });
    assert.notEqual(again.exitCode, 0);
    assert.match(again.stderr, /not empty/);
  });
});
