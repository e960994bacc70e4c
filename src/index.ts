// The library: the building blocks flat, each command's module as a namespace
// (airgap.pack.pack(…), airgap.verify.verifyBundle(…), airgap.load.load(…), airgap.serve.startServer(…)).
export * from './errors.js';
export * from './version.js';
export * from './oci/index.js';
export * from './content/index.js';
export * from './registry/index.js';
export * from './bundle/index.js';
export * from './kubernetes/index.js';
export * as pack from './pack/index.js';
export * as verify from './verify/index.js';
export * as load from './load/index.js';
export * as serve from './serve/index.js';
export * as cri from './cri/index.js';
