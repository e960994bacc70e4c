export * from './shim.js';
export { isPublicRegistry, isSealosNode, PUBLIC_REGISTRIES, sealosChecks, shimName, type KubeadmRepositoryFacts } from './checks.js';
