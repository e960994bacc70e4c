export * from './errors.js';
export * from './memory-store.js';
export * from './target.js';
export * from './verify-stream.js';
export * from './copy-graph.js';
export * from './resumable.js';
export * from './hash-pool.js';
