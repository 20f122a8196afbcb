import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { command as statusCommand } from '../../src/cli/commands/status.js';
import { startLocalDeployment, type LocalDeployment } from '../../src/cli/local-deployment.js';
import { silentLogger } from '../../src/core/logger.js';
import type { HealthReport } from '../../src/observability/health.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { captureIo } from '../unit/cli/sag-event-fixture.js';

// `makai up` serves /health and /metrics (issue 17: it served neither, so `makai status` had
// nothing to read). The deployment as `makai up` starts it, on random ports, no simulated boxes.

describe('makai up serves /health and /metrics', () => {
  let dir: TempDir;
  let deployment: LocalDeployment | undefined;
  before(async () => {
    dir = await createTempDir('makai-up-health-');
  });
  after(async () => {
    await deployment?.stop(0);
    await dir.remove();
  });

  it('answers /health for the triggering service with its plugin, /metrics with the brokers too, and makai status reads it', async () => {
    deployment = await startLocalDeployment({ dataDir: dir.path, ports: 'random', boxes: 0, observabilityAddress: '127.0.0.1:0', logger: silentLogger });
    const url = deployment.observabilityUrl;
    assert.ok(url, 'an observability address gives a URL');
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const response = await fetch(`${url}/health`);
    assert.equal(response.status, 200);
    const report = (await response.json()) as HealthReport;
    assert.equal(report.service, 'triggering');
    assert.equal(report.status, 'ok');
    assert.equal(report.store.status, 'ok');
    assert.deepStrictEqual(report.plugins.map((p) => [p.plugin, p.state]), [['threshold', 'running']]);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^# TYPE makai_acquisition_box_errors_total counter$/m, "the brokers' metrics share the registry");
    assert.match(metrics, /^makai_plugin_state\{plugin="threshold",state="running"\} 1$/m);

    const { io, out } = captureIo();
    assert.equal(await statusCommand.run(['--url', url], io), 0);
    assert.match(out.join('\n'), /^triggering: OK /);
  });
});
