/** A temp directory standing for / in the node layer's tests: files by path relative to it. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { makeTempDir } from '../helpers/make-bundle.js';

export interface FakeRoot {
  dir: string;
  path(rel: string): string;
  write(rel: string, text?: string): Promise<string>;
  mkdir(rel: string): Promise<string>;
  read(rel: string): Promise<string | null>;
  /** A real unix socket at rel (closed by cleanup). */
  socket(rel: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function fakeRoot(files: Record<string, string> = {}): Promise<FakeRoot> {
  const t = await makeTempDir('airgap-node-');
  const servers: Server[] = [];
  const root: FakeRoot = {
    dir: t.dir,
    path: (rel) => join(t.dir, rel),
    async write(rel, text = '') {
      const p = join(t.dir, rel);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, text);
      return p;
    },
    async mkdir(rel) {
      const p = join(t.dir, rel);
      await mkdir(p, { recursive: true });
      return p;
    },
    async read(rel) {
      return readFile(join(t.dir, rel), 'utf8').catch(() => null);
    },
    async socket(rel) {
      const p = join(t.dir, rel);
      await mkdir(dirname(p), { recursive: true });
      const server = createServer();
      servers.push(server);
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(p, () => res());
      });
      return p;
    },
    async cleanup() {
      await Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res()))));
      await t.cleanup();
    },
  };
  for (const [rel, text] of Object.entries(files)) await root.write(rel, text);
  return root;
}

/** Run fn with a fresh fake root, always cleaned up. */
export async function withRoot<T>(files: Record<string, string>, fn: (r: FakeRoot) => Promise<T>): Promise<T> {
  const r = await fakeRoot(files);
  try {
    return await fn(r);
  } finally {
    await r.cleanup();
  }
}
