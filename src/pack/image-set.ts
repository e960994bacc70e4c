import { compareImageLists } from '../kubernetes/compare.js';
import { readImageList, type ListEntry } from '../kubernetes/image-list.js';
import { kubernetesImages, type KubernetesImageSet } from '../kubernetes/image-set.js';
import { authoritativeList, checkPublishedList, describeListDifferences, ListPauseMismatchError } from '../kubernetes/published-list.js';
import { parseReference, type ImageReference } from '../oci/reference.js';
import { ImageListMismatchError, NoImagesError, type ReportedMismatch } from './errors.js';

/**
 * Which images a pack holds: the Kubernetes version's set (pause included), plus --image,
 * --images-file and the distribution's list; the list is checked against the version first.
 */

export type ImageOrigin = 'kubernetes' | 'image' | 'images-file' | 'list';

export interface PackImage {
  ref: ImageReference;
  /** the normalized reference: registry.k8s.io/pause:3.9 */
  name: string;
  /** kube-apiserver, pause, etcd, … or "extra" */
  role: string;
  origins: ImageOrigin[];
}

export interface ImageSetRequest {
  /** a Kubernetes version: v1.30.14 */
  kubernetes?: string;
  distribution?: string;
  imageRepository?: string;
  images?: string[];
  imagesFiles?: string[];
  /** the distribution's airgap-images-list.txt; for k3s and RKE2 their published list, which is then the set */
  list?: string;
}

export interface ImageSetNotice {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface ImageSet {
  kubernetes: KubernetesImageSet | null;
  /** sorted by name, each once */
  images: PackImage[];
  /** the list check, when a list was given */
  list?: { file: string; entries: number; addedBeyondList: string[]; notInKubernetes: string[] };
  notices: ImageSetNotice[];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function buildImageSet(req: ImageSetRequest): Promise<ImageSet> {
  const byName = new Map<string, PackImage>();
  const notices: ImageSetNotice[] = [];
  const add = (ref: ImageReference, role: string | undefined, origin: ImageOrigin): void => {
    const name = ref.toString();
    const have = byName.get(name);
    if (have) {
      if (!have.origins.includes(origin)) have.origins.push(origin);
      if (role && have.role === 'extra') have.role = role;
      return;
    }
    byName.set(name, { ref, name, role: role ?? 'extra', origins: [origin] });
  };

  let kube: KubernetesImageSet | null = null;
  // k3s-images.txt / rke2-images*.txt: the published list is the release's set, checked against the data.
  const listIsSet = req.list !== undefined && req.kubernetes !== undefined && authoritativeList(req.distribution ?? 'kubeadm') !== undefined;
  if (req.kubernetes !== undefined) {
    kube = kubernetesImages(req.kubernetes, {
      ...(req.distribution ? { distribution: req.distribution } : {}),
      ...(req.imageRepository ? { imageRepository: req.imageRepository } : {}),
    });
    if (!kube.exact) {
      notices.push({
        code: 'VERSION_INEXACT',
        message: `Kubernetes ${kube.requested} taken as ${kube.version} (${kube.distribution})`,
        details: { requested: kube.requested, version: kube.version },
      });
    }
    if (!listIsSet) for (const i of kube.images) add(parseReference(i.ref), i.role, 'kubernetes');
  }

  for (const s of req.images ?? []) add(parseReference(s), undefined, 'image');
  for (const file of req.imagesFiles ?? []) {
    for (const e of await readImageList(file)) add(parseReference(e.ref), undefined, 'images-file');
  }

  let list: ImageSet['list'];
  if (req.list !== undefined) {
    const entries: ListEntry[] = await readImageList(req.list);
    if (kube && listIsSet) {
      const check = checkPublishedList(entries, kube);
      if (!check.pauseOk) throw new ListPauseMismatchError(req.list, check);
      const lineOf = new Map(entries.map((e) => [e.ref, e.line]));
      const differences = describeListDifferences(check, (r) => lineOf.get(r));
      if (differences.length) {
        notices.push({
          code: 'LIST_DIFFERS',
          message: `${req.list} differs from what airgap knows of ${kube.version} (${kube.distribution}); packing the list as it is:\n${differences.map((l) => `  - ${l}`).join('\n')}`,
          details: { missing: check.comparison.missing, mismatched: check.comparison.mismatched },
        });
      }
      // The list's images carry the roles the data gives them.
      const roleOf = new Map(kube.images.map((i) => [parseReference(i.ref).toString(), i.role]));
      for (const e of entries) add(parseReference(e.ref), roleOf.get(e.ref), 'list');
    } else if (kube) {
      const cmp = compareImageLists(entries.map((e) => e.ref), kube.images);
      if (cmp.mismatched.length) {
        const lineOf = new Map(entries.map((e) => [e.ref, e.line]));
        const mismatches: ReportedMismatch[] = cmp.mismatched.map((m) => {
          const line = lineOf.get(m.listRef);
          return line === undefined ? m : { ...m, line };
        });
        throw new ImageListMismatchError(req.list, `${kube.version} (${kube.distribution})`, mismatches);
      }
    }
    const listed = new Set(entries.map((e) => e.ref));
    for (const e of entries) add(parseReference(e.ref), undefined, 'list');
    const kubeNames = new Set((kube?.images ?? []).map((i) => parseReference(i.ref).toString()));
    list = {
      file: req.list,
      entries: entries.length,
      addedBeyondList: [...byName.keys()].filter((n) => !listed.has(n)).sort(),
      notInKubernetes: kube ? entries.map((e) => e.ref).filter((r) => !kubeNames.has(r)).sort() : [],
    };
    if (list.addedBeyondList.length) {
      notices.push({
        code: 'LIST_ADDED',
        message: `${plural(list.addedBeyondList.length, 'image')} beyond ${req.list}: ${list.addedBeyondList.join(', ')}`,
        details: { images: list.addedBeyondList },
      });
    }
    if (list.notInKubernetes.length) {
      notices.push({
        code: 'LIST_EXTRA',
        message: listIsSet
          ? `${plural(list.notInKubernetes.length, 'image')} of ${req.list} beyond the core set airgap knows for ${kube?.version}, packed as the list says: ${list.notInKubernetes.join(', ')}`
          : `${plural(list.notInKubernetes.length, 'image')} of ${req.list} that Kubernetes itself does not need, packed too: ${list.notInKubernetes.join(', ')}`,
        details: { images: list.notInKubernetes },
      });
    }
  }

  if (byName.size === 0) throw new NoImagesError();
  const images = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { kubernetes: kube, images, ...(list ? { list } : {}), notices };
}
