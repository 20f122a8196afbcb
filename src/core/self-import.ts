import { register } from 'node:module';

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

/** The hooks module: plain JavaScript, as it is loaded on the hooks thread without any compiler. */
const HOOKS = `
let parentURL;
let targets = {};
export function initialize(data) {
  parentURL = data.parentURL;
  targets = data.targets;
}
export async function resolve(specifier, context, nextResolve) {
  const target = Object.hasOwn(targets, specifier) ? targets[specifier] : undefined;
  if (target !== undefined) return nextResolve(target, { ...context, parentURL });
  return nextResolve(specifier, context);
}
`;
