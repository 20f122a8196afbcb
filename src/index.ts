/** Public API of Makai: re-exports only. */
export * from './core/errors.js';
export * from './core/logger.js';
export * from './core/metrics.js';
export * from './core/duration.js';
export type * from './core/rejection.js';
export * from './protocol/messages.js';
export * from './protocol/codec.js';
export * from './protocol/documents.js';
export type * from './stores/store.js';
export { openStore } from './stores/open-store.js';
export { staticBoxDirectory, type BoxDirectory } from './stores/box-directory.js';
export * from './topology.js';
export * from './registry.js';
export { startTopology, type RunningTopology, type RuntimeDependencies } from './runtime.js';
export { opqTriggeringTopology } from './topologies/opq-triggering.js';
export { makaiSettingsSchema, type MakaiSettings } from './config/makai-settings.js';
export { definePlugin, type PluginContext, type PluginFactory, type PluginOperator, type PluginSettings } from './plugins/plugin.js';
