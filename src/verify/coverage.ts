import { compareImageLists, kubernetesImages, loadDistribution, type KubernetesImageSet, type RequiredImage } from '../kubernetes/index.js';
import { parseReference } from '../oci/reference.js';
import type { NeededImage } from './report.js';

/** Something that holds images: a bundle's index.json names, or the lines of a list. */
export interface HeldImage {
  /** Full reference; with the digest when known, so a needed digest can be checked too. */
  ref: string;
  /** Its name as held: the index.json name, or the normalized list entry. */
  name: string;
  /** How to name it to a person: "registry.k8s.io/pause:3.8 (line 4)". */
  label: string;
}

export interface CoverageResult {
  needed: NeededImage[];
  missing: RequiredImage[];
  mismatched: { need: RequiredImage; have: HeldImage }[];
  extra: HeldImage[];
  matched: RequiredImage[];
}

/** pause first: the image every pod needs and the usual offline trap; then in the order given. */
export function pauseFirst<T extends { role: string }>(items: T[]): T[] {
  return [...items.filter((i) => i.role === 'pause'), ...items.filter((i) => i.role !== 'pause')];
}

/** Compare what is held with what is needed: each need is present, missing, or a tag mismatch. */
export function coverage(held: HeldImage[], needed: RequiredImage[]): CoverageResult {
  const byKey = new Map<string, HeldImage>();
  for (const h of held) byKey.set(parseReference(h.ref).toString(), h);
  const cmp = compareImageLists(held.map((h) => h.ref), needed);
  const heldOf = (key: string): HeldImage => byKey.get(key) ?? { ref: key, name: key, label: key };
  const mismatched = cmp.mismatched.map((m) => ({ need: { ref: m.neededRef, role: m.role }, have: heldOf(m.listRef) }));
  const status = new Map<string, NeededImage>();
  for (const m of cmp.matched) status.set(m.ref, { ref: m.ref, role: m.role, status: 'present' });
  for (const m of cmp.missing) status.set(m.ref, { ref: m.ref, role: m.role, status: 'missing' });
  for (const m of mismatched) {
    const s = status.get(m.need.ref) ?? { ref: m.need.ref, role: m.need.role, status: 'mismatch' as const, found: [] };
    s.found = [...(s.found ?? []), stripDigest(m.have.ref)];
    status.set(m.need.ref, s);
  }
  const order = needed.map((n) => parseReference(n.ref).toString());
  const neededOut = pauseFirst(order.flatMap((r) => (status.has(r) ? [status.get(r)!] : [])).filter((v, i, a) => a.indexOf(v) === i));
  return {
    needed: neededOut,
    matched: cmp.matched,
    missing: pauseFirst(cmp.missing),
    mismatched: pauseFirst(mismatched.map((m) => ({ ...m, role: m.need.role }))).map(({ need, have }) => ({ need, have })),
    extra: cmp.extra.map(heldOf),
  };
}

/** registry.k8s.io/pause:3.9@sha256:… -> registry.k8s.io/pause:3.9 (tag-only refs pass through). */
export function stripDigest(ref: string): string {
  const r = parseReference(ref);
  return r.tag ? `${r.name}:${r.tag}` : r.toString();
}

/**
 * A distribution with variants (k0s: cni=calico or kuberouter) lists every variant's images unless
 * one is chosen, and the bundle or list records none: take the variant whose images fit what is
 * held best, so a k0s bundle packed for calico is not failed for lacking kube-router.
 */
export function fitVariants(set: KubernetesImageSet, held: HeldImage[]): { set: KubernetesImageSet; variants?: Record<string, string> } {
  const variants = loadDistribution(set.distribution).variants;
  const keys = Object.keys(variants);
  if (keys.length === 0) return { set };
  const misses = (s: KubernetesImageSet): number => {
    const c = coverage(held, s.images);
    return c.missing.length + c.mismatched.length;
  };
  let combos: Record<string, string>[] = [{}];
  for (const k of keys) combos = combos.flatMap((c) => variants[k]!.values.map((v) => ({ ...c, [k]: v })));
  let best: { set: KubernetesImageSet; variants?: Record<string, string> } = { set };
  let bestMisses = misses(set);
  for (const combo of combos.slice(0, 64)) {
    if (bestMisses === 0) break;
    const s = kubernetesImages(set.version, { distribution: set.distribution, variants: combo });
    const m = misses(s);
    if (m < bestMisses) {
      best = { set: { ...s, requested: set.requested, exact: set.exact }, variants: combo };
      bestMisses = m;
    }
  }
  return best;
}
