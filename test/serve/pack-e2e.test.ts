import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { startContainerd, type GeneratedImages } from '../../scripts/lab/index.js';
import { labSkip, startSeededLab, type SeededLab } from '../helpers/node-lab.js';
import { CLI, startServeProcess, type ServeProcess } from './cli-process.js';
import { sha256 } from './fixture.js';

/**
 * The "done when", end to end: a bundle made by `airgap pack` (kubeadm v1.30.14, every
 * platform, through a lab registry standing in for registry.k8s.io) served by `airgap serve`;
 * skopeo copies every image out with the bundle's digests and containerd's CRI pulls every image
 * by its original name through the hosts.toml the server prints.
 */

describe('serve: a packed kubeadm bundle, end to end', { skip: labSkip({ root: true }) }, () => {
  let lab: SeededLab;
  let dir: string;
  let gen: GeneratedImages;
  let serve: ServeProcess;
  let bundle: string;

  before(async () => {
    lab = await startSeededLab('airgap-serve-e2e-');
    ({ work: dir, gen } = lab);
    bundle = join(dir, 'k8s.tar');
    await execa(process.execPath, [CLI, 'pack', '--kubernetes', 'v1.30.14', ...lab.mirrorArgs, '--platform', 'all', '-o', bundle], { stdin: 'ignore', timeout: 60_000 });
    // Offline from here: the only registry left is the bundle.
    await lab.upstream.stop();
    serve = await startServeProcess(bundle);
  });

  after(async () => {
    if (serve) {
      serve.kill('SIGTERM');
      assert.equal(await serve.exited, 0);
    }
    await lab?.stop();
  });

  it('skopeo copies every image out --all --preserve-digests with the bundle\'s digests', async () => {
    const host = serve.url.replace(/^http:\/\//, '');
    for (const img of gen.images) {
      const out = join(dir, `copy-${img.repository.replace(/\//g, '_')}`);
      await execa('skopeo', ['copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--retry-times', '0', `docker://${host}/${img.ref}`, `dir:${out}`],
        { stdin: 'ignore', timeout: 60_000 });
      assert.equal(sha256(await readFile(join(out, 'manifest.json'))), img.digest, img.ref);
      const files = await readdir(out);
      for (const p of img.platforms) {
        assert.ok(files.includes(`${p.digest.slice(7)}.manifest.json`), `${img.ref} ${p.platform} manifest`);
        for (const l of [p.config, ...p.layers]) {
          const bytes = await readFile(join(out, l.digest.slice(7)));
          assert.equal(sha256(bytes), l.digest, `${img.ref} ${p.platform} ${l.digest}`);
        }
      }
    }
  });

  it('containerd pulls every image by its original name through the printed hosts.toml (CRI)', async () => {
    const ready = serve.events.find((e) => e.event === 'ready') as { hostsToml: Record<string, string> };
    const lab = await startContainerd({ dir: join(dir, 'ctrd') });
    try {
      for (const [registry, toml] of Object.entries(ready.hostsToml)) {
        await mkdir(join(lab.hostsDir, registry), { recursive: true });
        await writeFile(join(lab.hostsDir, registry, 'hosts.toml'), toml);
      }
      for (const img of gen.images) {
        await lab.cri.pullImage(img.ref);
        const status = await lab.cri.imageStatus(img.ref);
        assert.ok(status?.repoDigests.includes(`${img.registry}/${img.repository}@${img.digest}`), `${img.ref}: ${status?.repoDigests.join(', ')}`);
      }
    } finally {
      await lab.stop();
    }
  });
});
