import * as zmq from 'zeromq';
import { StreamError } from '../core/errors.js';
import type { CurveKeyPair } from './curve-certificate.js';

/**
 * A new random CURVE key pair from libzmq (`zmq_curve_keypair`), as 40-character Z85 strings.
 *
 * @throws StreamError when the ZeroMQ build has no CURVE support
 */
export function generateCurveKeyPair(): CurveKeyPair {
  if (!zmq.capability.curve) throw new StreamError('this ZeroMQ build has no CURVE support');
  const { publicKey, secretKey } = zmq.curveKeyPair();
  return { publicKey, secretKey };
}
