import { CertificateExistsError, readCertificate, writeCertificatePair } from '../../security/curve-certificate.js';
import { parseCommandArgs, UsageError, type CliCommand, type CliIo } from '../command.js';

const USAGE = `Usage:
  makai keys generate <name> --dir <dir> [--force]
      Creates a CURVE key pair and writes two certificates (the format of the original
      opq_curve_gen): <dir>/private_keys/<name>_secret (mode 0600; keep it on the machine that
      uses it) and <dir>/public_keys/<name>.key (give it to the peers, e.g. the brokers'
      client_certs). Prints the public key and both paths. Refuses to replace an existing
      secret certificate unless --force is given.
  makai keys show <file>
      Prints the public key of a certificate of either kind. Never prints a secret key.

Options:
  --dir <dir>   certificate directory (the original used /etc/opq/curve)
  --force       replace an existing secret certificate
  -h, --help    this text`;

async function generate(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: [...args],
    options: { dir: { type: 'string' }, force: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError('generate needs a <name>');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (values.dir === undefined || values.dir === '') throw new UsageError('generate needs --dir <dir>');
  // Loaded here so `keys show` works without the native ZeroMQ addon.
  const { generateCurveKeyPair } = await import('../../security/curve-key-pair.js');
  const keys = generateCurveKeyPair();
  try {
    const paths = await writeCertificatePair(values.dir, name, keys, { force: values.force === true });
    io.out(
      [
        `Generated CURVE key pair "${name}"`,
        `  public key:         ${keys.publicKey}`,
        `  secret certificate: ${paths.secretFile} (mode 0600, keep private)`,
        `  public certificate: ${paths.publicFile}`,
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    if (error instanceof CertificateExistsError) {
      io.err(`makai keys: ${error.message}; pass --force to replace it`);
      return 1;
    }
    throw error;
  }
}

async function show(args: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parseCommandArgs({ args: [...args], options: {}, allowPositionals: true, strict: true });
  const [file, ...extra] = positionals;
  if (file === undefined) throw new UsageError('show needs a <file>');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const certificate = await readCertificate(file);
  io.out(certificate.publicKey);
  return 0;
}

/** `makai keys`: CURVE certificates for boxes and brokers (spec §3). */
export const command: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'generate':
        return await generate(rest, io);
      case 'show':
        return await show(rest, io);
      case undefined:
        throw new UsageError('missing subcommand (generate or show)');
      default:
        throw new UsageError(`unknown subcommand "${sub}" (generate or show)`);
    }
  },
};
