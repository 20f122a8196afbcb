/** Public API of Makai (`import … from 'makai'`): re-exports only. Marble-test helpers are in `makai/testing`. */
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
export * from './nodes/component.js';
export * from './topology.js';
export * from './nodes/index.js';
export { pluginInstanceName } from './nodes/plugin.js';
export { Registry, createRegistry, builtinComponents } from './registry.js';
export { prepareTopology, type PreparedTopology, type PrepareOptions } from './prepare-topology.js';
export { startTopology, type RunningTopology, type RuntimeDependencies } from './runtime.js';
export { topologyOptionsOf, type OpqTriggeringOptions } from './topologies/opq-triggering-options.js';
export { makaiSettingsSchema, type MakaiSettings } from './config/makai-settings.js';
export {
  definePlugin,
  type BoxDirectory as PluginBoxDirectory,
  type EventRequest,
  type Measurement,
  type PluginContext,
  type PluginFactory,
  type PluginOperator,
  type PluginSettings,
} from './plugins/plugin.js';
