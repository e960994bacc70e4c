export { runDoctor, type DoctorOptions, type DoctorReport, type DoctorContext, type ContainerdFacts } from './doctor.js';
export { CHECK_GROUPS, type CheckResult, type CheckStatus, type CheckGroup } from '../node/check.js';
export { renderDoctorText } from './report-text.js';
export { detectRuntime, classifyEndpoint, type RuntimeFacts, type RuntimeKind } from '../node/runtime.js';
export { runningSettings } from '../node/containerd/running-settings.js';
export { readConfigFacts, defaultSandboxImage, type ConfigFacts } from '../node/containerd/config-facts.js';
export { registryHosts, parseHostsToml, hostDirCandidates, type RegistryHosts, type HostEntry } from '../node/containerd/hosts-file.js';
export { readKubeadmConfig, type KubeadmFacts } from './check-kubeadm.js';
