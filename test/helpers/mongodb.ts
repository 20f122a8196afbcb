import { randomUUID } from 'node:crypto';
import { createServer, Socket, type Server } from 'node:net';
import { MongoClient } from 'mongodb';

/**
 * Where the MongoDB tests run: `MAKAI_TEST_MONGODB_URI` (any MongoDB or FerretDB server; CI
 * starts FerretDB with `.ci/ferretdb.sh`). Without it the tests are skipped with a visible
 * reason, except under `CI=true`, where a missing server is a failure (`missingInCi`).
 */
export interface MongoTestTarget {
  /** The server URI, when configured. */
  readonly uri: string | undefined;
  /** Skip reason for `describe`/`it` options when there is no server; `false` when there is one. */
  readonly skip: string | false;
  /** True when running under CI without a server: register a failing test. */
  readonly missingInCi: boolean;
}

export function mongoTestTarget(env: NodeJS.ProcessEnv = process.env): MongoTestTarget {
  const uri = env['MAKAI_TEST_MONGODB_URI']?.trim() || undefined;
  if (uri !== undefined) return { uri, skip: false, missingInCi: false };
  return {
    uri: undefined,
    skip: 'MAKAI_TEST_MONGODB_URI not set (e.g. `.ci/ferretdb.sh run npm test`, or MAKAI_TEST_MONGODB_URI=mongodb://127.0.0.1:27017/ npm test)',
    missingInCi: env['CI'] === 'true',
  };
}

/** A database name no other test or run uses (FerretDB allows letters, digits and `_` up to 63 chars). */
export function uniqueDatabaseName(prefix = 'makai_test'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '')}`;
}

/** Runs `body` with a plain driver client (no Makai code), closing it afterwards. */
export async function withRawClient<T>(uri: string, body: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
    return await body(client);
  } finally {
    await client.close();
  }
}

export async function dropDatabase(uri: string, database: string): Promise<void> {
  await withRawClient(uri, async (client) => {
    await client.db(database).dropDatabase();
  });
}

/** A loopback port nothing listens on (it was free a moment ago): connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The single `host:port` of a plain `mongodb://` URI, or undefined for URIs a byte-level proxy
 * cannot stand in for (several hosts, `mongodb+srv`, TLS).
 */
export function singleHost(uri: string): { host: string; port: number } | undefined {
  if (/[?&](tls|ssl)=true/i.test(uri)) return undefined;
  const match = /^mongodb:\/\/(?:[^@/]*@)?([^,/?:]+)(?::(\d+))?(?:[/?]|$)/i.exec(uri);
  if (!match?.[1]) return undefined;
  return { host: match[1], port: Number(match[2] ?? 27017) };
}

/** `uri` with its host replaced by `127.0.0.1:<port>` (credentials, path and options kept). */
export function uriThrough(uri: string, port: number): string {
  return uri.replace(/^(mongodb:\/\/(?:[^@/]*@)?)[^,/?]+/i, `$1127.0.0.1:${port}`);
}

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, to cut and restore the connection under
 * a running client (a server outage without stopping the shared test server).
 */
export interface TcpProxy {
  readonly port: number;
  /** Stops listening and resets every open connection: the server looks gone. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.connect(target.port, target.host, () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.resetAndDestroy();
      sockets.clear();
    });
  await listen(0);
  const { port } = server.address() as { port: number };
  return {
    port,
    cut: stopListening,
    restore: () => listen(port),
    close: stopListening,
  };
}

/** Resolves with `work`'s result, or rejects once `ms` have passed; never leaves a timer behind. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
