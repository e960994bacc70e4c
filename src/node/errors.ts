import { AirgapError, type AirgapErrorOptions, type ErrorKind } from '../errors.js';

/**
 * The node's own configuration cannot be written as asked. Codes:
 * - ERR_NODE_DISTRIBUTION (usage): --distribution names no known distribution
 * - ERR_NODE_CONFIG_WRITE / ERR_NODE_CONFIG_CHANGED (io): a file could not be written, or changed
 *   between planning and writing
 * - ERR_NODE_CONFIG_SYNTAX (usage): a file we must merge into does not parse
 * - ERR_K0S_CONTAINERD_UNMANAGED (usage): /etc/k0s/containerd.toml is the user's, so k0s ignores drop-ins
 * - ERR_NODE_RUNTIME_MISMATCH (usage): a runtime step asked for on a node whose kubelet uses another runtime
 */
export class NodeConfigError extends AirgapError {
  constructor(code: string, message: string, opts?: AirgapErrorOptions & { kind?: ErrorKind }) {
    super(code, opts?.kind ?? 'usage', message, opts);
  }
}
