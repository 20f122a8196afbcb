import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { readCertificate } from './curve-certificate.js';

/** One client key read from a certificate file. */
export interface PublicKeyEntry {
  readonly file: string;
  /** Z85, 40 characters. */
  readonly publicKey: string;
  /** The certificate's `id` line, when it has one. */
  readonly id: string | undefined;
}

/** The result of {@link loadPublicKeysFromDir}: the keys that loaded, and why the others did not. */
export interface PublicKeyDirectory {
  readonly keys: readonly PublicKeyEntry[];
  /** One `ConfigError` per file that could not be used, naming the file; the caller logs them. */
  readonly problems: readonly ConfigError[];
}

/**
 * Reads every certificate in `dir` (the brokers' `client_certs`, e.g. `/etc/opq/curve/public_keys`)
 * and returns their public keys. Either certificate kind is accepted; hidden files and
 * sub-directories are skipped. A malformed or unreadable file becomes an entry in `problems`
 * and does not stop the others, so one bad file cannot lock every box out. Files are read in
 * name order, so results are stable.
 *
 * @throws ConfigError when `dir` itself is missing or not a directory
 */
export async function loadPublicKeysFromDir(dir: string): Promise<PublicKeyDirectory> {
  let names: string[];
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new ConfigError('client certificate path is not a directory', { file: dir });
    names = await readdir(dir);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read client certificate directory: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { file: dir }, { cause: error });
  }
  const keys: PublicKeyEntry[] = [];
  const problems: ConfigError[] = [];
  for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
    const file = join(dir, name);
    try {
      // stat follows symlinks, so a linked certificate counts and a linked directory is skipped.
      if ((await stat(file)).isDirectory()) continue;
      const certificate = await readCertificate(file);
      keys.push({ file, publicKey: certificate.publicKey, id: certificate.id });
    } catch (error) {
      problems.push(error instanceof ConfigError ? error : new ConfigError(String(error), { file }, { cause: error }));
    }
  }
  return { keys, problems };
}
