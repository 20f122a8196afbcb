import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { closestName } from './closest-name.js';

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
    const hint = closestName(field, known);
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

/** The field names a zod object schema knows at `path` (for did-you-mean hints). */
export function knownKeys(schema: z.ZodTypeAny, path: readonly (string | number)[]): string[] {
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
