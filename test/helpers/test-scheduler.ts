/** The marble-test scheduler helpers, from `makai/testing` (one copy for our tests and plugin authors'). */
export { createTestScheduler, pendingActionsAt } from '../../src/testing/test-scheduler.js';
