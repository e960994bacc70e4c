/**
 * What the running containerd's CRI plugin says it uses, from `RuntimeService.Status(verbose)`
 * (the call kubelet and `crictl info` make): its info.config is the configuration containerd
 * actually runs with — after every import and merge, and before any edit that still waits for a
 * restart.
 */

/** The first value under `key` anywhere in a JSON tree (containerd moved keys between versions). */
function findKey(v: unknown, key: string, depth = 0): unknown {
  if (depth > 6 || v === null || typeof v !== 'object') return undefined;
  if (!Array.isArray(v) && key in v) return (v as Record<string, unknown>)[key];
  for (const child of Object.values(v)) {
    const hit = findKey(child, key, depth + 1);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** The sandbox image and registry config_path the running CRI plugin uses. */
export function runningSettings(info: Record<string, unknown>): { sandboxImage?: string; configPath?: string } {
  const out: { sandboxImage?: string; configPath?: string } = {};
  const sandbox = findKey(info, 'sandboxImage') ?? findKey(findKey(info, 'pinnedImages'), 'sandbox');
  if (typeof sandbox === 'string' && sandbox !== '') out.sandboxImage = sandbox;
  const registry = findKey(info, 'registry');
  const configPath = findKey(registry, 'configPath');
  if (typeof configPath === 'string') out.configPath = configPath;
  return out;
}
