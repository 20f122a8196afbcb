import { ConfigError } from '../core/errors.js';

/**
 * Parses a listen address: `host:port`, `[v6]:port`, `:port` or `port` (the last two on
 * 127.0.0.1).
 *
 * @throws ConfigError naming `metrics_address` for anything else.
 */
export function parseListenAddress(address: string): { host: string; port: number } {
  const text = address.trim();
  const match = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):)?(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new ConfigError(`"${address}" is not host:port (e.g. 127.0.0.1:9090, or a port alone for loopback)`, {
      path: 'metrics_address',
    });
  }
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}
