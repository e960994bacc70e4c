import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The CLI users run: dist/airgap.cjs, the package's `airgap` bin (`npm run build`: tsc, then
 * scripts/bundle.mjs). Tests and scripts spawn it with `node CLI …`.
 */
export const CLI = join(ROOT, 'dist', 'airgap.cjs');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * `npx tsc -p .` alone rebuilds dist/src but not the bundle: one older than the sources (or the
 * script) it is made from is made again here, so a test never runs yesterday's CLI.
 */
function ensureFresh(): void {
  const built = statSync(CLI, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const script = join(ROOT, 'scripts', 'bundle.mjs');
  if (built >= Math.max(newestMtime(join(ROOT, 'src')), statSync(script).mtimeMs)) return;
  execFileSync(process.execPath, [script], { stdio: ['ignore', 'ignore', 'inherit'] });
}

ensureFresh();

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `airgap ARGS` as a user runs it (plain output, no debug), never throwing on a non-zero exit. */
export function airgap(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', CI: '1', AIRGAP_DEBUG: '' }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
