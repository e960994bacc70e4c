/**
 * Our own containerd drop-in (imported through `imports`): the sandbox image and, when the user has
 * not set one, the registry config_path — in the keys of the root config's version. Its version
 * never exceeds the root config's (containerd 2.x refuses a drop-in newer than the root; older
 * ones are migrated on load).
 */
import { tomlKeyPath, tomlString } from './toml.js';
import { keysForVersion } from './keys.js';

export const DROP_IN_MARKER = '# Written by airgap load --configure-containerd';

export interface DropInContent {
  /** The root config's version (2 or 3; later versions use version 3's keys). */
  version: number;
  sandboxImage?: string;
  configPath?: string;
}

export function renderDropIn(c: DropInContent): string {
  const keys = keysForVersion(c.version);
  const lines = [
    DROP_IN_MARKER,
    '# Re-running airgap load rewrites this file and keeps a backup of what it replaced.',
    `version = ${c.version}`,
  ];
  const section = (path: readonly string[], value: string) => {
    lines.push('', `[${tomlKeyPath(path.slice(0, -1))}]`, `  ${path[path.length - 1]} = ${tomlString(value)}`);
  };
  if (c.sandboxImage !== undefined) section(keys.sandboxImage, c.sandboxImage);
  if (c.configPath !== undefined) section(keys.configPath, c.configPath);
  if (c.sandboxImage === undefined && c.configPath === undefined) {
    lines.push('# Nothing to set here: the settings live in the main configuration.');
  }
  return lines.join('\n') + '\n';
}
