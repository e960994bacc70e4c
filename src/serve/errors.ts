import { AirgapError, CheckError, FileError, UsageError } from '../errors.js';

/** --addr that is not host:port. */
export class InvalidListenAddressError extends UsageError {
  constructor(readonly addr: string, reason: string) {
    super('ERR_SERVE_ADDRESS', `invalid listen address ${JSON.stringify(addr)}: ${reason}`, {
      hint: 'use HOST:PORT, e.g. --addr 127.0.0.1:5000, --addr 0.0.0.0:5000 (all interfaces) or --addr [::1]:5000',
      details: { addr },
    });
  }
}

/** --prefix that cannot be part of a repository name. */
export class InvalidPrefixError extends UsageError {
  constructor(readonly prefix: string, reason: string) {
    super('ERR_SERVE_PREFIX', `invalid --prefix ${JSON.stringify(prefix)}: ${reason}`, {
      hint: 'use lowercase path components separated by "/", e.g. --prefix mirror or --prefix team/k8s',
      details: { prefix },
    });
  }
}

/** The address could not be bound: in use, not an address of this machine, or a privileged port. */
export class ListenError extends AirgapError {
  constructor(readonly addr: string, reason: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const hint = code === 'EADDRINUSE'
      ? `another process listens on ${addr}; stop it or choose another port with --addr`
      : code === 'EACCES'
        ? 'ports below 1024 need root; choose a higher port with --addr'
        : 'choose an address of this machine with --addr, e.g. 127.0.0.1:5000';
    super('ERR_SERVE_LISTEN', 'usage', `cannot listen on ${addr}: ${reason}`, { hint, details: { addr, errno: code }, cause });
  }
}

/** --tls-cert / --tls-key missing, unreadable or not a matching PEM pair. */
export class TlsConfigError extends AirgapError {
  constructor(message: string, hint: string, io: boolean, cause?: unknown) {
    super('ERR_SERVE_TLS', io ? 'io' : 'usage', message, { hint, cause });
  }
}

/** --tls-cert given without --tls-key or the other way round. */
export class TlsFlagsError extends UsageError {
  constructor() {
    super('ERR_SERVE_TLS_FLAGS', '--tls-cert and --tls-key go together: give both, or neither for plain HTTP', {
      hint: 'e.g. --tls-cert /etc/airgap/tls.crt --tls-key /etc/airgap/tls.key',
    });
  }
}

/**
 * A manifest or index in the bundle that does not match its digest or does not parse. Serving it
 * would hand clients content they must refuse, so serve refuses to start.
 */
export class BundleManifestError extends CheckError {
  constructor(readonly path: string, readonly digest: string, readonly image: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('ERR_SERVE_BAD_MANIFEST', `bundle ${path}: manifest ${digest} of ${image} cannot be served: ${why}`, {
      hint: `run "airgap verify ${path}" for the full report; pack or copy the bundle again`,
      details: { path, digest, image },
      cause,
    });
  }
}

/** A bundle that holds no image under a full name, so there would be nothing to pull. */
export class NothingToServeError extends FileError {
  constructor(readonly path: string, reason: string) {
    super('ERR_SERVE_NO_IMAGES', `bundle ${path} has no image to serve: ${reason}`, {
      hint: 'serve a bundle made by airgap pack, or an OCI layout tar whose index.json names images with io.containerd.image.name or org.opencontainers.image.ref.name',
      details: { path },
    });
  }
}
