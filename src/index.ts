/** Public API of Makai: re-exports only. */
export * from './core/errors.js';
export * from './core/logger.js';
export * from './core/metrics.js';
export * from './core/duration.js';
export * from './protocol/messages.js';
export * from './stores/documents.js';
export type * from './stores/store.js';
