import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { command } from '../../../src/cli/commands/events.js';
import { renderEventPlot } from '../../../src/cli/plots/event-plot.js';
import { minMaxColumns, thinPolyline } from '../../../src/cli/plots/min-max-columns.js';
import { escapeXml, linearScale } from '../../../src/cli/plots/svg-chart.js';
import { niceDomain, niceTicks, timeTicks } from '../../../src/cli/plots/ticks.js';
import { renderTrendPlot } from '../../../src/cli/plots/trend-plot.js';
import { writePlot } from '../../../src/cli/plots/write-plot.js';
import { DecodeError } from '../../../src/core/errors.js';
import { CYCLE_DURATION_MS, DEFAULT_CALIBRATION, SAMPLES_PER_CYCLE } from '../../../src/protocol/box-adc.js';
import { synthesizeCycle } from '../../../src/simulator/waveform.js';
import type { BoxEventDoc, EventDoc, TrendDoc } from '../../../src/protocol/documents.js';
import { cycleRmsEnvelope, cycleStartMs, decodeWaveform, sampleTimeMs } from '../../../src/stores/waveform-bytes.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';
import { SAG, T, attributesOf, captureIo, createSagStore, xmlProblems, type SagStore } from './sag-event-fixture.js';

/** Little-endian bytes of int16 samples, starting at `offset` inside a larger buffer (as a Buffer slice can). */
function encode(samples: readonly number[], offset = 0): Uint8Array {
  const buffer = new ArrayBuffer(offset + samples.length * 2);
  const view = new DataView(buffer);
  samples.forEach((s, i) => view.setInt16(offset + i * 2, s, true));
  return new Uint8Array(buffer, offset, samples.length * 2);
}

/** `count` cycles of a 60 Hz sine at `rmsOf(cycle)` volts, as counts, with whole-ms cycle times from `startMs`. */
function synthesize(count: number, startMs: number, rmsOf: (cycle: number) => number): { counts: Int16Array; times: number[] } {
  const counts = new Int16Array(count * SAMPLES_PER_CYCLE);
  const block = new Int32Array(SAMPLES_PER_CYCLE);
  const times: number[] = [];
  let phase = 0;
  for (let c = 0; c < count; c++) {
    phase = synthesizeCycle({ rms: rmsOf(c), frequency: 60, thd: 0 }, phase, block, { calibration: DEFAULT_CALIBRATION });
    counts.set(block, c * SAMPLES_PER_CYCLE);
    times.push(startMs + Math.floor(c * CYCLE_DURATION_MS));
  }
  return { counts, times };
}

function boxEventOf(boxId: string, times: readonly number[]): BoxEventDoc {
  return {
    event_id: 5,
    box_id: boxId,
    event_start_timestamp_ms: times[0]!,
    event_end_timestamp_ms: Math.trunc(times[times.length - 1]! + CYCLE_DURATION_MS),
    window_timestamps_ms: times,
    data_fs_filename: `event_5_${boxId}`,
  };
}

const EVENT: EventDoc = {
  event_id: 5,
  type: 'VOLTAGE_SAG',
  description: 'a & b',
  boxes_triggered: ['1', '2', '3'],
  boxes_received: ['1', '2'],
  latencies_ms: [0, 0],
  target_event_start_timestamp_ms: T + 2000,
  target_event_end_timestamp_ms: T + 4000,
};

/** Points of every `rms-envelope` polyline in the panel of `boxId`. */
function rmsPoints(svg: string, boxId: string): { x: number; y: number }[] {
  const panel = panelOf(svg, boxId);
  return attributesOf(panel, 'polyline', 'rms-envelope', 'points').flatMap((list) =>
    list.split(' ').map((pair) => {
      const [x, y] = pair.split(',').map(Number);
      return { x: x!, y: y! };
    }),
  );
}

function panelOf(svg: string, boxId: string): string {
  const start = svg.indexOf(`<g class="panel" data-box="${boxId}"`);
  assert.ok(start >= 0, `no panel for box ${boxId}`);
  return svg.slice(start, svg.indexOf('</g>', start));
}

/** The frame rectangle and time domain of a panel, to turn pixels back into times and volts. */
function geometry(panel: string): { x: number; y: number; width: number; height: number; t0: number; t1: number } {
  const [x, y, width, height] = ['x', 'y', 'width', 'height'].map((a) => Number(attributesOf(panel, 'rect', 'frame', a)[0]));
  const t0 = Number(/data-t0-ms="([^"]+)"/.exec(panel)![1]);
  const t1 = Number(/data-t1-ms="([^"]+)"/.exec(panel)![1]);
  return { x: x!, y: y!, width: width!, height: height!, t0, t1 };
}

describe('waveform bytes', () => {
  it('should decode int16 little-endian samples, also from a view at an odd offset', () => {
    const samples = [0, 1, -1, 32767, -32768, 12345, -4321];
    assert.deepEqual([...decodeWaveform(encode(samples))], samples);
    assert.deepEqual([...decodeWaveform(encode(samples, 3))], samples);
    assert.deepEqual([...decodeWaveform(new Uint8Array([0x34, 0x12, 0xff, 0xff]))], [0x1234, -1]);
  });

  it('should refuse half a sample as a truncated waveform', () => {
    assert.throws(() => decodeWaveform(new Uint8Array(3)), (error: unknown) => error instanceof DecodeError && error.reason === 'truncated');
  });

  it('should time samples from their cycle timestamp plus i/12 ms, continuing past the listed cycles', () => {
    const times = [1000, 1017, 1033];
    assert.equal(sampleTimeMs(times, 0), 1000);
    assert.equal(sampleTimeMs(times, 12), 1001);
    assert.equal(sampleTimeMs(times, 200), 1017);
    assert.ok(Math.abs(sampleTimeMs(times, 599) - (1033 + 199 / 12)) < 1e-9);
    assert.ok(Math.abs(cycleStartMs(times, 4) - (1033 + 2 * CYCLE_DURATION_MS)) < 1e-9);
  });

  it('should give one RMS point per cycle, a partial last cycle included', () => {
    const { counts, times } = synthesize(6, 5000, (c) => (c < 3 ? 120 : 90));
    const partial = counts.subarray(0, counts.length - 50);
    const envelope = cycleRmsEnvelope(partial, times, DEFAULT_CALIBRATION);
    assert.equal(envelope.length, 6);
    assert.deepEqual(envelope.map((p) => p.startMs), times);
    assert.equal(envelope[5]!.samples, 150);
    for (const [i, point] of envelope.slice(0, 5).entries()) assert.ok(Math.abs(point.rms - (i < 3 ? 120 : 90)) < 0.05, `cycle ${i}: ${point.rms}`);
  });
});

describe('plot building blocks', () => {
  it('should choose 1-2-5 ticks that cover the domain, without "-0"', () => {
    const ticks = niceTicks(-170, 170, 6);
    assert.deepEqual(ticks.map((t) => t.value), [-150, -100, -50, 0, 50, 100, 150]);
    assert.ok(!ticks.some((t) => t.label.startsWith('-0')));
    assert.deepEqual(niceTicks(59.95, 60.05, 4).map((t) => t.label), ['59.96', '59.98', '60.00', '60.02', '60.04']);
    assert.deepEqual(niceDomain(0, 169.9), [0, 200]);
  });

  it('should put time ticks on whole UTC minutes', () => {
    const ticks = timeTicks(T + 10_000, T + 10 * 60_000, 5);
    assert.deepEqual(ticks.map((t) => t.label), ['10:02', '10:04', '10:06', '10:08', '10:10']);
  });

  it('should keep the min and max of every pixel column, joined to the previous column', () => {
    const values = [0, 5, -3, 2, 10, 1, 7];
    const columns = minMaxColumns(values.length, (i) => [0, 0, 0, 1, 1, 3, 3][i]!, (i) => values[i]!, 4);
    assert.deepEqual(columns, [
      { column: 0, min: -3, max: 5 },
      // column 1 also spans from column 0's last value (-3)
      { column: 1, min: -3, max: 10 },
      // column 3 does not touch column 1: a gap
      { column: 3, min: 1, max: 7 },
    ]);
    assert.deepEqual(minMaxColumns(3, (i) => i * 10, () => 1, 15), [{ column: 0, min: 1, max: 1 }, { column: 10, min: 1, max: 1 }]);
  });

  it('should thin a dense polyline to its lowest and highest point per column', () => {
    const points = Array.from({ length: 100 }, (_, i) => ({ x: i / 10, y: i === 37 ? 99 : i === 52 ? -99 : 0 }));
    const thin = thinPolyline(points);
    assert.ok(thin.length <= 20);
    assert.ok(thin.some((p) => p.y === 99) && thin.some((p) => p.y === -99));
    const sparse = [{ x: 0, y: 1 }, { x: 50, y: 2 }, { x: 100, y: 3 }];
    assert.deepEqual(thinPolyline(sparse), sparse);
  });

  it('should escape text and scale linearly', () => {
    assert.equal(escapeXml(`<a & "b">'`), '&lt;a &amp; &quot;b&quot;&gt;&apos;');
    const scale = linearScale([10, 20], [100, 0]);
    assert.equal(scale(15), 50);
    assert.equal(scale(10), 100);
  });
});

describe('event plot', () => {
  let fixture: SagStore;
  let dir: TempDir;
  before(async () => {
    fixture = await createSagStore();
    dir = await createTempDir();
  });
  after(async () => {
    await fixture.remove();
    await dir.remove();
  });

  it('should write a well-formed SVG with a title and one panel per box whose RMS line dips during the sag', async () => {
    const file = dir.file('event.svg');
    const { io, out, err } = captureIo();
    assert.equal(await command.run(['plot', String(fixture.eventId), '--out', file, '--store', fixture.uri], io), 0, err.join('\n'));
    assert.match(out.join('\n'), /wrote .*event\.svg \(2 panels, \d+ KB\)/);
    const svg = await readFile(file, 'utf8');
    assert.deepEqual(xmlProblems(svg), []);
    assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, new RegExp(`<title>Event ${fixture.eventId} · VOLTAGE_SAG · sag on box 1 &lt;test&gt;</title>`));
    assert.deepEqual(attributesOf(svg, 'g', 'panel', 'data-box'), ['1', '2']);
    assert.equal(attributesOf(svg, 'rect', 'requested-window', 'x').length, 2);
    assert.equal(attributesOf(svg, 'path', 'waveform', 'd').length, 2);
    assert.ok(svg.length < 120_000, `${svg.length} bytes`);

    // Box 1: pixels back to time and volts (the volt axis is symmetric: 0 V in the middle).
    const panel = panelOf(svg, '1');
    const g = geometry(panel);
    const timeOf = (x: number) => g.t0 + ((x - g.x) / g.width) * (g.t1 - g.t0);
    const zero = g.y + g.height / 2;
    const points = rmsPoints(svg, '1');
    assert.ok(points.length > 50);
    const height = (selected: { x: number; y: number }[]) => selected.reduce((sum, p) => sum + (zero - p.y), 0) / selected.length;
    const before = points.filter((p) => timeOf(p.x) < SAG.startMs - 20);
    const during = points.filter((p) => timeOf(p.x) > SAG.startMs + 20 && timeOf(p.x) < SAG.endMs - 20);
    const afterSag = points.filter((p) => timeOf(p.x) > SAG.endMs + 20);
    assert.ok(before.length > 10 && during.length > 10 && afterSag.length > 10);
    const ratio = height(during) / height(before);
    assert.ok(Math.abs(ratio - SAG.volts / SAG.nominalVolts) < 0.02, `dip ratio ${ratio}`);
    assert.ok(Math.abs(height(afterSag) / height(before) - 1) < 0.02);
    // The lowest point of the line lies inside the sag.
    const lowest = points.reduce((a, b) => (b.y > a.y ? b : a));
    assert.ok(timeOf(lowest.x) >= SAG.startMs - 20 && timeOf(lowest.x) <= SAG.endMs + 20, `lowest at ${timeOf(lowest.x) - T} ms`);

    // Box 2 did not sag: its line stays flat.
    const steady = rmsPoints(svg, '2').map((p) => p.y);
    assert.ok(Math.max(...steady) - Math.min(...steady) < 2, `box 2 spread ${Math.max(...steady) - Math.min(...steady)} px`);
  });

  it('should downsample a long waveform to at most one stroke per pixel column', () => {
    // 20 s of data: 240 000 samples.
    const { counts, times } = synthesize(1200, T, (c) => (c >= 500 && c < 560 ? 60 : 120));
    const svg = renderEventPlot({ event: EVENT, boxes: [{ boxEvent: boxEventOf('1', times), counts }], calibration: DEFAULT_CALIBRATION, width: 800 });
    assert.deepEqual(xmlProblems(svg), []);
    const frameWidth = Number(attributesOf(svg, 'rect', 'frame', 'width')[0]);
    const strokes = (attributesOf(svg, 'path', 'waveform', 'd')[0]!.match(/M/g) ?? []).length;
    assert.ok(strokes > frameWidth - 5 && strokes <= frameWidth, `${strokes} strokes for ${frameWidth} px`);
    assert.ok(rmsPoints(svg, '1').length <= 2 * frameWidth + 2);
    assert.ok(svg.length < 60_000, `${svg.length} bytes`);
    // Seconds on the axis for a long event, and the 1 s dip survives thinning.
    assert.match(svg, /requested start \(2024-05-01T10:00:02.000Z\), s</);
    const ys = rmsPoints(svg, '1').map((p) => p.y);
    assert.ok(Math.max(...ys) - Math.min(...ys) > 20);
  });

  it('should show a box without waveform bytes as a note, and name boxes that sent nothing', () => {
    const { counts, times } = synthesize(60, T + 2000, () => 120);
    const svg = renderEventPlot({
      event: EVENT,
      boxes: [
        { boxEvent: boxEventOf('1', times), counts },
        { boxEvent: boxEventOf('2', times), counts: undefined },
      ],
      calibration: DEFAULT_CALIBRATION,
    });
    assert.deepEqual(xmlProblems(svg), []);
    assert.deepEqual(attributesOf(svg, 'g', 'panel', 'data-box'), ['1', '2']);
    assert.match(panelOf(svg, '2'), /no waveform stored for this box/);
    assert.match(svg, /no data from: 3/);
    assert.match(svg, /a &amp; b/);
  });

  it('should refuse a file type it cannot write', async () => {
    await assert.rejects(writePlot(dir.file('plot.gif'), '<svg/>'), /plots are written as \.svg/);
  });
});

describe('trend plot', () => {
  const minute = 60_000;
  const window = (i: number, volts: { min: number; average: number; max: number }, thd = true): TrendDoc => ({
    box_id: '1',
    window_start_ms: T + i * minute,
    timestamp_ms: T + (i + 1) * minute,
    count: 360,
    voltage: volts,
    frequency: { min: 59.98, average: 60, max: 60.02 },
    ...(thd ? { thd: { min: 0.02, average: 0.025, max: 0.03 } } : {}),
    location: 'unknown',
  });
  const steady = { min: 119, average: 120, max: 121 };

  it('should draw voltage, frequency and THD panels, with a gap between runs of windows', () => {
    const trends = [0, 1, 2, 3].map((i) => window(i, i === 2 ? { min: 80, average: 110, max: 121 } : steady)).concat([7, 8].map((i) => window(i, steady)));
    const svg = renderTrendPlot({ boxId: '1', trends });
    assert.deepEqual(xmlProblems(svg), []);
    assert.deepEqual(attributesOf(svg, 'g', 'panel', 'data-series'), ['voltage', 'frequency', 'thd']);
    // Two runs (minutes 0–4 and 7–9) → two bands and two average lines per panel.
    assert.equal(attributesOf(svg, 'polygon', 'band', 'points').length, 6);
    assert.equal(attributesOf(svg, 'polyline', 'average', 'points').length, 6);
    // The sag window's minimum is the band's lowest point, and it lies over minute 2.
    const voltage = svg.slice(svg.indexOf('data-series="voltage"'), svg.indexOf('data-series="frequency"'));
    const band = attributesOf(voltage, 'polygon', 'band', 'points')[0]!.split(' ').map((pair) => pair.split(',').map(Number) as [number, number]);
    const lowest = Math.max(...band.map(([, y]) => y));
    const xs = band.filter(([, y]) => y === lowest).map(([x]) => x);
    const frameX = Number(attributesOf(voltage, 'rect', 'frame', 'x')[0]);
    const frameWidth = Number(attributesOf(voltage, 'rect', 'frame', 'width')[0]);
    const minuteOf = (x: number) => ((x - frameX) / frameWidth) * 9;
    assert.deepEqual(xs.map((x) => Math.round(minuteOf(x))).sort(), [2, 3]);
  });

  it('should leave out the THD panel when no window has THD, and merge windows narrower than the pixels', () => {
    const day = Array.from({ length: 1440 }, (_, i) => window(i, steady, false));
    const svg = renderTrendPlot({ boxId: '1', trends: day, width: 800 });
    assert.deepEqual(attributesOf(svg, 'g', 'panel', 'data-series'), ['voltage', 'frequency']);
    // Four corners per drawn group, and a group is at least 2 px wide.
    const groups = attributesOf(svg, 'polygon', 'band', 'points')[0]!.split(' ').length / 4;
    const frameWidth = Number(attributesOf(svg, 'rect', 'frame', 'width')[0]);
    assert.ok(groups <= frameWidth / 2 + 1 && groups > frameWidth / 4, `${groups} groups for 1440 windows over ${frameWidth} px`);
    assert.ok(svg.length < 60_000, `${svg.length} bytes`);
  });
});
