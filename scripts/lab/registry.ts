import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeCa, makeSelfSignedCert, makeServerCert, type CertFiles } from './certs.js';
import { freePort } from './ports.js';
import { httpAnswers, logTail, startDaemon, type Daemon } from './process.js';
import { startTokenServer, type TokenRequestRecord } from './token-server.js';
import type { KeyHeaderStyle } from './jwt.js';

export type RegistryAuth = 'none' | 'basic' | 'token';

export interface StartRegistryOptions {
  auth?: RegistryAuth;
  tls?: boolean;
  /**
   * Working directory (config, certs, storage under data/). Given: kept on stop, and a second
   * registry started on it sees the same content. Omitted: a fresh temp dir, removed on stop
   * (unless AIRGAP_LAB_KEEP=1).
   */
  dir?: string;
  /** Credentials for basic/token modes (defaults: "lab" and a random password). */
  username?: string;
  password?: string;
  /** Token mode: hand anonymous clients pull-only tokens instead of refusing them. */
  anonymousPull?: boolean;
  /** Token mode: how the JWT names its key ('x5c' chain or libtrust 'kid'); both verify. */
  tokenKeyHeader?: KeyHeaderStyle;
  tokenTtlSeconds?: number;
  /** Serve in read-only maintenance mode (pushes answer 405/503-style errors). */
  readOnly?: boolean;
}

export interface LabRegistry {
  /** Base URL, e.g. http://127.0.0.1:41234 or https://127.0.0.1:41234 (no trailing slash). */
  url: string;
  /** '127.0.0.1:PORT' */
  host: string;
  port: number;
  auth: RegistryAuth;
  tls: boolean;
  /** The lab CA's certificate (PEM file), when tls. */
  caFile?: string;
  /** The same, PEM text. */
  ca?: string;
  /** A directory holding only ca.crt: what skopeo's --*-cert-dir and docker's certs.d expect. */
  caDir?: string;
  username?: string;
  password?: string;
  dir: string;
  configFile: string;
  logFile: string;
  pid: number;
  tokenServer?: {
    url: string;
    service: string;
    /** Every token request so far, in order (tests may clear it with `.length = 0`). */
    requests: TokenRequestRecord[];
  };
  stop(): Promise<void>;
}

const SERVICE = 'airgap-lab-registry';
const ISSUER = 'airgap-lab-token-server';

/**
 * Start a real distribution registry (Debian's docker-registry 2.8) on a free loopback port.
 * Deletion is enabled so tests can delete manifests and blobs.
 */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<LabRegistry> {
  const auth = opts.auth ?? 'none';
  const tls = opts.tls ?? false;
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'airgap-lab-registry-')));
  await mkdir(join(dir, 'data'), { recursive: true });
  const scheme = tls ? 'https' : 'http';

  const config: Record<string, unknown> = {
    version: '0.1',
    log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: join(dir, 'data') },
      delete: { enabled: true },
      // No background purge of uploads: keeps the log quiet and timing predictable.
      maintenance: { uploadpurging: { enabled: false }, readonly: { enabled: opts.readOnly ?? false } },
    },
    http: {
      addr: '', // set per attempt below
      secret: randomBytes(16).toString('hex'),
      headers: { 'X-Content-Type-Options': ['nosniff'] },
    },
  };
  const http = config.http as Record<string, unknown>;

  let ca: CertFiles | undefined;
  let server: CertFiles | undefined;
  if (tls || auth === 'token') {
    const certDir = join(dir, 'certs');
    await mkdir(certDir, { recursive: true });
    if (tls) {
      ca = await makeCa(certDir);
      server = await makeServerCert(certDir, ca);
      await mkdir(join(dir, 'ca'), { recursive: true });
      await writeFile(join(dir, 'ca', 'ca.crt'), ca.certPem);
      http.tls = { certificate: server.certFile, key: server.keyFile };
    }
  }

  const username = auth === 'none' ? undefined : (opts.username ?? 'lab');
  const password = auth === 'none' ? undefined : (opts.password ?? randomBytes(9).toString('base64url'));

  let tokenServer: Awaited<ReturnType<typeof startTokenServer>> | undefined;
  if (auth === 'basic') {
    const htpasswd = join(dir, 'htpasswd');
    // bcrypt is the only hash distribution accepts; -i reads the password from stdin, not argv.
    await execa('htpasswd', ['-Bic', htpasswd, username!], { input: password! });
    config.auth = { htpasswd: { realm: 'airgap-lab', path: htpasswd } };
  } else if (auth === 'token') {
    const signing = await makeSelfSignedCert(join(dir, 'certs'), 'token-signing');
    tokenServer = await startTokenServer({
      service: SERVICE,
      issuer: ISSUER,
      keyPem: await readFile(signing.keyFile, 'utf8'),
      certPem: signing.certPem,
      users: { [username!]: password! },
      anonymousPull: opts.anonymousPull ?? false,
      keyHeader: opts.tokenKeyHeader ?? 'x5c',
      ttlSeconds: opts.tokenTtlSeconds ?? 300,
      tls: server ? { certPem: server.certPem, keyPem: await readFile(server.keyFile, 'utf8') } : undefined,
    });
    config.auth = {
      token: { realm: tokenServer.url, service: SERVICE, issuer: ISSUER, rootcertbundle: signing.certFile },
    };
  }

  // REGISTRY_* variables override the config file; never inherit them.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
  let port = 0;
  let url = '';
  let configFile = '';
  let logFile = '';
  let daemon: Daemon | undefined;
  // freePort() can race with another process grabbing the port before the registry binds it: on
  // "address already in use" try another port.
  for (let attempt = 1; !daemon; attempt++) {
    port = await freePort();
    url = `${scheme}://127.0.0.1:${port}`;
    http.addr = `127.0.0.1:${port}`;
    // JSON is YAML: no emitter needed, and no quoting surprises in paths.
    configFile = join(dir, `config-${port}.yml`);
    await writeFile(configFile, JSON.stringify(config, null, 2) + '\n');
    logFile = join(dir, `registry-${port}.log`);
    try {
      daemon = await startDaemon({
        name: 'docker-registry',
        command: 'docker-registry',
        args: ['serve', configFile],
        logFile,
        cwd: dir,
        env,
        ready: () => httpAnswers(`${url}/v2/`, ca?.certPem),
      });
    } catch (err) {
      if (attempt < 3 && /address already in use/.test(logTail(logFile))) continue;
      await tokenServer?.stop();
      if (ownDir) await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
  const running = daemon;

  let stopped: Promise<void> | undefined;
  const reg: LabRegistry = {
    url,
    host: `127.0.0.1:${port}`,
    port,
    auth,
    tls,
    dir,
    configFile,
    logFile,
    pid: running.pid,
    stop() {
      stopped ??= (async () => {
        await running.stop();
        await tokenServer?.stop();
        if (ownDir && process.env.AIRGAP_LAB_KEEP !== '1') await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  if (ca) {
    reg.caFile = ca.certFile;
    reg.ca = ca.certPem;
    reg.caDir = join(dir, 'ca');
  }
  if (username !== undefined) reg.username = username;
  if (password !== undefined) reg.password = password;
  if (tokenServer) reg.tokenServer = { url: tokenServer.url, service: SERVICE, requests: tokenServer.requests };
  return reg;
}
