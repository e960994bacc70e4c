#!/usr/bin/env node
/**
 * `npm run build` (after tsc): the CLI bundled into one CommonJS file, dist/airgap.cjs — the
 * package's `airgap` bin — and undici into dist/undici.cjs beside it (see SIBLINGS). Loading the tsc
 * output means hundreds of ES modules (commander, execa, ora, undici, ours) resolved and linked one
 * by one: ~100 ms of a command's startup on a 2-core machine. One file is read and compiled at once.
 *
 *   node scripts/bundle.mjs
 *
 * The code that turns src/cli/main.ts into that file is shared with scripts/build-exe.mjs (the
 * single executable embeds the same bundle).
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Every `import.meta.url` in src/ (manifests/*.json, package.json's version, the verify hash worker,
 * dist/exe) becomes `__airgapMetaUrl("dist/src/….js")`: the URL the tsc output of that module would
 * have, as a path from the package root. The bundle's banner defines where that root is.
 */
function metaUrlPlugin(root) {
  const src = join(root, 'src') + sep;
  return {
    name: 'import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (a) => {
        if (!a.path.startsWith(src)) return undefined;
        const rel = `dist/${relative(root, a.path).split(sep).join('/').replace(/\.ts$/, '.js')}`;
        // main.ts's own #! line goes: the banner decides the bundle's first line.
        const text = readFileSync(a.path, 'utf8').replace(/^#!.*\n/, '').replaceAll('import.meta.url', `__airgapMetaUrl(${JSON.stringify(rel)})`);
        return { contents: text, loader: 'ts' };
      });
    },
  };
}

/**
 * The package root as seen from a bundle written to `outfile` inside the package: resolved from the
 * bundle's own location when it runs, so an installed package works wherever it lives.
 */
export function packageRootBanner(outfile, root = ROOT) {
  const up = relative(dirname(outfile), root).split(sep).join('/');
  return `#!/usr/bin/env node
"use strict";
var __airgapRoot = require("node:path").join(__dirname, ${JSON.stringify(up)});
function __airgapMetaUrl(rel) {
  return require("node:url").pathToFileURL(require("node:path").join(__airgapRoot, rel)).href;
}`;
}

/**
 * Packages the npm bundle leaves out, each bundled into a file of its own beside it and required
 * only when first used. undici is half the CLI's bytes (~1 MiB) and only request bodies (load's
 * uploads, OAuth2 token requests) and doctor's mirror probe need it: in the one file, every command
 * would pay to compile it at startup (~25 ms on a 2-core machine).
 */
export const SIBLINGS = ['undici'];

/** `import … from 'undici'` becomes a module that requires <bundle dir>/undici.cjs when initialised. */
function siblingsPlugin(names) {
  return {
    name: 'sibling-packages',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (a) => (names.includes(a.path) ? { path: a.path, namespace: 'sibling' } : undefined));
      // A computed path: esbuild leaves the require alone, and named exports stay plain properties.
      b.onLoad({ filter: /.*/, namespace: 'sibling' }, (a) => ({
        contents: `module.exports = require(require("node:path").join(__dirname, ${JSON.stringify(`${a.path}.cjs`)}));`,
        loader: 'js',
      }));
    },
  };
}

const common = (target) => ({ bundle: true, platform: 'node', format: 'cjs', target, legalComments: 'none', logLevel: 'silent', write: false });

/**
 * Write esbuild's output files under temporary names, then rename: a CLI started while the build
 * runs (tests, another build) sees the old file or the new one, never half of one.
 */
function commit(r, mode) {
  for (const f of r.outputFiles) {
    const tmp = `${f.path}.tmp-${process.pid}`;
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(tmp, f.contents, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, f.path);
  }
  return r.warnings.map((w) => `esbuild: ${w.text} (${w.location?.file ?? ''})`);
}

/**
 * Bundle src/cli/main.ts into one CommonJS file. `banner` comes first (a `#!` line, if any, is its
 * own) and must define `function __airgapMetaUrl(rel: string): string` (rel: "dist/src/….js", from
 * the package root). `siblings`: packages written as <name>.cjs beside `outfile` instead (they
 * must be there at run time). `outfile` is executable. Returns esbuild's warnings.
 */
export async function bundleCli(esbuild, { outfile, banner, target, siblings = [], root = ROOT }) {
  const r = await esbuild.build({
    ...common(target),
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile,
    banner: { js: banner },
    plugins: [metaUrlPlugin(root), ...(siblings.length ? [siblingsPlugin(siblings)] : [])],
  });
  const warnings = [];
  const require = createRequire(join(root, 'package.json'));
  // Siblings first: a new CLI never runs beside an old or missing sibling.
  for (const name of siblings) {
    const s = await esbuild.build({ ...common(target), entryPoints: [require.resolve(name)], outfile: join(dirname(outfile), `${name}.cjs`) });
    warnings.push(...commit(s, 0o644));
  }
  warnings.push(...commit(r, 0o755));
  return warnings;
}

async function main() {
  const started = Date.now();
  const esbuild = await import('esbuild');
  const outfile = join(ROOT, 'dist', 'airgap.cjs');
  const warnings = await bundleCli(esbuild, { outfile, banner: packageRootBanner(outfile), target: 'node20', siblings: SIBLINGS });
  for (const w of warnings) process.stderr.write(`bundle: ${w}\n`);
  const made = [outfile, ...SIBLINGS.map((n) => join(dirname(outfile), `${n}.cjs`))].map((f) => relative(ROOT, f));
  process.stderr.write(`bundle: ${made.join(', ')} in ${Date.now() - started} ms\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    process.stderr.write(`bundle: ${e.stack ?? e}\n`);
    process.exit(1);
  });
}
