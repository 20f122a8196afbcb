import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * Makes `import … from 'makai'` (and `'makai/testing'`) in topology and plugin modules resolve
 * to the copy of Makai that is running them, wherever the module lives: a topology in a folder
 * with its own `node_modules/makai`, one in a folder without it, or `config/topology.ts` of this
 * checkout. One copy means one `ConfigError` class, one registry and one rxjs for the whole
 * process; two copies would make `instanceof` checks and registrations silently disagree.
 *
 * A module resolve hook (Node's `module.register`), installed once per thread, before the first
 * topology or plugin module is imported. It defers to the next resolver with this module as
 * the parent, so under tsx the `.js` → `.ts` mapping of our own sources still applies.
 */
export function resolveMakaiToThisCopy(): void {
  if (installed) return;
  installed = true;
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, import.meta.url, {
    data: {
      parentURL: import.meta.url,
      targets: { makai: '../index.js', 'makai/testing': '../testing/index.js' },
    },
  });
}

let installed = false;

/**
 * Appended to the URL of a topology or plugin module to import it as an ES module whatever the
 * nearest package.json says. Without it, tsx compiles a `.ts` file in a folder without
 * `"type": "module"` to CommonJS, and its `import … from 'makai'` becomes a `require()` of the
 * ES module that is importing it: Node refuses that as a cycle.
 */
const ESM_MARK = '?makai-esm';

/** The URL to import `file` with: as ESM, with `'makai'` resolving to this copy. */
export function moduleUrl(file: string): string {
  resolveMakaiToThisCopy();
  return pathToFileURL(file).href + ESM_MARK;
}

/** The hooks module: plain JavaScript, as it is loaded on the hooks thread without any compiler. */
const HOOKS = `
const ESM_MARK = '${ESM_MARK}';
let parentURL;
let targets = {};
export function initialize(data) {
  parentURL = data.parentURL;
  targets = data.targets;
}
export async function resolve(specifier, context, nextResolve) {
  const target = Object.hasOwn(targets, specifier) ? targets[specifier] : undefined;
  if (target !== undefined) return nextResolve(target, { ...context, parentURL });
  if (specifier.endsWith(ESM_MARK)) {
    const resolved = await nextResolve(specifier.slice(0, -ESM_MARK.length), context);
    return { ...resolved, url: resolved.url + ESM_MARK, format: 'module' };
  }
  return nextResolve(specifier, context);
}
`;
