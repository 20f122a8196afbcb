import type { Logger } from '../core/logger.js';

/** `tcp://*:9884`, `tcp://0.0.0.0:9884`, `tcp://[::]:9884`: every interface. */
const WILDCARD = /^tcp:\/\/(\*|0\.0\.0\.0|\[::\]|::)(:|$)/;

/** Whether `endpoint` binds every network interface rather than a chosen address. */
export function isWildcardEndpoint(endpoint: string): boolean {
  return WILDCARD.test(endpoint);
}

/**
 * Warns (loudly, once at start) when an unauthenticated backend socket binds every interface:
 * anyone who can reach the port can then send event requests or read the box stream. The
 * defaults are loopback since issue 14; a wildcard stays possible for a backend on another host.
 *
 * @param field - the config field, e.g. `backend_pull`
 * @returns whether it warned
 */
export function warnIfWildcardBackend(logger: Logger, field: string, endpoint: string): boolean {
  if (!isWildcardEndpoint(endpoint)) return false;
  logger.warn(`UNAUTHENTICATED SOCKET ON EVERY INTERFACE: ${field} binds ${endpoint}; anyone who can reach this port can use it. Bind 127.0.0.1 (the default) unless a backend on another host needs it, and firewall it.`, {
    field,
    endpoint,
  });
  return true;
}
