export { runDoctor, type DoctorOptions, type DoctorReport, type DoctorContext, type ContainerdFacts } from './doctor.js';
export { CHECK_GROUPS, type CheckResult, type CheckStatus, type CheckGroup } from './check.js';
export { renderDoctorText } from './report-text.js';
export { detectRuntime, classifyEndpoint, type RuntimeFacts, type RuntimeKind } from './runtime.js';
export { runningSettings } from './running-settings.js';
export { readConfigFacts, defaultSandboxImage, type ConfigFacts } from './config-facts.js';
export { registryHosts, parseHostsToml, hostDirCandidates, type RegistryHosts, type HostEntry } from './hosts-file.js';
export { readKubeadmConfig, type KubeadmFacts } from './check-kubeadm.js';
