/** The message builders, from `makai/testing` (one copy for our tests and plugin authors'). */
export { triggerMessage, eventRequest } from '../../src/testing/messages.js';
