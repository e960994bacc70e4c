import { AirgapError, type AirgapErrorOptions, type ErrorKind } from '../errors.js';
import type { MirrorSpec } from './containerd/hosts-toml.js';

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

/** The mirror a node's pulls should go to; every runtime but Docker's needs one to configure. */
export function needMirror(req: { mirror?: MirrorSpec }, title: string): MirrorSpec {
  if (req.mirror) return req.mirror;
  throw new NodeConfigError('ERR_LOAD_NO_MIRROR', `configuring ${title} needs the registry its pulls should go to`, {
    hint: 'add --registry URL (pushes there and configures it), or --mirror URL (e.g. an airgap serve address)',
  });
}
