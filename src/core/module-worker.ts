import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `<stem>.ts` or `<stem>.js` next to `besideUrl` (the
 * caller's `import.meta.url`): `.ts` when running from source under tsx, `.js` when built.
 *
 * From source the worker needs tsx's loader before it can import a TypeScript module; an eval'd
 * bootstrap registers it in the worker only, without inheriting the parent's flags.
 *
 * @param besideUrl `import.meta.url` of the module that owns the worker entry.
 * @param stem File name of the entry without extension, e.g. `worker-plugin-entry`.
 * @param workerData Passed to the worker as `workerData` (structured clone).
 * @param resourceLimits The worker's heap limits (e.g. a small young generation for a thread
 *   that allocates little: V8 otherwise grows it to 32 MB of RSS under a steady stream).
 */
export function startModuleWorker(besideUrl: string, stem: string, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const fromSource = besideUrl.endsWith('.ts');
  const entry = new URL(`./${stem}.${fromSource ? 'ts' : 'js'}`, besideUrl).href;
  const register = fromSource ? `(await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})).register();` : '';
  const bootstrap = `(async () => { ${register} await import(${JSON.stringify(entry)}); })().catch((error) => { throw error; });`;
  return new Worker(bootstrap, { eval: true, workerData, execArgv: [], ...(resourceLimits ? { resourceLimits } : {}) });
}
