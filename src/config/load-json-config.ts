import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';

/**
 * Reads a JSON config file and validates it against a zod schema. Every problem becomes a
 * {@link ConfigError} that names the file and the field (`plugins[0].path`), with a
 * did-you-mean hint for misspelt fields.
 */
export async function loadJsonConfig<S extends z.ZodTypeAny>(file: string, schema: S): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the config file (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { file }, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`not valid JSON: ${(error as Error).message}`, { file }, { cause: error });
  }
  return parseConfig(json, schema, file);
}

/** Validates an already parsed config value; `file` only labels the errors. */
export function parseConfig<S extends z.ZodTypeAny>(value: unknown, schema: S, file?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = file === undefined ? {} : { file };
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, issue.path);
    const field = issue.keys[0]!;
    const hint = closest(field, known);
    throw new ConfigError(
      `unknown field${hint ? ` (did you mean "${hint}"?)` : ''}${known.length ? `; known fields: ${known.join(', ')}` : ''}`,
      { ...where, path: formatPath([...issue.path, field]) },
    );
  }
  throw new ConfigError(issue.message, { ...where, path: formatPath(issue.path) || '(root)' });
}

/** `['plugins', 0, 'path']` → `plugins[0].path`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}

function knownKeys(schema: z.ZodTypeAny, path: readonly (string | number)[]): string[] {
  let node: z.ZodTypeAny | undefined = schema;
  for (const part of path) node = node && childSchema(node, part);
  const shape = node && unwrap(node)._def.shape?.();
  return shape ? Object.keys(shape) : [];
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let node = schema;
  while (node._def.innerType || node._def.schema) node = node._def.innerType ?? node._def.schema;
  return node;
}

function childSchema(schema: z.ZodTypeAny, part: string | number): z.ZodTypeAny | undefined {
  const node = unwrap(schema);
  if (typeof part === 'number') return node._def.type;
  return node._def.shape?.()[part];
}

/** The known name within edit distance 3 of `name`, if any. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= 3 && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
