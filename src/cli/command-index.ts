import type { CliCommand } from './command.js';

/** One entry of `makai --help`: what the command does, and how to load it. */
export interface CommandEntry {
  /** One line for `makai --help`. */
  readonly summary: string;
  /** Imports the command's module; only the command that runs is ever loaded. */
  readonly load: () => Promise<{ command: CliCommand }>;
}

/**
 * Every subcommand, by name. The summaries live here rather than in the modules so that
 * `makai --help` loads none of them (some pull in ZeroMQ, SQLite or the MongoDB driver, which
 * took seconds to import on a cold start).
 */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  up: { summary: 'run brokers, triggering service and simulated boxes on one machine', load: () => import('./commands/up.js') },
  run: { summary: 'run the triggering service on a topology or an original makai.json', load: () => import('./commands/run.js') },
  validate: { summary: 'check a config or topology file and print its diagram', load: () => import('./commands/validate.js') },
  'trigger-broker': {
    summary: 'run the triggering broker (box trigger stream → backend subscribers, CURVE)',
    load: () => import('./commands/trigger-broker.js'),
  },
  'acquisition-broker': {
    summary: 'run the acquisition broker (event numbers, box data requests and waveforms, CURVE)',
    load: () => import('./commands/acquisition-broker.js'),
  },
  simulate: { summary: 'run simulated OPQ Boxes against the brokers', load: () => import('./commands/simulate.js') },
  status: { summary: "print a running service's health: store, plugins, boxes last seen, queues, counters", load: () => import('./commands/status.js') },
  boxes: { summary: 'add, list and remove boxes of the registry (id, public key, location, calibration)', load: () => import('./commands/boxes.js') },
  measurements: { summary: "print a box's stored measurements (f, Vrms, THD) in a time range, as a table or CSV", load: () => import('./commands/measurements.js') },
  trends: { summary: "print or plot a box's trend windows (voltage, frequency, THD min/avg/max)", load: () => import('./commands/trends.js') },
  events: { summary: 'list, show, export (CSV) and plot (SVG) stored events and their waveforms', load: () => import('./commands/events.js') },
  deadletters: { summary: 'list the newest refused inputs (reason, socket, first bytes, time)', load: () => import('./commands/deadletters.js') },
  keys: { summary: 'generate and inspect CURVE key certificates', load: () => import('./commands/keys.js') },
  replay: { summary: 'replay stored measurements through a config\'s plugins in virtual time; diff against recorded events', load: () => import('./commands/replay.js') },
  test: { summary: 'run a scenario (declared or stored measurements) through a config and check the expected requests', load: () => import('./commands/test.js') },
  shadow: { summary: 'list the requests shadow plugins would have made', load: () => import('./commands/shadow.js') },
  plugin: { summary: 'write a new plugin skeleton (TypeScript, C, Rust or Python) with its own test', load: () => import('./commands/plugin.js') },
};
