import { parseReference, type ImageReference } from '../oci/reference.js';
import type { RequiredImage } from './image-set.js';

export interface ListMismatch {
  /** registry/repository both refs share, e.g. registry.k8s.io/pause */
  repository: string;
  listRef: string;
  neededRef: string;
  role: string;
}

/**
 * How a list of images measures up against what a version needs. Each needed image is in exactly
 * one of matched, missing or mismatched (once per wrong entry the list holds for its repository);
 * each list entry is matched, a mismatch, or extra.
 */
export interface ListComparison {
  matched: RequiredImage[];
  missing: RequiredImage[];
  mismatched: ListMismatch[];
  /** normalized list refs the version does not need */
  extra: string[];
}

/**
 * Does a list entry give the runtime the image it will ask for? The kubelet asks by tag, so a tag
 * the list lacks is not there even if a digest is; digests, where both sides have one, must agree.
 */
function satisfies(entry: ImageReference, need: ImageReference): boolean {
  if (need.tag !== undefined && entry.tag !== need.tag) return false;
  if (need.digest !== undefined) {
    if (entry.digest !== undefined) return entry.digest === need.digest;
    // A tag-only entry resolves to some digest at pack time; it satisfies only when the tag is asked for too.
    return need.tag !== undefined;
  }
  return true;
}

/** Compare a list (any spelling: nginx == docker.io/library/nginx:latest) with the images needed. */
export function compareImageLists(list: string[], needed: RequiredImage[]): ListComparison {
  const entries: { ref: ImageReference; key: string }[] = [];
  const seenEntries = new Set<string>();
  for (const s of list) {
    const ref = parseReference(s.trim());
    const key = ref.toString();
    if (seenEntries.has(key)) continue;
    seenEntries.add(key);
    entries.push({ ref, key });
  }
  const used = new Set<string>();
  const result: ListComparison = { matched: [], missing: [], mismatched: [], extra: [] };

  const needs: { image: RequiredImage; ref: ImageReference }[] = [];
  const seenNeeds = new Set<string>();
  for (const image of needed) {
    const ref = parseReference(image.ref);
    if (seenNeeds.has(ref.toString())) continue;
    seenNeeds.add(ref.toString());
    needs.push({ image: { ref: ref.toString(), role: image.role }, ref });
  }

  // First every exact match, so an entry that satisfies one need is never reported as another's mismatch.
  const unmatched: typeof needs = [];
  for (const need of needs) {
    const hit = entries.find((e) => e.ref.name === need.ref.name && satisfies(e.ref, need.ref));
    if (hit) {
      used.add(hit.key);
      result.matched.push(need.image);
    } else {
      unmatched.push(need);
    }
  }
  for (const need of unmatched) {
    // Entries that satisfy another need are right, not wrong: only the leftovers explain a miss.
    const explaining = entries.filter((e) => e.ref.name === need.ref.name && !used.has(e.key));
    if (explaining.length === 0) {
      result.missing.push(need.image);
      continue;
    }
    for (const e of explaining) {
      result.mismatched.push({ repository: need.ref.name, listRef: e.key, neededRef: need.image.ref, role: need.image.role });
    }
  }
  for (const m of result.mismatched) used.add(m.listRef);
  result.extra = entries.filter((e) => !used.has(e.key)).map((e) => e.key);
  return result;
}
