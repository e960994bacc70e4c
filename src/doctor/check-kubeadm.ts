import { readFile } from 'node:fs/promises';
import { kubernetesImages } from '../kubernetes/image-set.js';
import { parseReference } from '../oci/reference.js';
import { check, type CheckResult } from '../node/check.js';
import type { DoctorContext } from './doctor.js';
import { yamlScalar } from '../node/runtime.js';

export interface KubeadmFacts {
  file: string;
  /** ClusterConfiguration's imageRepository, when set. */
  imageRepository?: string;
  kubernetesVersion?: string;
  error?: string;
}

/** kubeadm's default image repository (since v1.25; k8s.gcr.io before). */
export const KUBEADM_DEFAULT_REPOSITORY = 'registry.k8s.io';

/** The ClusterConfiguration document of a kubeadm config file (documents split on ---). */
export async function readKubeadmConfig(file: string): Promise<KubeadmFacts> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { file, error: (e as Error).message };
  }
  const docs = text.split(/^---[ \t]*$/m);
  const cluster = docs.find((d) => /^kind:[ \t]*ClusterConfiguration\b/m.test(d));
  if (cluster === undefined) return { file };
  const repo = yamlScalar(cluster, 'imageRepository');
  const version = yamlScalar(cluster, 'kubernetesVersion');
  return { file, ...(repo ? { imageRepository: repo.replace(/\/+$/, '') } : {}), ...(version ? { kubernetesVersion: version } : {}) };
}

/** imageRepository must name what the bundle (and so the mirror) serves, or kubeadm pulls elsewhere. */
export function checkKubeadm(ctx: DoctorContext): CheckResult[] {
  const k = ctx.kubeadm!;
  if (k.error !== undefined) return [check('kubeadm', 'kubeadm.image-repository', 'fail', `cannot read ${k.file}: ${k.error}`, 'pass the kubeadm configuration file with --kubeadm-config')];
  const repo = k.imageRepository ?? KUBEADM_DEFAULT_REPOSITORY;
  const b = ctx.bundle;
  const names = new Set((b?.images ?? []).map((i) => i.name));
  const version = ctx.kubernetes?.version;
  let wanted: string[] = [];
  if (version !== undefined) {
    try {
      wanted = kubernetesImages(version, k.imageRepository !== undefined ? { imageRepository: k.imageRepository } : {}).images.map((i) => i.ref);
    } catch {
      wanted = [];
    }
  }
  if (b && wanted.length > 0) {
    const missing = wanted.filter((w) => !names.has(parseReference(w).toString()));
    if (missing.length === 0) return [check('kubeadm', 'kubeadm.image-repository', 'ok', `kubeadm (imageRepository ${repo}) pulls only images the bundle has`)];
    const fromElsewhere = k.imageRepository !== undefined && !b.images.some((i) => i.name.startsWith(`${repo}/`));
    return [check('kubeadm', 'kubeadm.image-repository', 'fail',
      `${k.file}: kubeadm ${version} with imageRepository ${repo} pulls ${missing.length} image(s) the bundle does not have: ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''}`,
      fromElsewhere
        ? `remove imageRepository from ${k.file} (or set it to ${KUBEADM_DEFAULT_REPOSITORY}): the node's containerd already sends ${b.registries.join(', ')} to the mirror`
        : `pack a bundle for ${version} (airgap pack --kubernetes ${version}) and load it`,
      { imageRepository: repo, missing })];
  }
  if (b && k.imageRepository !== undefined && !b.images.some((i) => i.name.startsWith(`${repo}/`))) {
    return [check('kubeadm', 'kubeadm.image-repository', 'fail', `${k.file}: imageRepository ${repo} is not a repository the bundle serves (${b.registries.join(', ')})`,
      `remove imageRepository from ${k.file} (or set it to ${KUBEADM_DEFAULT_REPOSITORY}); the mirror serves the bundle's own names`)];
  }
  return [check('kubeadm', 'kubeadm.image-repository', 'ok', `kubeadm imageRepository is ${repo}${k.imageRepository === undefined ? ' (the default)' : ''}`)];
}
