// @ts-check
/**
 * Layer rules of `src/`, checked by dependency-cruiser in `npm test` (`npm run lint:layers`).
 *
 * Why layers at all: the engine's leaves (codec, operators, stores) are meant to be reused and
 * tested alone, in virtual time, with real sockets only at the edges. An upward import (a store
 * reaching into the simulator, an operator into a store) quietly couples a leaf to a service and
 * is how "pure" code ends up opening sockets. Type-only imports count too
 * (`tsPreCompilationDeps`): a type from a higher layer is knowledge of that layer all the same.
 *
 * Every module of `src/` belongs to exactly one layer (folders by pattern, so new files in an
 * existing folder, e.g. `src/nodes/<kind>.ts`, are covered without editing this file). A module
 * may import its own layer and the layers of lower rank; layers of one rank are peers and may
 * import each other unless a rule below says otherwise (cycles are still refused). A module
 * outside the map is an error, so a new folder has to be placed here, with a reason.
 *
 * The test `test/unit/layers/layer-rules.test.ts` runs these rules on small fixture trees with
 * one violation each, so a rule that stopped matching would fail there.
 */

/**
 * @typedef {object} Layer
 * @property {string} name     used in the rule name (`layer-<name>`)
 * @property {number} rank     lower ranks never import higher ones
 * @property {string[]} paths  regular expressions over paths relative to the cruise's base dir
 * @property {string} why      what the layer is, and hence why it may not import higher layers
 */

/** @type {Layer[]} */
const layers = [
  { name: 'core', rank: 0, paths: ['^src/core/'], why: 'errors, logger, metrics and durations are used by every layer, so they can use none' },
  { name: 'protocol', rank: 1, paths: ['^src/protocol/'], why: 'the codec and the box/wire/data-model facts are the contract with OPQ Boxes, Mauka and View; they depend on core only, so every layer can share one definition' },
  { name: 'security', rank: 2, paths: ['^src/security/'], why: 'CURVE keys and ZAP are set up before any socket carries data, from key files and settings alone' },
  { name: 'config', rank: 2, paths: ['^src/config/'], why: 'config schemas describe settings; they must not pull in what the settings configure' },
  { name: 'operators', rank: 3, paths: ['^src/operators/'], why: 'pure RxJS operator factories, tested with marbles in virtual time; they see messages and documents, never an edge or a service' },
  { name: 'plugins', rank: 3, paths: ['^src/plugins/'], why: 'the plugin contract, loader and built-ins: a plugin is an operator over measurements and must not reach stores, sockets or the CLI' },
  { name: 'stores', rank: 4, paths: ['^src/stores/'], why: 'stores are edges: they persist documents and need nothing from the services above them' },
  { name: 'sources', rank: 4, paths: ['^src/sources/'], why: 'sources are edges: sockets in, messages out' },
  { name: 'sinks', rank: 4, paths: ['^src/sinks/'], why: 'sinks are edges: messages in, sockets or stores out' },
  { name: 'brokers', rank: 5, paths: ['^src/brokers/'], why: 'the acquisition and trigger brokers are services built from edges; nothing below a service may depend on one' },
  { name: 'observability', rank: 5, paths: ['^src/observability/'], why: 'health, liveness and the metrics endpoint watch services; nothing below them may depend on them' },
  { name: 'console', rank: 5, paths: ['^src/console/'], why: 'the web console is a read-only view of a service (its store and health), served by the service\'s HTTP endpoint; nothing below a service depends on it' },
  { name: 'simulator', rank: 5, paths: ['^src/simulator/'], why: 'the simulated box fleet talks to Makai over the wire like real boxes; it uses edges and protocol, and production code never depends on it' },
  { name: 'nodes', rank: 6, paths: ['^src/nodes/'], why: 'one component per topology node kind (spec, validate, create); they wire operators, plugins, edges and services together' },
  { name: 'composition', rank: 7, paths: ['^src/topologies/', '^src/(?!index\\.ts$)[^/]+\\.ts$'], why: 'topology, runtime, registry and the default topologies compose nodes; the top-level files of src/ are this layer' },
  { name: 'entry', rank: 8, paths: ['^src/index\\.ts$', '^src/testing/'], why: 'the public entry points (`makai`: src/index.ts, `makai/testing`: src/testing/) re-export the API and the marble-test helpers; only the CLI is above them' },
  { name: 'cli', rank: 9, paths: ['^src/cli/'], why: 'the CLI is the composition root: it may import anything, and nothing imports it' },
];

/** Every path that belongs to some layer. */
const mapped = layers.flatMap((layer) => layer.paths);

/** One rule per layer: from it, nothing in src/ outside its own and lower-or-equal ranks (nor outside the map). */
const layerRules = layers.map((layer) => {
  const allowed = layers.filter((other) => other.rank <= layer.rank);
  return {
    name: `layer-${layer.name}`,
    comment: `${layer.name} may import only ${allowed.map((other) => other.name).join(', ')}: ${layer.why}.`,
    severity: 'error',
    from: { path: layer.paths },
    to: { path: '^src/', pathNot: allowed.flatMap((other) => other.paths) },
  };
});

/**
 * The only files that import `zeromq`. Sockets belong at the edges: everything else gets a
 * socket-free interface and can be tested without one.
 */
const zeromqFiles = [
  // Topology edges: every socket a topology reads from or writes to.
  '^src/sources/zmq-[^/]+\\.ts$',
  '^src/sinks/zmq-[^/]+\\.ts$',
  // The ZAP handler is a socket of its own (inproc://zeromq.zap.01); CURVE key generation and
  // the CURVE capability check are libzmq's.
  '^src/security/zap-authenticator\\.ts$',
  '^src/security/curve-key-pair\\.ts$',
  // Handshake failures are counted from the sockets' own monitor events (handshake:error:*).
  '^src/security/handshake-failures\\.ts$',
  // Allow-list: the two brokers own proxy sockets (XSUB/XPUB, PULL/PUB binds) that no topology
  // edge models, and their helpers take those sockets by type. Routing them through a transport
  // module is possible but not done yet; a new broker file that needs zeromq is added here.
  '^src/brokers/(acquisition-broker|trigger-broker|broker-authentication|serial-publisher)\\.ts$',
];

/** Node built-ins that do I/O or read the wall clock; operators must use neither. */
const ioBuiltins = ['fs', 'fs/promises', 'net', 'tls', 'dgram', 'http', 'https', 'http2', 'child_process', 'cluster', 'worker_threads', 'timers', 'timers/promises', 'perf_hooks', 'readline'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'module-outside-layer-map',
      comment: 'Every module of src/ belongs to a layer of .dependency-cruiser.cjs, so that no new folder escapes the layer rules (an import of such a module breaks the importer\'s layer rule too). Place the new folder in the map, with the reason.',
      severity: 'error',
      from: { path: '^src/', pathNot: mapped },
      to: {},
    },
    {
      name: 'stores-not-to-sources-or-sinks',
      comment: 'Stores are the lowest edge: sinks write to them and sources may read from them, never the reverse.',
      severity: 'error',
      from: { path: '^src/stores/' },
      to: { path: '^src/(sources|sinks)/' },
    },
    {
      name: 'sources-not-to-sinks',
      comment: 'A sink may reuse a source\'s socket setup (zmq-socket-options); a source never needs a sink.',
      severity: 'error',
      from: { path: '^src/sources/' },
      to: { path: '^src/sinks/' },
    },
    {
      name: 'production-not-to-simulator',
      comment: 'The simulator is a stand-in for OPQ Boxes: stores, protocol, operators and every service must work against real boxes, so only the CLI (`makai simulate`, `makai up`) and the simulator itself import it. Box facts it needs are in src/protocol/.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/simulator/', '^src/cli/'] },
      to: { path: '^src/simulator/' },
    },
    {
      name: 'zeromq-only-in-transport-files',
      comment: 'Sockets belong at the edges (sources/sinks zmq-*, the ZAP handler, CURVE keys, and the brokers on the allow-list in .dependency-cruiser.cjs); everything else must stay testable without a socket.',
      severity: 'error',
      from: { path: '^src/', pathNot: zeromqFiles },
      to: { path: '(^|/)node_modules/zeromq/' },
    },
    {
      name: 'better-sqlite3-only-in-sqlite-store',
      comment: 'The SQLite driver is an implementation detail of the SQLite store (src/stores/sqlite-*); everything else sees the Store interface.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/stores/sqlite-' },
      to: { path: '(^|/)node_modules/better-sqlite3/' },
    },
    {
      name: 'mongodb-only-in-mongodb-store',
      comment: 'The MongoDB driver (and its bson) is an implementation detail of the MongoDB store (src/stores/mongodb-*); everything else sees the Store interface.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/stores/mongodb-' },
      to: { path: '(^|/)node_modules/(mongodb|bson)/' },
    },
    {
      name: 'operators-no-io',
      comment: 'Operators are pure: no sockets, stores, files, threads or wall clock (they take a SchedulerLike and use box time), so marble tests run them in virtual time.',
      severity: 'error',
      from: { path: '^src/operators/' },
      to: {
        path: [`^(node:)?(${ioBuiltins.join('|')})$`, '(^|/)node_modules/(zeromq|better-sqlite3|mongodb|bson)/'],
      },
    },
    {
      name: 'src-not-to-test-or-bench',
      comment: 'Shipped code must not depend on tests or benches: they are not in the package, and a helper both need belongs in src/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one (neither can be understood, tested or loaded alone) and ES modules in a cycle see each other half-initialised.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import the cruiser cannot resolve is invisible to every rule above, so it is an error rather than a silent gap.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Accepted for now, each with the reason and the change that removes it. The cruiser reports
    // them as "known violations ignored"; one that is fixed drops out by itself, and any new
    // violation still fails.
    // Type-only imports are dependencies too (see the file comment).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: '(^|/)node_modules/' },
    // Resolve package subpath exports (`tsx/esm/api`) as Node does.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
