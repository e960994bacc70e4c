export * from './exit-codes.js';
export * from './report-error.js';
