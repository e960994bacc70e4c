import { formatPlatform, parsePlatform, type Platform } from '../oci/platform.js';
import { findings, type BundleCheck, type BundleContext } from './check.js';
import type { PlatformChild } from './graph.js';
import { plural, shortDigest } from './format.js';
import type { ImagePlatform, PlatformStatus } from './report.js';

const STATUS_WORDS: Record<PlatformStatus, string> = {
  present: 'present',
  'absent-by-choice': 'left out when the bundle was packed (platform filter)',
  absent: 'not in the archive',
  missing: 'missing',
  damaged: 'damaged (a blob is missing or fails its digest)',
  'not-offered': 'not offered by the image',
};

function statusOf(ctx: BundleContext, pc: PlatformChild): PlatformStatus {
  if (pc.present) {
    if (ctx.graph.nodes.get(pc.descriptor.digest)?.error) return 'damaged';
    for (const d of pc.digests) if (ctx.damaged.has(d)) return 'damaged';
    return 'present';
  }
  if (pc.byChoice) return 'absent-by-choice';
  return ctx.reader.metadata ? 'missing' : 'absent';
}

function causeOf(ctx: BundleContext, pc: PlatformChild): string {
  const err = ctx.graph.nodes.get(pc.descriptor.digest)?.error;
  if (err) {
    const code = (err as { code?: string }).code;
    const d = pc.descriptor.digest;
    return code === 'ERR_DIGEST_MISMATCH' ? `its manifest ${d} fails its digest`
      : code === 'ERR_SIZE_MISMATCH' ? `its manifest ${d} has the wrong size`
        : `its manifest ${d} cannot be read (${err.message})`;
  }
  const bad = [...pc.digests].filter((d) => ctx.damaged.has(d));
  const missing = bad.filter((d) => !ctx.reader.blobEntry(d));
  const broken = bad.filter((d) => ctx.reader.blobEntry(d));
  return [
    ...(broken.length ? [`${plural(broken.length, 'blob')} ${broken.length === 1 ? 'fails' : 'fail'} integrity (${broken.map(shortDigest).join(', ')})`] : []),
    ...(missing.length ? [`${plural(missing.length, 'blob')} missing (${missing.map(shortDigest).join(', ')})`] : []),
  ].join('; ');
}

function normalized(p: string): string {
  try {
    return formatPlatform(parsePlatform(p));
  } catch {
    return p;
  }
}

/**
 * The platform matrix (image x platform: present, absent by choice, missing, damaged), and with
 * --platform, every image must have each platform asked for present.
 */
export const platformsCheck: BundleCheck = {
  name: 'platforms',
  run(ctx) {
    const f = findings('platforms');
    const counts: Record<PlatformStatus, number> = { present: 0, 'absent-by-choice': 0, absent: 0, missing: 0, damaged: 0, 'not-offered': 0 };
    for (const img of ctx.graph.images) {
      const cells: ImagePlatform[] = img.platforms
        .filter((p) => !p.attestation)
        .map((p) => ({ platform: p.platform, digest: p.descriptor.digest, status: statusOf(ctx, p) }));
      for (const c of cells) counts[c.status]++;
      ctx.imagePlatforms.set(img.ref, cells);
    }
    // An image platform that should be usable and is not: named here by image and platform, with its cause.
    for (const img of ctx.graph.images) {
      for (const c of ctx.imagePlatforms.get(img.ref) ?? []) {
        if (c.status !== 'damaged' && c.status !== 'missing') continue;
        const pc = img.platforms.find((p) => p.descriptor.digest === c.digest)!;
        const cause = c.status === 'missing' ? `its manifest ${c.digest} is not in the bundle` : causeOf(ctx, pc);
        f.add('error', `platform-${c.status}`, `${img.ref}: ${c.platform} is ${c.status}: ${cause}`, { images: [img.ref], platform: c.platform, digest: c.digest });
      }
    }
    const sel = ctx.platforms;
    const wanted: Platform[] = sel && !sel.all ? sel.platforms : [];
    for (const img of ctx.graph.images) {
      const cells = ctx.imagePlatforms.get(img.ref) ?? [];
      if (sel?.all) {
        for (const c of cells) {
          if (c.status === 'absent-by-choice' || c.status === 'absent') {
            f.add('error', 'platform-not-included', `${img.ref}: ${c.platform} is ${STATUS_WORDS[c.status]}; --platform all asks for every platform`, { images: [img.ref], platform: c.platform, digest: c.digest });
          }
        }
      }
      for (const w of wanted) {
        const label = formatPlatform(w);
        const c = cells.find((x) => normalized(x.platform) === label);
        if (!c) {
          f.add('error', 'platform-not-offered', cells.length
            ? `${img.ref} has no ${label}: the image offers ${cells.map((x) => x.platform).join(', ')}`
            : `${img.ref}: ${label} cannot be checked, the image's manifest is unreadable or missing`, { images: [img.ref], platform: label });
        } else if (c.status === 'absent-by-choice' || c.status === 'absent') {
          f.add('error', 'platform-not-included', `${img.ref}: ${label} is ${STATUS_WORDS[c.status]}`, { images: [img.ref], platform: label, digest: c.digest });
        }
      }
    }
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const parts = (Object.keys(counts) as PlatformStatus[]).filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k.replaceAll('-', ' ')}`);
    const errors = f.list.length;
    const asked = f.list.filter((x) => x.code === 'platform-not-offered' || x.code === 'platform-not-included').length;
    return {
      findings: f.list,
      subjects: ctx.graph.images.map((i) => i.ref),
      stats: { imagePlatforms: total, ...Object.fromEntries(Object.entries(counts).map(([k, v]) => [k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), v])) },
      summary: errors
        ? `${plural(total, 'image platform')}: ${parts.join(', ')}${asked ? `; ${plural(asked, 'platform')} asked for not present` : ''}`
        : `${plural(total, 'image platform')}: ${parts.join(', ') || 'none'}${wanted.length ? `; ${wanted.map(formatPlatform).join(', ')} present in every image` : ''}`,
    };
  },
};
