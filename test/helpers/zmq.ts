import * as zmq from 'zeromq';
import type { CurveKeyPair } from '../../src/security/curve-certificate.js';

/**
 * Socket helpers for the ZeroMQ integration tests: awaiting socket events instead of sleeping,
 * bounded waits that fail a test instead of hanging it, and CURVE client sockets.
 */

/** Text of every frame, for readable assertions. */
export const framesText = (frames: readonly Uint8Array[]): string[] => frames.map((f) => Buffer.from(f).toString('utf8'));

/** Encodes strings as frames. */
export const frames = (...parts: string[]): Uint8Array[] => parts.map((p) => new Uint8Array(Buffer.from(p)));

/** Rejects with `label` when `promise` has not settled within `ms`: a guard against hangs, not a synchronisation. */
export async function within<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** The first of `types` that `socket` reports (its monitor turns into event-emitter mode). */
export function nextEvent(socket: zmq.Socket, ...types: zmq.EventType[]): Promise<zmq.Event> {
  return new Promise((resolve) => {
    const listeners = types.map((type) => {
      const listener = (event: zmq.Event) => {
        for (const [t, l] of listeners) socket.events.off(t, l);
        resolve(event);
      };
      socket.events.on(type, listener);
      return [type, listener] as const;
    });
  });
}

/**
 * Calls `send` until `done` settles (at most `attempts` times, `gapMs` apart). PUB/SUB needs
 * this: a publisher drops messages until the subscriber's subscription has reached it, and
 * nothing tells the publisher when that happened. The wait ends on the event, not on a timer.
 */
export async function sendUntil(send: () => Promise<void>, done: Promise<unknown>, { attempts = 500, gapMs = 10 } = {}): Promise<void> {
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  for (let i = 0; i < attempts && !finished; i++) {
    await send();
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  await done;
}

/** CURVE options of a client socket. */
export function curveClientOptions(client: CurveKeyPair, serverPublicKey: string) {
  return { curveServerKey: serverPublicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey, linger: 0 };
}

/**
 * Collects the messages of an observable subscription and lets a test wait for the first one
 * that matches a predicate.
 */
export class Inbox {
  readonly messages: string[][] = [];
  private waiters: { match: (m: string[]) => boolean; resolve: (m: string[]) => void }[] = [];

  push = (message: readonly Uint8Array[]): void => {
    const text = framesText(message);
    this.messages.push(text);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(text)) return true;
      w.resolve(text);
      return false;
    });
  };

  /** Resolves with the first message (already received or future) for which `match` is true. */
  waitFor(match: (message: string[]) => boolean): Promise<string[]> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}
