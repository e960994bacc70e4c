import { describeKey, keysForVersion } from '../keys.js';
import { kubernetesImages } from '../../../kubernetes/image-set.js';
import { sameReference } from '../../../oci/reference.js';
import { check, type CheckResult } from '../../check.js';
import type { NodeCheckContext as DoctorContext } from '../../check-context.js';


/** The pause image the Kubernetes version's kubeadm expects (undefined when unknown). */
export function kubernetesPause(version: string, distribution: string): string | undefined {
  try {
    return kubernetesImages(version, { distribution }).images.find((i) => i.role === 'pause')?.ref;
  } catch {
    return undefined;
  }
}

/**
 * The sandbox (pause) image: what containerd will use vs the bundle's vs what the Kubernetes
 * version expects. The classic trap: kubeadm preloads pause:3.9 while containerd 1.7 still
 * defaults to pause:3.8, so the first pod pulls 3.8 from the internet.
 */
export function checkSandbox(ctx: DoctorContext): CheckResult[] {
  const out: CheckResult[] = [];
  const running = ctx.containerd?.running?.sandboxImage;
  const disk = ctx.config?.sandboxImage;
  const used = running ?? disk?.value;
  const where = running !== undefined ? 'the running containerd' : disk?.where ?? '';
  const pause = ctx.bundle?.pause?.name;
  const k8s = ctx.kubernetes;
  const wanted = k8s ? kubernetesPause(k8s.version, k8s.distribution) : undefined;
  const key = describeKey(keysForVersion(ctx.config?.version).sandboxImage);
  const bundle = ctx.bundle?.path ?? 'BUNDLE';
  const present = (ref: string): boolean => (ctx.containerd?.images ?? []).some((i) => sameReference(i.name, ref));

  if (used === undefined) {
    out.push(check('sandbox', 'sandbox.image', 'warn', 'cannot tell which sandbox image containerd uses (no CRI answer, no setting, unknown version)',
      pause ? `set ${key} = "${pause}" and restart containerd` : `set ${key} explicitly and restart containerd`));
  } else if (pause !== undefined && !sameReference(used, pause)) {
    const served = ctx.bundle!.images.some((i) => sameReference(i.name, used));
    const local = present(used);
    out.push(check('sandbox', 'sandbox.image', served || local ? 'warn' : 'fail',
      `containerd uses ${used} (${where}) as sandbox image, but the bundle has ${pause}` +
        (served || local ? `; ${used} is ${local ? 'in containerd' : 'in the bundle'} so pods start, but kubelet may garbage-collect it` : `: the first pod pulls ${used} from the internet and fails offline`),
      ctx.nodeKind?.sandboxFix?.(pause, bundle) ??
        `airgap load ${bundle} --configure-containerd --mirror URL sets it; or set ${key} = "${pause}" (${where.startsWith('/') ? where.replace(/:\d+$/, '') : ctx.config?.configPath ?? 'config.toml'}) and restart containerd`,
      { containerd: used, bundle: pause }));
  } else {
    out.push(check('sandbox', 'sandbox.image', 'ok', `containerd uses ${used} (${where})${pause ? ', the bundle\'s pause' : ''}`));
  }
  if (wanted !== undefined && k8s) {
    const have = pause ?? used;
    if (have !== undefined && !sameReference(have, wanted)) {
      out.push(check('sandbox', 'sandbox.kubernetes', 'warn',
        `Kubernetes ${k8s.version} (from ${k8s.source}) expects ${wanted}, but ${pause ? 'the bundle has' : 'containerd uses'} ${have}: kubeadm preflight warns and pre-pulls ${wanted}`,
        pause ? `pack a bundle for ${k8s.version} (airgap pack --kubernetes ${k8s.version}), or add ${wanted} to it` : `set ${key} = "${wanted}" and restart containerd`,
        { kubernetes: k8s.version, expected: wanted, have }));
    } else if (have !== undefined) {
      out.push(check('sandbox', 'sandbox.kubernetes', 'ok', `${wanted} is what Kubernetes ${k8s.version} expects`));
    }
  }
  return out;
}
