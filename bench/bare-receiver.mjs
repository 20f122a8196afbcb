// The bare receiver of the cost scenario (bench/daemon-run.ts): a zeromq.js SUB that receives
// `[box id, TriggerMessage]` and decodes the TriggerMessage, nothing else, from the built
// package. Plain JavaScript on plain `node`, like the built daemon it is compared with: under
// tsx it would carry a TypeScript loader thread the daemon does not have.
//
// Usage: node bench/bare-receiver.mjs <endpoint>; on SIGTERM it prints {"decoded": n} and exits.
import * as zmq from 'zeromq';
import { decodeTriggerMessage } from '../dist/protocol/codec.js';

const socket = new zmq.Subscriber({ linger: 0 });
socket.subscribe();
socket.connect(process.argv[2]);
let decoded = 0;
process.once('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ decoded })}\n`, () => process.exit(0));
});
for await (const frames of socket) {
  decodeTriggerMessage(frames[1]);
  decoded++;
}
