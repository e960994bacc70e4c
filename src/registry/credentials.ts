import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_HUB } from '../oci/reference.js';
import { CredentialHelperError, InvalidCredentialsError } from './errors.js';
import { parseRegistryHost } from './mirrors.js';

/** A username and password (Basic, or to a token realm), or an OAuth2 refresh token from `docker login`. */
export type Credential =
  | { kind: 'basic'; username: string; password: string; source: string }
  | { kind: 'identity-token'; identityToken: string; username?: string; source: string };

/** The key docker uses for Docker Hub in config.json and with credential helpers. */
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';

/** "REGISTRY=USER:PASSWORD" (the password may hold ':' and '='). Never echoes the password. */
export function parseCredentialFlag(spec: string): { registry: string; username: string; password: string } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new InvalidCredentialsError('', 'expected REGISTRY=USER:PASSWORD');
  const regText = spec.slice(0, eq);
  const registry = parseRegistryHost(regText);
  if (!registry) throw new InvalidCredentialsError(regText.slice(0, 100), `"${regText.slice(0, 100)}" is not a registry host[:port]`);
  const rest = spec.slice(eq + 1);
  const colon = rest.indexOf(':');
  if (colon <= 0) throw new InvalidCredentialsError(registry, 'expected USER:PASSWORD after "="');
  const username = rest.slice(0, colon);
  const password = rest.slice(colon + 1);
  if (!password) throw new InvalidCredentialsError(registry, 'the password is empty');
  return { registry, username, password };
}

export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || join(homedir(), '.docker');
  return join(dir, 'config.json');
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** The server string a helper is asked about: what `docker login` stored it under. */
function helperServer(host: string): string {
  return host === DOCKER_HUB ? DOCKER_HUB_SERVER : host;
}

export interface CredentialStoreOptions {
  flags?: readonly string[];
  dockerConfig?: string;
  env?: NodeJS.ProcessEnv;
  /** Helpers get this long to answer. */
  helperTimeoutMs?: number;
  /** Told about helper trouble that does not stop anonymous access. */
  onWarning?: (registry: string, message: string) => void;
}

/**
 * Credentials per registry host: --creds flags first, then the docker config (credHelpers for the
 * host, auths, then the credsStore). Looked up lazily — only when a registry asks — and cached.
 */
export class CredentialStore {
  private readonly flags = new Map<string, Credential>();
  private readonly configPath: string;
  private config: Promise<DockerConfig> | undefined;
  private readonly cache = new Map<string, Promise<Credential | undefined>>();
  /** Why a helper gave nothing, to put in an auth error's hint. */
  private readonly problems = new Map<string, string>();

  constructor(private readonly opts: CredentialStoreOptions = {}) {
    for (const f of opts.flags ?? []) {
      const c = parseCredentialFlag(f);
      this.flags.set(c.registry, { kind: 'basic', username: c.username, password: c.password, source: '--creds' });
    }
    this.configPath = opts.dockerConfig ?? defaultDockerConfigPath(opts.env);
  }

  /** Credentials for a registry host (host[:port]; docker.io for Docker Hub), or undefined for anonymous. */
  get(registry: string): Promise<Credential | undefined> {
    const host = parseRegistryHost(registry) ?? registry.toLowerCase();
    let p = this.cache.get(host);
    if (!p) {
      p = this.lookup(host);
      this.cache.set(host, p);
    }
    return p;
  }

  /** A helper failure noted for this host, if any (for hints). */
  problem(registry: string): string | undefined {
    return this.problems.get(parseRegistryHost(registry) ?? registry);
  }

  private async lookup(host: string): Promise<Credential | undefined> {
    const flag = this.flags.get(host);
    if (flag) return flag;
    const cfg = await this.loadConfig();
    for (const [key, helper] of Object.entries(cfg.credHelpers ?? {})) {
      if (parseRegistryHost(key) === host && helper) {
        // A helper named for this very host is the user's explicit choice: its failure is an error.
        return this.runHelper(helper, key, host, true);
      }
    }
    for (const [key, entry] of Object.entries(cfg.auths ?? {})) {
      if (parseRegistryHost(key) !== host || !entry) continue;
      const c = decodeAuthEntry(entry, `${this.configPath} (auths)`);
      if (c) return c;
    }
    if (cfg.credsStore) return this.runHelper(cfg.credsStore, helperServer(host), host, false);
    return undefined;
  }

  private loadConfig(): Promise<DockerConfig> {
    this.config ??= (async () => {
      let text: string;
      try {
        text = await readFile(this.configPath, 'utf8');
      } catch {
        return {}; // no docker config is the normal case on a build machine
      }
      try {
        const doc = JSON.parse(text) as unknown;
        return typeof doc === 'object' && doc !== null ? (doc as DockerConfig) : {};
      } catch {
        this.opts.onWarning?.('*', `${this.configPath} is not valid JSON; ignoring it`);
        return {};
      }
    })();
    return this.config;
  }

  private async runHelper(helper: string, server: string, host: string, required: boolean): Promise<Credential | undefined> {
    if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
      throw new CredentialHelperError(helper.slice(0, 50), server, 'the helper name is not a plain program name');
    }
    try {
      const out = await execHelper(`docker-credential-${helper}`, server, this.opts.env ?? process.env, this.opts.helperTimeoutMs ?? 30_000);
      if (out === undefined) return undefined; // "credentials not found"
      let doc: { Username?: unknown; Secret?: unknown };
      try {
        doc = JSON.parse(out) as typeof doc;
      } catch {
        throw new CredentialHelperError(helper, server, 'its output is not JSON');
      }
      const username = typeof doc.Username === 'string' ? doc.Username : '';
      const secret = typeof doc.Secret === 'string' ? doc.Secret : '';
      if (!secret) return undefined;
      const source = `docker-credential-${helper}`;
      if (username === '<token>') return { kind: 'identity-token', identityToken: secret, source };
      return { kind: 'basic', username, password: secret, source };
    } catch (e) {
      const err = e instanceof CredentialHelperError ? e : new CredentialHelperError(helper, server, (e as Error).message, e);
      if (required) throw err;
      // A global credsStore that is missing here (a config copied from a desktop) must not stop anonymous pulls.
      this.problems.set(host, err.message);
      this.opts.onWarning?.(host, err.message);
      return undefined;
    }
  }
}

function decodeAuthEntry(entry: { auth?: string; username?: string; password?: string; identitytoken?: string }, source: string): Credential | undefined {
  if (entry.identitytoken) {
    const c: Credential = { kind: 'identity-token', identityToken: entry.identitytoken, source };
    if (entry.username) c.username = entry.username;
    return c;
  }
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return { kind: 'basic', username: decoded.slice(0, i), password: decoded.slice(i + 1), source };
  }
  if (entry.username && entry.password) return { kind: 'basic', username: entry.username, password: entry.password, source };
  return undefined;
}

/** Run `docker-credential-X get` with the server on stdin; undefined when it has no credentials. */
function execHelper(program: string, server: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Our own timer: spawn's `timeout` outlives a program that failed to start and holds the process open.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    timer.unref();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code === 'ENOENT' ? `${program} is not on PATH` : `cannot run ${program}: ${e.code ?? e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8').trim();
      // Helpers print the reason to stdout or stderr; only that short reason is kept, never the output otherwise.
      const reason = (Buffer.concat(err).toString('utf8').trim() || stdout).split('\n')[0]!.slice(0, 200);
      if (signal) return reject(new Error(`${program} was stopped by ${signal}${signal === 'SIGKILL' ? ` (no answer within ${timeoutMs} ms?)` : ''}`));
      if (code !== 0) {
        if (/credentials not found/i.test(reason)) return resolve(undefined);
        return reject(new Error(`${program} exited with ${code}: ${reason}`));
      }
      resolve(stdout);
    });
    child.stdin.on('error', () => { /* a helper that exits without reading stdin */ });
    child.stdin.end(`${server}\n`);
  });
}
