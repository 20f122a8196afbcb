import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCliLogger } from '../../../src/cli/cli-logger.js';
import { UsageError } from '../../../src/cli/command.js';
import { prettyLogLine } from '../../../src/cli/pretty-log-line.js';

function logged(env: NodeJS.ProcessEnv, terminal: boolean): string[] {
  const lines: string[] = [];
  const logger = createCliLogger('info', env, terminal, (line) => lines.push(line)).child({ component: 'broker.acquisition' });
  logger.warn('box refused', { box: 3, reason: 'unknown key', secret_key: 'abc' });
  logger.debug('not shown at info');
  return lines;
}

describe('the CLI logger', () => {
  it('writes JSON lines with pino field names when stderr is not a terminal', () => {
    const [line, ...rest] = logged({}, false);
    assert.deepStrictEqual(rest, []);
    const record = JSON.parse(line!) as Record<string, unknown>;
    assert.equal(record['level'], 'warn');
    assert.equal(record['msg'], 'box refused');
    assert.match(String(record['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepStrictEqual(Object.keys(record), ['time', 'level', 'component', 'msg', 'box', 'reason', 'secret_key']);
    assert.equal(record['secret_key'], '[redacted]');
  });

  it('writes one readable line on a terminal: time, level, component, message, fields; no colour with NO_COLOR', () => {
    const [line] = logged({ NO_COLOR: '1' }, true);
    assert.match(line!, /^\d\d:\d\d:\d\d\.\d{3} WARN  broker\.acquisition box refused {2}box=3 reason="unknown key" secret_key=\[redacted\]$/);
  });

  it('colours the level on a terminal, and MAKAI_LOG_FORMAT overrides the choice either way', () => {
    assert.match(logged({}, true)[0]!, /\x1b\[33mWARN \x1b\[0m/);
    assert.doesNotThrow(() => JSON.parse(logged({ MAKAI_LOG_FORMAT: 'json' }, true)[0]!));
    assert.match(logged({ MAKAI_LOG_FORMAT: 'pretty', NO_COLOR: '1' }, false)[0]!, / WARN  broker\.acquisition box refused/);
  });

  it('refuses an unknown level or format as a usage error', () => {
    assert.throws(() => createCliLogger('loud', {}, false), (error: unknown) => error instanceof UsageError && /unknown log level "loud"/.test(error.message));
    assert.throws(() => createCliLogger(undefined, { MAKAI_LOG_FORMAT: 'xml' }, false), (error: unknown) => error instanceof UsageError && /MAKAI_LOG_FORMAT must be json or pretty/.test(error.message));
  });

  it('prints objects as JSON and bare words unquoted', () => {
    const line = prettyLogLine({ time: '2024-05-01T10:00:00.000Z', level: 'error', msg: 'failed', where: { a: 1 }, code: 'ECONNREFUSED' }, { color: false });
    assert.match(line, /^\d\d:\d\d:00\.000 ERROR failed {2}where=\{"a":1\} code=ECONNREFUSED$/);
  });
});
