/**
 * Where the CRI image settings live in each containerd config version. Version 2 (containerd 1.x,
 * and 2.x migrates it) keeps them in the CRI plugin; version 3 (containerd 2.x) moved them to the
 * CRI images plugin.
 */
export interface CriKeys {
  /** The config version these keys belong to (2, or 3 for 3 and later). */
  version: 2 | 3;
  /** The plugin table that holds them (in containerd 1.x an import replaces it wholesale). */
  plugin: readonly string[];
  sandboxImage: readonly string[];
  registry: readonly string[];
  configPath: readonly string[];
  mirrors: readonly string[];
  configs: readonly string[];
}

const CRI_V2 = ['plugins', 'io.containerd.grpc.v1.cri'] as const;
const IMAGES_V3 = ['plugins', 'io.containerd.cri.v1.images'] as const;

export const V2_KEYS: CriKeys = {
  version: 2,
  plugin: CRI_V2,
  sandboxImage: [...CRI_V2, 'sandbox_image'],
  registry: [...CRI_V2, 'registry'],
  configPath: [...CRI_V2, 'registry', 'config_path'],
  mirrors: [...CRI_V2, 'registry', 'mirrors'],
  configs: [...CRI_V2, 'registry', 'configs'],
};

export const V3_KEYS: CriKeys = {
  version: 3,
  plugin: IMAGES_V3,
  sandboxImage: [...IMAGES_V3, 'pinned_images', 'sandbox'],
  registry: [...IMAGES_V3, 'registry'],
  configPath: [...IMAGES_V3, 'registry', 'config_path'],
  mirrors: [...IMAGES_V3, 'registry', 'mirrors'],
  configs: [...IMAGES_V3, 'registry', 'configs'],
};

/**
 * The keys a file of this config version uses. containerd 2.x migrates each file on its own
 * before merging, so a version 2 (or versionless) drop-in keeps the version 2 keys.
 */
export function keysForVersion(version: number | undefined): CriKeys {
  return version !== undefined && version >= 3 ? V3_KEYS : V2_KEYS;
}

/** Human form of a key path for messages: [plugins."io.containerd.grpc.v1.cri"] sandbox_image */
export function describeKey(path: readonly string[]): string {
  const table = path.slice(0, -1).map((p, i) => (i === 0 || /^[A-Za-z0-9_-]+$/.test(p) ? p : `"${p}"`));
  return `[${table.join('.')}] ${path[path.length - 1]}`;
}
