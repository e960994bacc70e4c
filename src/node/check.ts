/** One finding of `airgap doctor`: a named check, its verdict, what it saw, and the fix. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** The part of the node a check looks at; the text report groups by it, in this order. */
export const CHECK_GROUPS = ['runtime', 'node', 'containerd', 'sandbox', 'mirrors', 'images', 'kubeadm'] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

export interface CheckResult {
  /** Stable name, e.g. "containerd.config-path", "mirrors.registry.k8s.io". */
  id: string;
  group: CheckGroup;
  status: CheckStatus;
  message: string;
  /** What to do; present for every warn and fail. */
  fix?: string;
  details?: Record<string, unknown>;
}

export function check(group: CheckGroup, id: string, status: CheckStatus, message: string, fix?: string, details?: Record<string, unknown>): CheckResult {
  return { id, group, status, message, ...(fix !== undefined ? { fix } : {}), ...(details !== undefined ? { details } : {}) };
}
