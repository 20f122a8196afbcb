import type { AnyComponent } from './nodes/component.js';
import type { Logger } from './core/logger.js';
import { createRegistry, type Registry } from './registry.js';
import { anchorConfigError, type DeclaredNode, type Topology, type TopologyNode } from './topology.js';

/** A topology whose every node kind is resolved and whose every check has passed: ready to start. */
export interface PreparedTopology extends Topology {
  readonly prepared: true;
}

/** True for a topology that went through {@link prepareTopology}. */
export function isPrepared(topology: Topology): topology is PreparedTopology {
  return (topology as Partial<PreparedTopology>).prepared === true;
}

export interface PrepareOptions {
  /** Node kinds by name; default a new registry of the built-in kinds. */
  readonly registry?: Registry;
  /** Relative paths in node options (plugin modules) resolve against this directory. */
  readonly baseDir: string;
  /** The topology or config file, named in every error. */
  readonly file?: string;
  readonly logger: Logger;
}

/**
 * The checks of a topology that need I/O, run once before it starts and by `makai validate`:
 * every node kind resolved through the registry, and every component's `prepare` (a plugin
 * module is imported, its settings checked). Opens no socket and no store, so `makai validate`
 * refuses exactly what `makai run` refuses.
 *
 * A node made by a factory of a kind the registry does not know is accepted with its own
 * component (a kind defined in the topology file); a kind the registry holds under another
 * component is refused.
 *
 * @throws ConfigError naming the file and the node's field for the first node refused.
 */
export async function prepareTopology(topology: Topology, options: PrepareOptions): Promise<PreparedTopology> {
  const registry = options.registry ?? createRegistry();
  const prepareNode = async (id: string, node: DeclaredNode, at: string): Promise<DeclaredNode> => {
    const anchor = node.origin?.field ?? at;
    const file = node.origin?.file ?? options.file;
    try {
      const component: AnyComponent = registry.get(node.spec.kind) ?? node.spec.component;
      if (component !== node.spec.component) {
        throw new Error(`node kind "${node.spec.kind}" is registered to another component than the one this node was made with`);
      }
      const where = { baseDir: options.baseDir, id, logger: options.logger.child({ node: id }), ...(file === undefined ? {} : { file }) };
      const checked = component.prepare ? await component.prepare(node.checked, where) : node.checked;
      return { ...node, checked };
    } catch (error) {
      throw anchorConfigError(error, anchor, file);
    }
  };

  const nodes: TopologyNode[] = [];
  for (const node of topology.nodes) {
    switch (node.type) {
      case 'source':
      case 'sink':
        nodes.push({ ...node, ...(await prepareNode(node.id, node, `nodes.${node.id}`)) });
        break;
      case 'pipe': {
        const stages: DeclaredNode[] = [];
        for (const [index, stage] of node.stages.entries()) {
          stages.push(await prepareNode(node.id, stage, node.stages.length > 1 ? `nodes.${node.id}.stages[${index}]` : `nodes.${node.id}`));
        }
        nodes.push({ ...node, stages });
        break;
      }
      case 'merge':
        nodes.push(node);
        break;
    }
  }
  return { name: topology.name, nodes, prepared: true };
}
