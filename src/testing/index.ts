/**
 * `makai/testing`: what plugin and topology authors need for marble tests in virtual time.
 * Re-exports only.
 */
export { createTestScheduler, pendingActionsAt } from './test-scheduler.js';
export { triggerMessage, eventRequest } from './messages.js';
export { staticBoxDirectory } from '../stores/box-directory.js';
export { RecordingLogger, silentLogger } from '../core/logger.js';
export { runPlugin, type RunPluginOptions } from './run-plugin.js';
