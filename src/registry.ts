import { closestName } from './config/closest-name.js';
import { ConfigError } from './core/errors.js';
import type { AnyComponent } from './nodes/component.js';
import * as builtinNodes from './nodes/index.js';

/**
 * The registry: node kinds by name. A value, not a global: `createRegistry()` gives one with
 * the built-in kinds, and outside modules (plugins, other-language adapters, replay sources)
 * register their own into the registry a service runs with.
 *
 * ```ts
 * const registry = createRegistry();
 * registry.register(myReplaySource.component);
 * const prepared = await prepareTopology(topology, { registry, baseDir, logger });
 * ```
 */
export class Registry {
  private readonly components = new Map<string, AnyComponent>();

  constructor(components: Iterable<AnyComponent> = []) {
    for (const component of components) this.register(component);
  }

  /**
   * Adds a node kind. Registering the same component twice is harmless; another component
   * under a kind already taken is refused (two meanings for one name).
   *
   * @returns This registry, for chaining.
   */
  register(component: AnyComponent): this {
    const existing = this.components.get(component.kind);
    if (existing !== undefined && existing !== component) {
      throw new ConfigError(`node kind "${component.kind}" is already registered to another component`, { path: `kinds.${component.kind}` });
    }
    this.components.set(component.kind, component);
    return this;
  }

  /** The component of `kind`, or undefined. */
  get(kind: string): AnyComponent | undefined {
    return this.components.get(kind);
  }

  /** The component of `kind`; a `ConfigError` at `path` with a did-you-mean when there is none. */
  resolve(kind: string, path: string): AnyComponent {
    const component = this.components.get(kind);
    if (component !== undefined) return component;
    const hint = closestName(kind, this.kinds());
    throw new ConfigError(`unknown node kind "${kind}"${hint ? ` (did you mean "${hint}"?)` : ''}; known kinds: ${this.kinds().join(', ')}`, { path });
  }

  /** Every registered kind, sorted. */
  kinds(): string[] {
    return [...this.components.keys()].sort();
  }
}

/** The components of every built-in node kind (`src/nodes/`). */
export const builtinComponents: readonly AnyComponent[] = Object.values(builtinNodes).map((factory) => factory.component);

/** A new registry holding the built-in node kinds. */
export function createRegistry(): Registry {
  return new Registry(builtinComponents);
}
