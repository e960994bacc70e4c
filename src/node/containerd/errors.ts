import { AirgapError, type AirgapErrorOptions, type ErrorKind } from '../../errors.js';

/**
 * Codes:
 * - ERR_CONTAINERD_CONFIG_SYNTAX (usage): a config file is not valid TOML
 * - ERR_CONTAINERD_CONFIG_V1 (usage): the config has no `version` (version 1), which we do not edit
 * - ERR_CONTAINERD_CONFIG_VERSION (usage): config version and containerd version disagree / unknown
 * - ERR_CONTAINERD_LEGACY_MIRRORS (usage): legacy `registry.mirrors` / `configs.tls`, which
 *   containerd rejects next to `config_path`
 * - ERR_CONTAINERD_HOSTS_DIR_CONFLICT (usage): --hosts-dir differs from the configured config_path
 * - ERR_CONTAINERD_CONFIG_LAYOUT (usage): a layout we cannot edit minimally (e.g. dotted keys)
 * - ERR_CONTAINERD_VERSION_UNKNOWN (runtime): containerd's version could not be detected
 * - ERR_CONTAINERD_CONFIG_READ / ERR_CONTAINERD_CONFIG_WRITE (io): file access failed
 * - ERR_CONTAINERD_CONFIG_CHANGED (io): a file changed between planning and applying
 * - ERR_CONTAINERD_MIRROR_URL (usage): the node registry URL is not usable
 */
export class ContainerdConfigError extends AirgapError {
  constructor(code: string, message: string, opts?: AirgapErrorOptions & { kind?: ErrorKind }) {
    super(code, opts?.kind ?? 'usage', message, opts);
  }
}

/** containerd, its socket or its ctr client failed (exit 6). */
export class ContainerdError extends AirgapError {
  constructor(code: string, message: string, hint: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, 'runtime', message, { hint, details, cause });
  }
}
