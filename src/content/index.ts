export * from './errors.js';
export * from './memory-store.js';
export * from './target.js';
export * from './verify-stream.js';
