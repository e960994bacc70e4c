/**
 * What each synthetic image looks like, shaped like the real kubeadm set on registry.k8s.io:
 * every image but pause starts with a per-platform base layer (distroless-like), the kube-*
 * images share a second one (go-runner), then come the image's own layers; pause is tiny.
 * Sizes are MiB per platform at scale 1, roughly the real compressed sizes, chosen so the 7
 * kubeadm images on 2 platforms hold ≈350 MiB of unique blobs.
 */

export type ManifestFormat = 'docker' | 'oci';

export interface ImageSpec {
  ref: string;
  /** pause | etcd | coredns | kube | other; inferred from the repository name when omitted. */
  role?: string;
  /** Docker manifest list + Docker manifests, or OCI index + OCI manifests. */
  format?: ManifestFormat;
}

export interface ParsedLabRef {
  ref: string;
  registry: string;
  repository: string;
  tag: string;
}

/** A deliberately small parser (the lab must not lean on the code it tests): name[:tag]. */
export function parseLabRef(ref: string): ParsedLabRef {
  if (ref.includes('@')) throw new Error(`lab images are generated under tags, not digests: ${ref}`);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? ref.slice(0, colon) : ref;
  const tag = hasTag ? ref.slice(colon + 1) : 'latest';
  const first = name.split('/')[0]!;
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : 'docker.io';
  let repository = hasRegistry ? name.slice(first.length + 1) : name;
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)) {
    throw new Error(`not a valid repository name in ${ref}`);
  }
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new Error(`not a valid tag in ${ref}`);
  return { ref: `${registry}/${repository}:${tag}`, registry, repository, tag };
}

export function roleOf(repository: string): string {
  const last = repository.split('/').pop()!;
  if (last === 'pause') return 'pause';
  if (last === 'etcd') return 'etcd';
  if (last === 'coredns') return 'coredns';
  if (last.startsWith('kube-')) return 'kube';
  return 'other';
}

export function defaultFormat(role: string): ManifestFormat {
  // A mix, like the real set: the kube-* images and pause as Docker lists, the rest OCI.
  return role === 'kube' || role === 'pause' ? 'docker' : 'oci';
}

export interface FilePlan {
  path: string;
  type: 'directory' | 'file' | 'symlink';
  mode: number;
  /** file: this many bytes of random (incompressible, like a binary) or text content */
  size?: number;
  content?: 'random' | 'text';
  /** fixed text content (small config files) */
  text?: string;
  linkname?: string;
}

export interface LayerPlan {
  /** Identity for sharing: two plans with the same key are the same blob. */
  key: string;
  createdBy: string;
  files: FilePlan[];
}

export interface ImagePlan {
  format: ManifestFormat;
  entrypoint: string[];
  layers: LayerPlan[];
}

const MiB = 1024 * 1024;
const BASE_MIB = 2;
const KUBE_SHARED_MIB = 4;
const UNIQUE_MIB: Record<string, number[]> = {
  'kube-apiserver': [28],
  'kube-controller-manager': [26],
  'kube-scheduler': [16],
  'kube-proxy': [24],
  coredns: [16],
  etcd: [36, 19],
  pause: [0.3],
};

function bytesAt(mib: number, scale: number): number {
  return Math.max(512, Math.round(mib * scale * MiB));
}

const dir = (path: string, mode = 0o755): FilePlan => ({ path, type: 'directory', mode });

function baseLayer(platform: string, scale: number): LayerPlan {
  return {
    key: `base|${platform}`,
    createdBy: 'ADD base-files.tar /',
    files: [
      dir('bin/'),
      dir('etc/'),
      { path: 'etc/os-release', type: 'file', mode: 0o644, text: 'PRETTY_NAME="airgap lab base"\nID=airgap-lab\n' },
      { path: 'etc/passwd', type: 'file', mode: 0o644, text: 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' },
      { path: 'etc/group', type: 'file', mode: 0o644, text: 'root:x:0:\nnobody:x:65534:\n' },
      dir('tmp/', 0o1777),
      dir('usr/'),
      dir('usr/bin/'),
      dir('usr/lib/'),
      { path: 'usr/lib/libbase.so', type: 'file', mode: 0o755, size: bytesAt(BASE_MIB, scale), content: 'random' },
      { path: 'usr/lib/libbase.so.1', type: 'symlink', mode: 0o777, linkname: 'libbase.so' },
      dir('usr/share/'),
      dir('usr/share/doc/'),
      dir('usr/share/doc/base/'),
      { path: 'usr/share/doc/base/copyright', type: 'file', mode: 0o644, size: 4096, content: 'text' },
      dir('var/'),
      dir('var/lib/'),
    ],
  };
}

function kubeSharedLayer(platform: string, scale: number): LayerPlan {
  return {
    key: `kube-shared|${platform}`,
    createdBy: 'COPY go-runner /usr/local/bin/go-runner',
    files: [
      dir('usr/'),
      dir('usr/local/'),
      dir('usr/local/bin/'),
      { path: 'usr/local/bin/go-runner', type: 'file', mode: 0o755, size: bytesAt(KUBE_SHARED_MIB, scale), content: 'random' },
    ],
  };
}

export function planImage(parsed: ParsedLabRef, role: string, format: ManifestFormat, platform: string, scale: number): ImagePlan {
  const name = parsed.repository.split('/').pop()!;
  const sizes = UNIQUE_MIB[name] ?? (role === 'kube' ? [20] : role === 'pause' ? [0.3] : [8]);
  const layers: LayerPlan[] = [];
  if (role !== 'pause') layers.push(baseLayer(platform, scale));
  if (role === 'kube') layers.push(kubeSharedLayer(platform, scale));
  const binDir = role === 'pause' || role === 'coredns' ? '' : 'usr/local/bin/';
  const binaries = name === 'etcd' ? ['etcd', 'etcdctl'] : sizes.map((_, i) => (i === 0 ? name : `${name}-${i}`));
  let entrypoint: string[] = [];
  sizes.forEach((mib, i) => {
    const bin = binaries[i]!;
    if (i === 0) entrypoint = [`/${binDir}${bin}`];
    const files: FilePlan[] = [];
    if (binDir) files.push(dir('usr/'), dir('usr/local/'), dir('usr/local/bin/'));
    files.push({ path: `${binDir}${bin}`, type: 'file', mode: 0o755, size: bytesAt(mib, scale), content: 'random' });
    if (role !== 'pause') {
      files.push(dir('usr/'), dir('usr/share/'), dir(`usr/share/doc/`), dir(`usr/share/doc/${bin}/`));
      files.push({ path: `usr/share/doc/${bin}/LICENSE`, type: 'file', mode: 0o644, size: 2048, content: 'text' });
    }
    layers.push({
      key: `unique|${parsed.ref}|${platform}|${i}`,
      createdBy: `COPY ${bin} /${binDir}${bin}`,
      // a directory may appear twice when two parts of the plan add it; keep the first
      files: files.filter((f, j) => files.findIndex((g) => g.path === f.path) === j),
    });
  });
  return { format, entrypoint, layers };
}

export interface PlatformParts {
  os: string;
  architecture: string;
  variant?: string;
}

export function parsePlatform(p: string): PlatformParts {
  const [os, architecture, variant] = p.split('/');
  if (!os || !architecture) throw new Error(`platform must be os/arch[/variant], got ${JSON.stringify(p)}`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export const KUBEADM_V1_30_14: ImageSpec[] = [
  { ref: 'registry.k8s.io/kube-apiserver:v1.30.14' },
  { ref: 'registry.k8s.io/kube-controller-manager:v1.30.14' },
  { ref: 'registry.k8s.io/kube-scheduler:v1.30.14' },
  { ref: 'registry.k8s.io/kube-proxy:v1.30.14' },
  { ref: 'registry.k8s.io/coredns/coredns:v1.11.3' },
  { ref: 'registry.k8s.io/pause:3.9' },
  { ref: 'registry.k8s.io/etcd:3.5.15-0' },
];
