import { stat } from 'node:fs/promises';

/**
 * Why the permissions of a secret certificate are unsafe, or `undefined` when only its owner
 * can read it. `makai keys` writes secrets at 0600; a copy made with `cp` or an archive can
 * land at 0644 or 0666, and then any local user can read the server's secret key. Windows has
 * no POSIX modes and is not checked.
 *
 * ```
 * mode 0600 → undefined
 * mode 0640 → 'readable by its group (mode 0640); make it 0600'
 * mode 0666 → 'readable by group and others (mode 0666); make it 0600'
 * ```
 */
export async function secretFileModeProblem(file: string): Promise<string | undefined> {
  if (process.platform === 'win32') return undefined;
  const mode = (await stat(file)).mode & 0o777;
  const group = (mode & 0o070) !== 0;
  const others = (mode & 0o007) !== 0;
  if (!group && !others) return undefined;
  const who = group && others ? 'group and others' : group ? 'its group' : 'others';
  return `readable by ${who} (mode 0${mode.toString(8)}); make it 0600`;
}
