export * from './compare.js';
export * from './errors.js';
export * from './image-list.js';
export * from './image-set.js';
export * from './published-list.js';
export {
  distributionNames,
  loadDistribution,
  manifestsDir,
  parseDistribution,
  type Distribution,
  type ImageRepositoryRule,
  type ImageTemplate,
  type PublishedList,
  type ReleaseRange,
  type VariantSpec,
} from './manifest-data.js';
export * from './version.js';
