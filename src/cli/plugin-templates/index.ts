import { cTemplate } from './c.js';
import { pythonTemplate } from './python.js';
import { rustTemplate } from './rust.js';
import type { PluginTemplate } from './template.js';
import { typescriptTemplate } from './ts.js';

/** `makai plugin new --lang <lang>`: the templates by language; a new language is one entry. */
export const PLUGIN_TEMPLATES: Readonly<Record<string, PluginTemplate>> = {
  ts: typescriptTemplate,
  c: cTemplate,
  rust: rustTemplate,
  python: pythonTemplate,
};
