import { access } from 'node:fs/promises';
import { ConfigError } from '../core/errors.js';
import { certificatePaths, readCertificate, writeCertificatePair, type CurveKeyPair } from '../security/curve-certificate.js';
import { generateCurveKeyPair } from '../security/curve-key-pair.js';

/** Certificate name of box `id` in the original layout (`opq_curve_gen --new <id>`). */
export function boxCertificateName(id: number): string {
  return `opqbox${id}`;
}

/** What {@link ensureBoxKeyPairs} found and did. */
export interface BoxKeyPairs {
  /** Each box's key pair, by id. */
  readonly keys: ReadonlyMap<number, CurveKeyPair>;
  /** Box ids whose key pair was generated now (the others were read). */
  readonly generated: readonly number[];
}

/**
 * Reads each box's secret certificate `<dir>/private_keys/opqbox<id>_secret` and generates the
 * missing ones (with the public certificate `<dir>/public_keys/opqbox<id>.key`, which a broker's
 * `client_certs` can point at), so simulated boxes keep their identity across runs.
 *
 * @param generate Key pair source for missing boxes (libzmq by default).
 * @throws ConfigError naming the file when an existing certificate is unreadable or has no secret key
 */
export async function ensureBoxKeyPairs(
  dir: string,
  ids: readonly number[],
  generate: () => CurveKeyPair = generateCurveKeyPair,
): Promise<BoxKeyPairs> {
  const keys = new Map<number, CurveKeyPair>();
  const generated: number[] = [];
  for (const id of ids) {
    const name = boxCertificateName(id);
    const { secretFile, publicFile } = certificatePaths(dir, name);
    if (await exists(secretFile)) {
      const certificate = await readCertificate(secretFile);
      if (certificate.secretKey === undefined) throw new ConfigError('not a secret certificate (no secret-key line)', { file: secretFile });
      const pair = { publicKey: certificate.publicKey, secretKey: certificate.secretKey };
      // A lost public half is re-written from the secret one (same keys), so brokers can load it.
      if (!(await exists(publicFile))) await writeCertificatePair(dir, name, pair, { force: true });
      keys.set(id, pair);
    } else {
      const pair = generate();
      await writeCertificatePair(dir, name, pair);
      keys.set(id, pair);
      generated.push(id);
    }
  }
  return { keys, generated };
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
