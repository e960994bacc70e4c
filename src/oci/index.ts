export * from './digest.js';
export * from './descriptor.js';
export * from './errors.js';
export * from './manifest.js';
export * from './media-type.js';
export * from './platform.js';
export * from './reference.js';
export * from './registry-namespace.js';
