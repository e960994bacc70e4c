import { InvalidKubernetesVersionError } from './errors.js';

/** A parsed Kubernetes version as a user writes it: v1.30.14, 1.30.14, v1.30, v1.30.14+k0s.0, v1.31.0-rc.1. */
export interface KubernetesVersion {
  major: number;
  minor: number;
  /** absent for a minor alone (v1.30): "the newest patch we know" */
  patch?: number;
  prerelease?: string;
  /** semver build metadata after "+": k0s.0 in v1.30.14+k0s.0 */
  build?: string;
}

const NUM = '(0|[1-9][0-9]*)';
const IDENTS = '([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)';
const VERSION = new RegExp(`^v?${NUM}\\.${NUM}(?:\\.${NUM})?(?:-${IDENTS})?(?:\\+${IDENTS})?$`);
// kubeadm resolves these labels over the internet (dl.k8s.io); offline we cannot.
const LABEL = /^(stable|latest|ci)(-[0-9.]+)?$/;

export function parseKubernetesVersion(input: string): KubernetesVersion {
  const s = typeof input === 'string' ? input.trim() : '';
  if (!s) throw new InvalidKubernetesVersionError(String(input), 'empty');
  if (LABEL.test(s)) {
    throw new InvalidKubernetesVersionError(s, 'release labels such as stable or latest are resolved online; name the release');
  }
  const m = VERSION.exec(s);
  if (!m) throw new InvalidKubernetesVersionError(s, 'not of the form v1.30.14 or v1.30');
  const [, major, minor, patch, prerelease, build] = m;
  if (patch === undefined && (prerelease !== undefined || build !== undefined)) {
    throw new InvalidKubernetesVersionError(s, 'a pre-release or build needs the patch number, e.g. v1.30.14+k0s.0');
  }
  const v: KubernetesVersion = { major: Number(major), minor: Number(minor) };
  if (patch !== undefined) v.patch = Number(patch);
  if (prerelease !== undefined) v.prerelease = prerelease;
  if (build !== undefined) v.build = build;
  return v;
}

/** v1.30 / v1.30.14 / v1.31.0-rc.1 / v1.30.14+k0s.0 */
export function formatKubernetesVersion(v: KubernetesVersion): string {
  let s = `v${v.major}.${v.minor}`;
  if (v.patch !== undefined) s += `.${v.patch}`;
  if (v.prerelease !== undefined) s += `-${v.prerelease}`;
  if (v.build !== undefined) s += `+${v.build}`;
  return s;
}

export function minorOf(v: KubernetesVersion): string {
  return `v${v.major}.${v.minor}`;
}

/** Orders by major, minor, patch only (what release ranges need); a missing patch sorts first. */
export function compareKubernetesVersions(a: KubernetesVersion, b: KubernetesVersion): number {
  return a.major - b.major || a.minor - b.minor || (a.patch ?? -1) - (b.patch ?? -1);
}
