/**
 * The `airgap` bin is bundled: dist/airgap.cjs, and undici in dist/undici.cjs beside it
 * (scripts/bundle.mjs). Here it runs as an installed package has it: the tarball `npm pack` makes,
 * unpacked where `npm install -g` puts it, started by its own #! line through a bin/ symlink, with
 * no node_modules next to it. Everything it reads beside its code (package.json, manifests/, the
 * verify hash worker, undici) must come from there.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, open, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BundleReader } from '../../src/bundle/reader.js';
import { generateImages, type GeneratedImages } from '../../scripts/lab/index.js';
import { CLI } from '../helpers/cli.js';
import { bundleFromLayout } from '../helpers/lab-bundle.js';
import { makeTempDir } from '../helpers/make-bundle.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN_JS = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const INSTALLED_VERSION = '0.0.0-installed';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Run> {
  // PATH leads to this node: the bin's `#!/usr/bin/env node` finds it there.
  const env = { ...process.env, NO_COLOR: '1', CI: '1', PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  return new Promise((resolve) => {
    execFile(file, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
let cleanup: () => Promise<void>;
/** <prefix>/bin/airgap -> ../lib/node_modules/airgap/dist/airgap.cjs, as npm install -g links it */
let bin: string;
let gen: GeneratedImages;
/** the lab's kubeadm set at scale 0.1: 36 MiB, above the size verify hashes in worker threads */
let big: string;
/** big with one byte of a layer flipped */
let bigFlipped: string;

before(async () => {
  ({ dir, cleanup } = await makeTempDir('airgap-bundled-'));
  const packed = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir]);
  assert.equal(packed.code, 0, packed.stderr);
  const tgz = join(dir, packed.stdout.trim().split('\n').pop()!);
  const pkgDir = join(dir, 'prefix', 'lib', 'node_modules', 'airgap');
  await mkdir(pkgDir, { recursive: true });
  const untar = await run('tar', ['-xzf', tgz, '-C', pkgDir, '--strip-components=1']);
  assert.equal(untar.code, 0, untar.stderr);
  // Another version than the checkout's: --version must read the installed package.json.
  const pkgJson = join(pkgDir, 'package.json');
  const pkg = JSON.parse(await readFile(pkgJson, 'utf8')) as { version: string; bin: Record<string, string> };
  await writeFile(pkgJson, JSON.stringify({ ...pkg, version: INSTALLED_VERSION }));
  bin = join(dir, 'prefix', 'bin', 'airgap');
  await mkdir(dirname(bin));
  await symlink(join('..', 'lib', 'node_modules', 'airgap', pkg.bin.airgap!), bin);

  gen = await generateImages({ scale: 0.1 });
  big = (await bundleFromLayout(gen.layoutDir, join(dir, 'big.tar'))).path;
  bigFlipped = join(dir, 'big-flipped.tar');
  await copyFile(big, bigFlipped);
  const reader = await BundleReader.open(big);
  const layer = reader.blobRange(gen.images[0]!.platforms[0]!.layers[0]!.digest)!;
  await reader.close();
  const fh = await open(bigFlipped, 'r+');
  const at = layer.offset + Math.floor(layer.size / 2);
  const { buffer } = await fh.read(Buffer.alloc(1), 0, 1, at);
  await fh.write(Buffer.from([buffer[0]! ^ 0xff]), 0, 1, at);
  await fh.close();
});
after(async () => {
  await cleanup();
});

describe('the airgap bin as installed from the npm tarball', () => {
  it('is the bundled dist/airgap.cjs, executable, and tests run the same file', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin.airgap, 'dist/airgap.cjs');
    assert.equal(CLI, join(ROOT, 'dist', 'airgap.cjs'));
    assert.ok(((await stat(CLI)).mode & 0o111) !== 0, `${CLI} is not executable`);
    assert.ok((await readFile(CLI, 'utf8')).startsWith('#!/usr/bin/env node\n'));
  });

  it('starts by its #! line through the bin symlink and reads its own package.json', async () => {
    const r = await run(bin, ['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), INSTALLED_VERSION);
  });

  it('reads the Kubernetes image data from its own manifests/', async () => {
    const r = await run(bin, ['images', '--kubernetes', 'v1.30.14']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^registry\.k8s\.io\/kube-apiserver:v1\.30\.14$/m);
    assert.match(r.stdout, /^registry\.k8s\.io\/pause:3\.9$/m);
  });

  it('ships undici as dist/undici.cjs: doctor, whose mirror probe imports it, starts', async () => {
    const r = await run(bin, ['doctor', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: airgap doctor/);
  });

  it('verifies a bundle with its hashing threads (dist/src/verify/hash-worker.js)', async () => {
    const ok = await run(bin, ['verify', big]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, new RegExp(`^OK: ${gen.images.length} images`, 'm'));
    const bad = await run(bin, ['verify', bigFlipped]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^FAILED:/m);
  });
});

describe('dist/src/cli/main.js (the tsc output) still runs', () => {
  it('answers --version and verify --help like the bundle', async () => {
    const [tsc, bundled] = await Promise.all([run(process.execPath, [MAIN_JS, '--version']), run(process.execPath, [CLI, '--version'])]);
    assert.equal(tsc.code, 0, tsc.stderr);
    assert.equal(tsc.stdout, bundled.stdout);
    const [tscHelp, bundledHelp] = await Promise.all([run(process.execPath, [MAIN_JS, 'verify', '--help']), run(process.execPath, [CLI, 'verify', '--help'])]);
    assert.equal(tscHelp.code, 0, tscHelp.stderr);
    assert.equal(tscHelp.stdout, bundledHelp.stdout);
    assert.match(tscHelp.stdout, /Usage: airgap verify/);
  });
});
