import { execa } from 'execa';
import { onPath, PINNED_LABEL } from '../ctr.js';
import { parseReference } from '../../../oci/reference.js';
import { check, type CheckResult } from '../../check.js';
import type { NodeCheckContext as DoctorContext } from '../../check-context.js';


function normal(name: string): string {
  try {
    return parseReference(name).toString();
  } catch {
    return name;
  }
}

/** Docker's store (cri-dockerd nodes): `docker image inspect` per bundle image. */
async function dockerImages(ctx: DoctorContext): Promise<CheckResult[]> {
  const b = ctx.bundle!;
  const missing: string[] = [];
  if (!((await onPath('docker')) !== undefined)) {
    return [check('images', 'images.docker', 'warn', 'the docker CLI is not on PATH: cannot check Docker\'s image store', 'run airgap doctor where `docker` works (as root)')];
  }
  for (const img of b.images) {
    const r = await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', img.name], { reject: false, stdin: 'ignore', timeout: 15_000 });
    if (r.exitCode !== 0) missing.push(img.name);
  }
  if (missing.length > 0) {
    return [check('images', 'images.docker', 'fail', `${missing.length} of ${b.images.length} bundle image(s) are not in Docker's image store: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}; kubelet (through cri-dockerd) pulls them from the internet`,
      `airgap load ${b.path} --docker (Docker Engine's socket: --docker SOCKET)`, { missing })];
  }
  return [check('images', 'images.docker', 'ok', `all ${b.images.length} bundle images are in Docker's image store`)];
}

/** Every bundle image in containerd's k8s.io namespace with the bundle's digest; pause pinned. */
export async function checkImages(ctx: DoctorContext): Promise<CheckResult[]> {
  const b = ctx.bundle;
  if (!b) return [];
  if (ctx.runtime.kind === 'docker') return dockerImages(ctx);
  if (ctx.runtime.kind === 'cri-o') return [];
  const c = ctx.containerd;
  if (!c?.reachable) return [];
  const ns = ctx.opts.namespace ?? 'k8s.io';
  if (!c.images) {
    return [check('images', 'images.containerd', 'fail', `cannot list containerd's ${ns} images: ${c.imagesError ?? 'no answer'}`, 'run airgap doctor as root, with containerd running')];
  }
  const have = new Map(c.images.map((i) => [normal(i.name), i] as const));
  const missing: string[] = [];
  const other: string[] = [];
  for (const img of b.images) {
    const h = have.get(img.name);
    if (!h) missing.push(img.name);
    else if (h.digest !== img.descriptor.digest && h.digest !== img.reduced?.descriptor.digest) other.push(`${img.name} (${h.digest})`);
  }
  const out: CheckResult[] = [];
  const load = `airgap load ${b.path} --containerd ${c.address}`;
  if (missing.length > 0 || other.length > 0) {
    const parts = [
      ...(missing.length ? [`missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`] : []),
      ...(other.length ? [`another digest: ${other.slice(0, 5).join(', ')}`] : []),
    ];
    out.push(check('images', 'images.containerd', 'fail', `${missing.length + other.length} of ${b.images.length} bundle image(s) are not in containerd's ${ns} namespace as the bundle has them (${parts.join('; ')}): kubelet pulls them through the mirror, or from the internet`,
      load, { missing, otherDigest: other }));
  } else {
    out.push(check('images', 'images.containerd', 'ok', `all ${b.images.length} bundle images are in containerd's ${ns} namespace with the bundle's digests`));
  }
  const pause = b.pause;
  const p = pause ? have.get(pause.name) : undefined;
  if (pause && p) {
    if (p.labels[PINNED_LABEL] === 'pinned') out.push(check('images', 'images.pause-pinned', 'ok', `${pause.name} is pinned: kubelet's image garbage collection keeps it`));
    else {
      out.push(check('images', 'images.pause-pinned', 'warn', `${pause.name} is not pinned: kubelet's image garbage collection may delete it, and the next pod then pulls it again`,
        `${load} pins it; or: ctr --address ${c.address} -n ${ns} images label ${pause.name} ${PINNED_LABEL}=pinned`));
    }
  }
  return out;
}
