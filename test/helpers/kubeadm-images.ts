import { KUBEADM_V1_30_14 } from '../../scripts/lab/image-plan.js';

/**
 * What `kubeadm config images list --kubernetes-version v1.30.14` prints, in its order: the lab's
 * own list (independent of the product's data), so tests compare the product against it.
 */
export const KUBEADM_V1_30_14_REFS: readonly string[] = KUBEADM_V1_30_14.map((s) => s.ref);
