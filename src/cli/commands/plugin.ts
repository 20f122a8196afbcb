import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseCommandArgs, UsageError, type CliCommand } from '../command.js';
import { PLUGIN_TEMPLATES } from '../plugin-templates/index.js';

const LANGS = Object.keys(PLUGIN_TEMPLATES);
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

const USAGE = `Usage:
  makai plugin new <name> [--lang ${LANGS.join('|')}] [--dir <dir>]
      Writes a working plugin skeleton with its own test into <dir> (default ./<name>), and
      prints how to build and test it and the entry to put in a makai.json. Every language's
      skeleton implements the same rule (a sustained voltage sag per box) and passes the same
      test. Refuses to overwrite a file.

Languages:
${LANGS.map((lang) => `  ${lang.padEnd(8)}${PLUGIN_TEMPLATES[lang]!.summary}`).join('\n')}

Options:
  --lang <lang>  the plugin's language (default ts)
  --dir <dir>    where to write it (default ./<name>)
  -h, --help     this text`;

/** `makai plugin new`: plugin skeletons in every supported language. */
export const command: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined) throw new UsageError('missing subcommand (new)');
    if (sub !== 'new') throw new UsageError(`unknown subcommand "${sub}" (new)`);
    const { values, positionals } = parseCommandArgs({
      args: rest,
      options: { lang: { type: 'string', default: 'ts' }, dir: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    const [name, ...extra] = positionals;
    if (name === undefined) throw new UsageError('new needs a <name>');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (!NAME.test(name) || name.length > 64) throw new UsageError(`"${name}" is not a plugin name: lower-case letters, digits and single hyphens, starting with a letter (e.g. sustained-sag)`);
    const template = PLUGIN_TEMPLATES[values.lang];
    if (!Object.hasOwn(PLUGIN_TEMPLATES, values.lang) || template === undefined) throw new UsageError(`--lang must be one of ${LANGS.join(', ')}, got "${values.lang}"`);
    const dir = resolve(values.dir ?? name);
    const files = template.files(name);
    for (const file of files) {
      const exists = await stat(join(dir, file.path)).then(() => true, () => false);
      if (exists) {
        io.err(`makai plugin: ${join(dir, file.path)} exists; not overwriting anything (choose another --dir or name)`);
        return 1;
      }
    }
    await mkdir(dir, { recursive: true });
    for (const file of files) {
      await writeFile(join(dir, file.path), file.content, { flag: 'wx' });
      if (file.executable) await chmod(join(dir, file.path), 0o755);
    }
    const where = relative(process.cwd(), dir) || '.';
    io.out(
      [
        `Wrote a ${values.lang} plugin "${name}" in ${where}/: ${files.map((f) => f.path).join(', ')}`,
        '',
        'Next:',
        `  cd ${where}`,
        ...template.nextSteps(name).map((step) => `  ${step}`),
        '',
        'Then name it in a makai.json in this folder (a relative path is read from the makai.json\'s folder):',
        `  "plugins": [{ "path": "${join(where, template.entryFile(name))}", "name": "${name}" }]`,
      ].join('\n'),
    );
    return 0;
  },
};
