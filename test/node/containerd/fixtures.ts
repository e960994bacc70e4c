/** Temp-dir fixtures for the containerd configuration tests. */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseToml, getPath } from '../../../src/node/containerd/toml.js';
import { configDump } from './node-containerd.js';

export interface Fixture {
  dir: string;
  path(rel: string): string;
  read(rel: string): Promise<string | null>;
  /** Every file under the fixture with its content and mode (for "nothing changed" checks). */
  snapshot(): Promise<Map<string, { text: string; mode: number; mtimeMs: number }>>;
  cleanup(): Promise<void>;
}

/** Files by relative path; `{{dir}}` in a text is replaced with the fixture's directory. */
export async function fixture(files: Record<string, string> = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'airgap-cd-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text.replaceAll('{{dir}}', dir));
  }
  const walk = async (d: string, out: Map<string, { text: string; mode: number; mtimeMs: number }>) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p, out);
      else {
        const st = await stat(p);
        out.set(relative(dir, p), { text: await readFile(p, 'utf8'), mode: st.mode & 0o7777, mtimeMs: st.mtimeMs });
      }
    }
    return out;
  };
  return {
    dir,
    path: (rel) => join(dir, rel),
    read: async (rel) => {
      try {
        return await readFile(join(dir, rel), 'utf8');
      } catch {
        return null;
      }
    },
    snapshot: () => walk(dir, new Map()),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface Dumped {
  sandboxImage: unknown;
  configPath: unknown;
  cri: unknown;
  root: Record<string, unknown>;
}

/** What the containerd installed here (1.6) would run with: `containerd config dump`, parsed. */
export async function dumped(configFile: string): Promise<Dumped> {
  const doc = parseToml(await configDump(configFile), 'config dump');
  const cri = getPath(doc.root, ['plugins', 'io.containerd.grpc.v1.cri']);
  return {
    sandboxImage: getPath(doc.root, ['plugins', 'io.containerd.grpc.v1.cri', 'sandbox_image']),
    configPath: getPath(doc.root, ['plugins', 'io.containerd.grpc.v1.cri', 'registry', 'config_path']),
    cri,
    root: doc.root,
  };
}
