/**
 * The built-in node kinds, one file each: this list is what `createRegistry()` starts with.
 * A new kind is a new file here and one line below.
 */
export { triggerSubscription, type TriggerSubscriptionOptions } from './trigger-subscription.js';
export { decodeTriggers, type DecodeTriggersOptions } from './decode-triggers.js';
export { trends, type TrendsOptions } from './trends.js';
export { plugin, type PluginOptions } from './plugin.js';
export { dedupe, type DedupeOptions } from './dedupe.js';
export { measurementStore, type MeasurementStoreOptions } from './measurement-store.js';
export { trendStore, type TrendStoreOptions } from './trend-store.js';
export { acquisitionPush, type AcquisitionPushOptions } from './acquisition-push.js';
export { boxLiveness, type BoxLivenessOptions } from './box-liveness.js';
export { deadLetters, type DeadLettersOptions } from './dead-letters.js';
export { storedMeasurements, type StoredMeasurementsOptions } from './stored-measurements.js';
export { shadowLog, type ShadowLogOptions } from './shadow-log.js';
