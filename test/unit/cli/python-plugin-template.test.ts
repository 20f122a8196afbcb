import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { from, lastValueFrom, toArray, asyncScheduler } from 'rxjs';
import { pythonTemplate } from '../../../src/cli/plugin-templates/python.js';
import { RecordingLogger } from '../../../src/core/logger.js';
import { loadPlugin } from '../../../src/plugins/plugin-loader.js';
import { emptyBoxDirectory, type Measurement } from '../../../src/plugins/plugin.js';
import { skipWithoutPython, testPython } from '../../helpers/python.js';
import { createTempDir } from '../../helpers/temp-dir.js';

// `makai plugin new NAME --lang python`'s skeleton, written to a temporary folder: its own
// pytest passes with the SDK installed, and Makai runs it out of process as the config names it.

describe('the Python plugin template', skipWithoutPython(), () => {
  it('should write a plugin whose own pytest passes and which Makai runs as a process', async () => {
    const python = testPython() as string;
    const dir = await createTempDir('makai-python-template-');
    try {
      const name = 'my-sag';
      for (const file of pythonTemplate.files(name)) await writeFile(dir.file(file.path), file.content);
      assert.equal(pythonTemplate.entryFile(name), 'my_sag.py');

      const pytest = spawnSync(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test_my_sag.py'], { cwd: dir.path, encoding: 'utf8' });
      assert.equal(pytest.status, 0, `${pytest.stdout}\n${pytest.stderr}`);
      assert.match(pytest.stdout, /3 passed/);

      const loaded = await loadPlugin({ command: [python, pythonTemplate.entryFile(name)], name }, { baseDir: dir.path });
      const input: Measurement[] = [120, 100, 96, 104, 120].map((rms, k) => ({ id: 1001, time: 1000 + k * 167, frequency: 60, rms }));
      const requests = await lastValueFrom(from(input).pipe(loaded.create({ logger: new RecordingLogger(), scheduler: asyncScheduler, boxes: emptyBoxDirectory }), toArray()));
      assert.deepEqual(
        requests.map((r) => [r.startTimestampMsUtc, r.endTimestampMsUtc, r.triggerType, r.boxIds, r.percentMagnitude, r.requestee]),
        [[1167, 1668, 'VOLTAGE_SAG', [1001], ((120 - 96) / 120) * 100, name]],
      );
      await assert.rejects(loadPlugin({ command: [python, pythonTemplate.entryFile(name)], sagPercent: 150 }, { baseDir: dir.path }), { name: 'ConfigError', path: 'plugin.sagPercent' });
    } finally {
      await dir.remove();
    }
  });
});
