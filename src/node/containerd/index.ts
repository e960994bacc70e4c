export {
  planContainerdConfig,
  DEFAULT_CONFIG_PATH,
  DEFAULT_HOSTS_DIR,
  RESTART_COMMAND,
  type ContainerdConfigRequest,
  type ConfigPlan,
  type FileChange,
  type ChangeRole,
  type EffectiveSetting,
} from './plan.js';
export { applyConfigPlan, describeApplyResult, renderDiff, type ApplyOptions, type ApplyResult, type AppliedChange } from './apply.js';
export {
  detectContainerdVersion,
  parseContainerdVersionOutput,
  parseCtrVersionOutput,
  parseVersionString,
  configVersionFor,
  mergesPluginTablesDeeply,
  type ContainerdVersion,
  type ConfigVersion,
  type DetectOptions,
} from './version.js';
export { renderHostsToml, mirrorHostUrl, upstreamServer, normalizeMirrorUrl, normalizeRegistry, type MirrorSpec } from './hosts-toml.js';
export { renderDropIn, type DropInContent } from './drop-in.js';
export { unifiedDiff, type DiffInput } from './diff.js';
export { parseToml, type TomlDocument, type TomlValue, type TomlTable } from './toml.js';
export { ContainerdConfigError } from './errors.js';
