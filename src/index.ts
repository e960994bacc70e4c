export * from './errors.js';
export * from './version.js';
export * from './oci/index.js';
export * from './content/index.js';
export * from './kubernetes/index.js';
