import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import * as zmq from 'zeromq';
import { loadTopology } from '../../src/cli/load-topology.js';
import { startTriggeringService, type TriggeringService } from '../../src/cli/triggering-service.js';
import { silentLogger } from '../../src/core/logger.js';
import { encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { TrendDoc } from '../../src/protocol/documents.js';
import { createSagStore, SAG, type SagStore } from '../unit/cli/sag-event-fixture.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';
import { writeFile } from 'node:fs/promises';

// The web console in a real browser: Debian's headless Chromium (installed by .ci/run), driven
// by playwright-core, against a real triggering service fed over ZeroMQ. It asserts what a
// person sees: a box row that updates live, and an event page that draws the sag.

const CHROMIUM = process.env['MAKAI_CHROMIUM'] ?? '/usr/bin/chromium';
const DOCS = resolve(import.meta.dirname, '../../docs');
const missing = !existsSync(CHROMIUM);
if (missing && process.env['CI'] === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package`);

const MINUTE = 60_000;
/** Trends of the last hour for boxes 1 and 2, box 1 dipping once. */
function recentTrends(): TrendDoc[] {
  const end = Math.floor(Date.now() / MINUTE) * MINUTE;
  return ['1', '2'].flatMap((box) =>
    Array.from({ length: 60 }, (_, i): TrendDoc => {
      const start = end - (60 - i) * MINUTE;
      const dip = box === '1' && i === 40;
      const avg = dip ? 112 : 120 + Math.sin(i / 5) * (box === '1' ? 1 : 0.6);
      return {
        box_id: box,
        window_start_ms: start,
        timestamp_ms: start + MINUTE,
        count: 360,
        voltage: { min: dip ? 96 : avg - 0.8, max: avg + 0.8, average: avg },
        frequency: { min: 59.98, max: 60.02, average: 60 + Math.sin(i / 7) * 0.01 },
        thd: { min: 0.015, max: 0.025, average: 0.02 },
        location: 'unknown',
      };
    }),
  );
}

describe('the web console in a real browser', { skip: missing ? `no Chromium at ${CHROMIUM} (CI installs it)` : false }, () => {
  let fixture: SagStore;
  let dir: TempDir;
  let feed: zmq.XPublisher;
  let service: TriggeringService;
  let browser: Browser;
  let page: Page;

  before(async () => {
    fixture = await createSagStore(recentTrends());
    dir = await createTempDir('makai-console-');
    feed = new zmq.XPublisher();
    await feed.bind('tcp://127.0.0.1:*');
    await writeFile(dir.file('makai.json'), JSON.stringify({ zmq_trigger_endpoint: feed.lastEndpoint, measurement_flush: '100ms', plugins: [{ plugin: 'threshold' }] }));
    const loaded = await loadTopology(dir.file('makai.json'));
    service = await startTriggeringService({ loaded, storeUri: fixture.uri, logger: silentLogger, observabilityAddress: '127.0.0.1:0' });
    await within(feed.receive(), 30_000, "the service's subscription");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
    feed?.close();
    await fixture?.remove();
    await dir?.remove();
  });

  /** Sends one measurement of box 5 at the current time. */
  const send = (k: number, rms: number) =>
    feed.send(['5', encodeTriggerMessage({ id: 5, time: Date.now() - 1000 + k, frequency: 60.01, rms, thd: 0.021 })]);

  it('shows a box row that updates live as measurements arrive', async () => {
    await page.goto(`${service.observability.url}/#/`);
    await page.waitForSelector('#boxes');
    for (let k = 0; k < 6; k++) await send(k, 121.4);
    const voltage = page.locator('#box-5 [data-field="voltage"]');
    await voltage.filter({ hasText: '121.4 V' }).waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('#box-5 [data-field="frequency"]').textContent(), '60.010 Hz');
    assert.equal(await page.locator('#box-5 [data-field="thd"]').textContent(), '2.10 %');

    // A new reading replaces the old one without a reload.
    for (let k = 10; k < 16; k++) await send(k, 117.3);
    await voltage.filter({ hasText: '117.3 V' }).waitFor({ timeout: 20_000 });
    assert.match((await page.locator('#service-status').textContent()) ?? '', /triggering: ok/);
    // The plugin status panel: the threshold plugin, running.
    await page.locator('#plugin-status [data-plugin="threshold"] [data-field="state"]').filter({ hasText: 'running' }).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(DOCS, 'console-boxes.png') });
  });

  it('draws the event page: each box, its waveform, the RMS envelope with the sag, and the trigger moment', async () => {
    await page.goto(`${service.observability.url}/#/event/${fixture.eventId}`);
    await page.waitForSelector('#event-title');
    assert.equal(await page.locator('#event-title').textContent(), `Event ${fixture.eventId}: VOLTAGE_SAG`);
    const sagged = page.locator(`[data-box="${SAG.boxId}"]`);
    await sagged.locator('canvas').first().waitFor();
    assert.equal(await sagged.locator('canvas').count(), 2, 'a waveform panel and an RMS panel');
    const minRms = Number(await sagged.locator('[data-summary="rms"]').getAttribute('data-min-rms'));
    assert.ok(Math.abs(minRms - SAG.volts) < 3, `box 1 sags to ~${SAG.volts} V, the page says ${minRms}`);
    const steady = Number(await page.locator('[data-box="2"] [data-summary="rms"]').getAttribute('data-min-rms'));
    assert.ok(steady > 115, `box 2 stays near 120 V, the page says ${steady}`);
    // The trigger moment: where box 1's RMS first leaves ±5 % (within a cycle of the sag's start), and nothing for box 2.
    const [start, end] = ((await sagged.locator('[data-summary="rms"]').getAttribute('data-excursion')) ?? '').split(',').map(Number);
    assert.ok(Math.abs(start! * 1000 - SAG.startMs) <= 17 && Math.abs(end! * 1000 - SAG.endMs) <= 34, `excursion ${start}–${end}`);
    assert.equal(await page.locator('[data-box="2"] [data-summary="rms"]').getAttribute('data-excursion'), '');
    // And it is drawn: the line and band make box 1's RMS chart far redder than box 2's (both have the dashed limit lines).
    type Canvas = { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } };
    const reddish = (box: string) =>
      page.locator(`[data-box="${box}"] canvas`).nth(1).evaluate((node) => {
        // Runs in the page: the canvas is the browser's, typed here by what the function uses.
        const canvas = node as unknown as Canvas;
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let count = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i]! > data[i + 1]! + 20 && data[i]! > data[i + 2]! + 20) count++;
        return count;
      });
    const [sagRed, steadyRed] = [await reddish(SAG.boxId), await reddish('2')];
    assert.ok(sagRed > steadyRed + 2000, `the excursion is drawn on box 1 (${sagRed} reddish pixels, box 2 ${steadyRed})`);
    await page.screenshot({ path: join(DOCS, 'console-event.png'), fullPage: true });
  });

  it('lists events and draws trends with nominal and limit lines', async () => {
    await page.goto(`${service.observability.url}/#/events`);
    await page.locator(`#events [data-event="${fixture.eventId}"]`).waitFor();
    await page.goto(`${service.observability.url}/#/trends?box=1,2&hours=2`);
    await page.locator('[data-chart="voltage"] canvas').first().waitFor();
    const legend = await page.locator('[data-chart="voltage"] .u-legend').textContent();
    assert.match(legend ?? '', /box 1.*box 2.*nominal.*lower limit.*upper limit/s);
    await page.screenshot({ path: join(DOCS, 'console-trends.png'), fullPage: true });
  });
});
