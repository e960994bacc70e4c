/** Token scopes: "repository:NAME:pull,push". */

export function repositoryScope(name: string, actions: readonly string[]): string {
  return `repository:${name}:${[...actions].sort().join(',')}`;
}

/**
 * Merge scopes for the same resource and sort, so equal access asks equal tokens (and hits the
 * same cache entry) whatever order the actions came in. The name may itself hold ':' (a port).
 */
export function normalizeScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  const plain = new Set<string>();
  for (const s of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
    const last = s.lastIndexOf(':');
    const first = s.indexOf(':');
    if (first < 0 || last === first) {
      plain.add(s);
      continue;
    }
    const resource = s.slice(0, last);
    const set = byResource.get(resource) ?? new Set<string>();
    for (const a of s.slice(last + 1).split(',')) if (a) set.add(a);
    byResource.set(resource, set);
  }
  const out = [...plain];
  for (const [resource, actions] of byResource) out.push(`${resource}:${[...actions].sort().join(',')}`);
  return out.sort();
}
