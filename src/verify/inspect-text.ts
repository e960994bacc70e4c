import { formatBytes, plural, shortDigest } from './format.js';
import type { InspectReport } from './inspect.js';

/** `airgap inspect` for a person: the bundle's facts, then one line an image. */
export function renderInspectText(r: InspectReport): string {
  const b = r.bundle;
  const out: string[] = [];
  const row = (k: string, v: string): void => {
    out.push(`${k.padEnd(11)} ${v}`);
  };
  const read = [b.compression ? `${b.compression}-compressed` : '', b.streamed ? 'read as a stream' : ''].filter(Boolean).join(', ');
  row('bundle', `${b.path} (${formatBytes(b.size)}${b.compression ? ' of tar' : ''}${read ? `; ${read}` : ''})`);
  row('format', b.kind === 'airgap' ? `airgap bundle, format ${b.formatVersion}`
    : b.kind === 'docker-archive' ? 'docker-archive (docker save, podman save, k3s/RKE2 image tarball): manifests built by airgap'
      : 'OCI layout archive (no airgap metadata)');
  for (const n of b.notes ?? []) row('note', n);
  if (b.created) row('created', `${b.created} by ${b.createdBy?.name} ${b.createdBy?.version}`);
  if (b.kind === 'airgap') row('kubernetes', b.kubernetes ? `${b.kubernetes.version} (${b.kubernetes.distribution})` : 'none (extra images only)');
  if (b.platforms) row('platforms', b.platforms === 'all' ? 'all' : b.platforms.join(', '));
  if (b.mediaTypes === 'oci-converted') {
    row('media types', 'OCI, converted (pack --oci-media-types): these manifests have NEW digests, not upstream\'s ("was" below)');
  } else if (b.mediaTypes) {
    row('media types', 'as upstream (every digest unchanged)');
  }
  if (b.docker) {
    const missing = b.docker.missing.length ? `; none for ${b.docker.missing.join(', ')}` : '';
    row('docker', `manifest.json: docker load -i gives ${plural(b.docker.images.length, 'image')} for ${b.docker.platform}${missing}`);
  } else if (b.kind === 'airgap') {
    row('docker', 'no manifest.json (packed by an older airgap): docker load cannot read it; airgap load --docker can');
  }
  row('blobs', `${r.blobs.count}, ${formatBytes(r.blobs.size)}${r.blobs.shared.count ? `; ${plural(r.blobs.shared.count, 'blob')} shared by several images, saving ${formatBytes(r.blobs.shared.bytesSaved)}` : ''}`);
  row('images', String(r.images.length));
  out.push('');
  const refW = Math.max('IMAGE'.length, ...r.images.map((i) => i.ref.length));
  out.push(`${'IMAGE'.padEnd(refW)}  ${'DIGEST'.padEnd(19)}  ${'SIZE'.padStart(9)}  PLATFORMS`);
  for (const i of r.images) {
    const plats = i.platforms.length
      ? i.platforms.map((p) => (p.included ? p.platform : `(${p.platform})`)).join(' ')
      : '?';
    out.push(`${i.ref.padEnd(refW)}  ${shortDigest(i.digest).padEnd(19)}  ${formatBytes(i.size).padStart(9)}  ${plats}${i.role && i.role !== 'extra' ? `  [${i.role}]` : ''}${i.convertedFrom ? `  was ${shortDigest(i.convertedFrom)}` : ''}`);
  }
  if (r.images.some((i) => i.platforms.some((p) => !p.included))) out.push('', '(platform) = listed by the image, not in the bundle');
  if (r.problems.length) {
    out.push('', `${plural(r.problems.length, 'problem')} seen (run airgap verify for the full check):`);
    for (const p of r.problems.slice(0, 10)) out.push(`  ! ${p}`);
    if (r.problems.length > 10) out.push(`  … and ${r.problems.length - 10} more`);
  }
  return `${out.join('\n')}\n`;
}
