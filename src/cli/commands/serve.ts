import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { DEFAULT_ADDR } from '../../serve/address.js';
import type { ServeEvent } from '../../serve/events.js';
import { startServer, type RunningServer } from '../../serve/server.js';
import { formatBytes } from '../progress-format.js';

interface ServeFlags {
  addr: string;
  tlsCert?: string;
  tlsKey?: string;
  prefix?: string;
  shutdownTimeout?: string;
  verbose?: boolean;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  # on the node: a registry for containerd straight from the bundle file
  airgap serve k8s.tar

  # for other nodes, over TLS
  airgap serve k8s.tar --addr 0.0.0.0:5443 --tls-cert tls.crt --tls-key tls.key

Repositories are laid out as airgap load pushes them (registry.k8s.io/pause:3.9 is
/v2/registry.k8s.io/pause/manifests/3.9), so the same hosts.toml works with either; the banner
prints it. containerd's ?ns= form (/v2/pause/manifests/3.9?ns=registry.k8s.io) works too.
SIGTERM or Ctrl-C stops accepting, lets downloads in flight finish, and exits 0.`;

function parseTimeout(v: string | undefined): number {
  if (v === undefined) return 30_000;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 86_400) {
    throw new UsageError('ERR_INVALID_SHUTDOWN_TIMEOUT', `invalid --shutdown-timeout "${v}": expected seconds from 0 to 86400`, {
      hint: 'e.g. --shutdown-timeout 30',
    });
  }
  return Math.round(n * 1000);
}

/** One line per request, as access logs read: method, path, status, bytes, time, client. */
function requestLine(e: Extract<ServeEvent, { event: 'request' }>): string {
  const note = e.note ? ` (${e.note})` : '';
  return `${e.method} ${e.path} ${e.status} ${formatBytes(e.bytes)} ${e.ms.toFixed(1)}ms ${e.remote}${note}\n`;
}

function banner(s: RunningServer, bundle: string, listen: string, ms: number): string {
  const wildcard = /^(0\.0\.0\.0|\[::\]):/.test(listen);
  const st = s.stats;
  const lines = [
    `airgap serve: ${bundle}: ${st.images} image${st.images === 1 ? '' : 's'} in ${st.repositories} repositor${st.repositories === 1 ? 'y' : 'ies'}, ` +
      `${st.blobs} blobs (${formatBytes(st.bytes)})`,
    wildcard
      ? `listening on ${listen} (every interface): ${s.url} on this machine${s.prefix ? `, under /v2/${s.prefix}/` : ''} (ready in ${ms} ms)`
      : `listening on ${s.url}${s.prefix ? ` under /v2/${s.prefix}/` : ''} (ready in ${ms} ms)`,
    `checked at startup: the bundle's structure and ${st.manifests} manifests against their digests; ` +
      'blobs are streamed as stored (airgap verify re-hashes them)',
    '',
    'images:',
    ...s.images.map((i) => `  ${i.ref}`),
    '',
    'containerd (config_path = "/etc/containerd/certs.d"): one hosts.toml per registry',
    ...(wildcard ? [`(on other nodes, write this machine's address in place of ${new URL(s.url).hostname})`] : []),
  ];
  for (const r of s.registries) {
    lines.push('', `# /etc/containerd/certs.d/${r}/hosts.toml`, s.hostsToml(r).trimEnd());
  }
  lines.push('', 'SIGTERM or Ctrl-C stops the server; downloads in flight finish first.', '');
  return lines.join('\n');
}

async function run(bundle: string, flags: ServeFlags): Promise<void> {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new UsageError('ERR_SERVE_TLS_FLAGS', '--tls-cert and --tls-key go together: give both, or neither for plain HTTP', {
      hint: 'e.g. --tls-cert /etc/airgap/tls.crt --tls-key /etc/airgap/tls.key',
    });
  }
  const shutdownTimeoutMs = parseTimeout(flags.shutdownTimeout);
  const verbose = flags.verbose || !!process.env.AIRGAP_DEBUG;
  const json = flags.json ?? false;
  const out = (line: string): void => {
    process.stdout.write(line);
  };
  let ready: Extract<ServeEvent, { event: 'ready' }> | undefined;
  const onEvent = (e: ServeEvent): void => {
    if (e.event === 'ready') {
      ready = e;
      return; // printed below, with the images and hosts.toml that the server object holds
    }
    if (json) {
      if (e.event !== 'request' || verbose || e.status >= 500 || e.note) out(`${JSON.stringify(e)}\n`);
      return;
    }
    switch (e.event) {
      case 'warning':
        process.stderr.write(`warning: ${e.message}\n`);
        break;
      case 'notice':
        process.stderr.write(`note: ${e.message}\n`);
        break;
      case 'request':
        // Our own failures always show; a client that walked away only with --verbose.
        if (verbose || e.status >= 500 || (e.note && e.note !== 'client closed the connection')) process.stderr.write(requestLine(e));
        break;
      case 'closing':
        process.stderr.write(`stopping: ${e.inFlight ? `${e.inFlight} request(s) in flight, letting them finish` : 'no requests in flight'}\n`);
        break;
      case 'closed':
        process.stderr.write(e.forced ? `stopped: cut ${e.inFlight} request(s) still running\n` : 'stopped\n');
        break;
    }
  };

  const server = await startServer({
    bundle,
    addr: flags.addr,
    ...(flags.tlsCert !== undefined && flags.tlsKey !== undefined ? { tls: { cert: flags.tlsCert, key: flags.tlsKey } } : {}),
    ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
    shutdownTimeoutMs,
    onEvent,
    // Once per compressed archive: decompressed into a cache file beside it (serve needs random access).
    onDecompress: (() => {
      let last = 0;
      return (done: number, total: number): void => {
        const pct = Math.floor((done / total) * 100);
        if (!json && pct >= last + 10) {
          last = pct;
          process.stderr.write(`decompressing ${bundle} for random access: ${pct}%\n`);
        }
      };
    })(),
  });
  // The CLI's own SIGINT handler exits 130 at once; a server stops gracefully instead and exits 0.
  process.removeAllListeners('SIGINT');
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    // A second signal means "now": cut what is still running.
    void server.close(signals > 1 ? { timeoutMs: 0 } : {});
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Handlers first, then the banner: whoever reads it may signal at once.
  if (json) {
    const hostsToml = Object.fromEntries(server.registries.map((r) => [r, server.hostsToml(r)]));
    out(`${JSON.stringify({ ...ready, event: 'ready', url: server.url, images: server.images, hostsToml })}\n`);
  } else {
    out(banner(server, bundle, ready?.listen ?? server.url, ready?.ms ?? 0));
  }

  try {
    await server.closed;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export function register(program: Command): void {
  program
    .command('serve')
    .summary('serve a bundle as a read-only OCI registry, in place (no extraction)')
    .description(
      'A read-only OCI distribution registry straight from the bundle file: manifests, blobs (with Range), tags and catalog, ' +
        'in the repository layout airgap load pushes, for containerd mirrors (hosts.toml), skopeo, crane and docker.',
    )
    .argument('<bundle>', 'the bundle (tar) to serve; also a docker-archive (docker save, k3s/RKE2 image tarballs), and .tar.gz/.tar.zst (decompressed once into a cache file beside it: .NAME.SIZE-MTIME.airgap-cache.tar)')
    .option('--addr <host:port>', 'where to listen', DEFAULT_ADDR)
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--prefix <path>', 'serve every repository under this path, as load --registry URL/<path> pushes them')
    .option('--shutdown-timeout <seconds>', 'on SIGTERM, how long downloads in flight may take to finish (default 30)')
    .option('-v, --verbose', 'log every request')
    .option('--json', 'events as JSON lines on stdout (ready, warning, request, closing, closed)')
    .addHelpText('after', EXAMPLES)
    .action(async (bundle: string, flags: ServeFlags) => {
      await run(bundle, flags);
    });
}
