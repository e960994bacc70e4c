import { isReference, parseReference } from '../oci/reference.js';
import type { KubernetesImageSet } from '../kubernetes/index.js';
import { findings, type BundleCheck, type BundleContext, type CheckOutcome } from './check.js';
import type { NeededImage } from './report.js';
import { coverage, fitVariants, stripDigest, type HeldImage } from './coverage.js';
import { listNames, plural } from './format.js';

/** The bundle's images by full name, each with its digest (so a list entry pinned by digest is checked too). */
export function bundleHeld(ctx: BundleContext): HeldImage[] {
  const out: HeldImage[] = [];
  for (const img of ctx.graph.images) {
    if (!img.named || !isReference(img.ref)) continue;
    const r = parseReference(img.ref);
    out.push({ ref: r.digest ? r.toString() : r.withDigest(img.bundleRef.descriptor.digest).toString(), name: img.ref, label: img.ref });
  }
  return out;
}

/** --list F: every listed image in the bundle with the listed tag; images the list does not name are noted. */
export const listCheck: BundleCheck = {
  name: 'list',
  run(ctx) {
    const f = findings('list');
    if (!ctx.list) return { findings: [], skipped: true, summary: 'no image list given (--list FILE)' };
    const { path, entries } = ctx.list;
    const lineOf = new Map(entries.map((e) => [e.ref, e]));
    const where = (ref: string): string => {
      const e = lineOf.get(ref);
      return e ? `${path}:${e.line}` : path;
    };
    const held = bundleHeld(ctx);
    const cov = coverage(held, entries.map((e) => ({ ref: e.ref, role: `line ${e.line}` })));
    for (const m of cov.missing) {
      const name = parseReference(m.ref).name;
      const others = held.filter((h) => parseReference(h.ref).name === name).map((h) => h.label);
      f.add('error', 'list-image-missing', `${m.ref} (${where(m.ref)}) is not in the bundle${others.length ? ` (it holds ${listNames(others)})` : ''}`, { ref: m.ref });
    }
    for (const { need, have } of cov.mismatched) {
      const pinned = parseReference(need.ref).digest && stripDigest(have.ref) === stripDigest(need.ref);
      f.add('error', pinned ? 'digest-mismatch' : 'tag-mismatch', pinned
        ? `the list pins ${need.ref} (${where(need.ref)}); the bundle's ${have.label} is ${parseReference(have.ref).digest}`
        : `the list names ${need.ref} (${where(need.ref)}); the bundle has ${have.label} instead`, {
        ref: need.ref, images: [have.name], expected: need.ref, actual: have.name,
      });
    }
    for (const x of cov.extra) {
      f.add('warning', 'not-in-list', `the bundle holds ${x.label}, which ${path} does not name`, { images: [x.name] });
    }
    const errors = cov.missing.length + cov.mismatched.length;
    return {
      findings: f.list,
      subjects: entries.map((e) => e.ref),
      stats: { listed: entries.length, present: cov.matched.length, missing: cov.missing.length, mismatched: cov.mismatched.length, extra: cov.extra.length },
      summary: errors
        ? `${errors} of ${plural(entries.length, 'listed image')} not in the bundle as listed`
        : `all ${plural(entries.length, 'listed image')} present${cov.extra.length ? `; ${plural(cov.extra.length, 'image')} in the bundle not on the list` : ''}`,
    };
  },
};

/** What Kubernetes V needs (--kubernetes, else the version the metadata records): every image, pause first. */
export const kubernetesCheck: BundleCheck = {
  name: 'kubernetes',
  run(ctx) {
    if (ctx.kubernetesProblem) {
      const f = findings('kubernetes');
      f.add('warning', 'kubernetes-version-unknown', ctx.kubernetesProblem);
      return { findings: f.list, summary: ctx.kubernetesProblem };
    }
    if (!ctx.kubernetes) return { findings: [], skipped: true, summary: 'no Kubernetes version (--kubernetes V, or one recorded in the bundle)' };
    const held = bundleHeld(ctx);
    const fit = fitVariants(ctx.kubernetes.set, held);
    ctx.kubernetes = { ...ctx.kubernetes, set: fit.set, ...(fit.variants ? { variants: fit.variants } : {}) };
    return kubernetesCoverage(held, fit.set, 'the bundle', fit.variants).outcome;
  },
};

/** Coverage of a Kubernetes image set by what a bundle or a list holds; `holder` names it in messages. */
export function kubernetesCoverage(held: HeldImage[], set: KubernetesImageSet, holder: string, variants?: Record<string, string>): { outcome: CheckOutcome; needed: NeededImage[] } {
  const release = `Kubernetes ${set.version} (${set.distribution}${variants ? `, ${Object.entries(variants).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''})`;
  const f = findings('kubernetes');
  const cov = coverage(held, set.images);
  for (const m of cov.missing) {
    f.add('error', 'kubernetes-image-missing', `Kubernetes ${set.version} needs ${m.ref} (${m.role}); ${holder} does not ${holder === 'the list' ? 'name' : 'hold'} it`, { ref: m.ref });
  }
  for (const { need, have } of cov.mismatched) {
    f.add('error', 'tag-mismatch', `Kubernetes ${set.version} needs ${need.ref} (${need.role}); ${holder} has ${have.label}`, {
      ref: need.ref, images: [have.name], expected: need.ref, actual: have.name,
    });
  }
  if (cov.extra.length) {
    f.add('info', 'extra-images', `${holder} also holds ${plural(cov.extra.length, 'image')} Kubernetes does not need: ${listNames(cov.extra.map((x) => x.label), 6)}`);
  }
  const errors = cov.missing.length + cov.mismatched.length;
  const pause = set.images.find((i) => i.role === 'pause');
  return {
    needed: cov.needed,
    outcome: {
      findings: f.list,
      subjects: cov.needed.map((n) => n.ref),
      stats: { needed: set.images.length, present: cov.matched.length, missing: cov.missing.length, mismatched: cov.mismatched.length, extra: cov.extra.length },
      summary: errors
        ? `${errors} of the ${set.images.length} images ${release} needs ${errors === 1 ? 'is' : 'are'} not in ${holder}`
        : `all ${set.images.length} images ${release} needs are in ${holder}${pause ? `, ${pause.ref} among them` : ''}`,
    },
  };
}
