// The Makai web console: a read-only view of one service's store and health.
// Plain browser JavaScript (no build step); charts by uPlot (shipped in the package).
'use strict';

/** Nominal values and the threshold plugin's default limits, for the reference lines. */
const params = new URLSearchParams(location.search);
const NOMINAL = { volts: Number(params.get('nominal') ?? 120), hertz: Number(params.get('hz') ?? 60) };
const LIMITS = { voltPercent: 5, hertzPercent: 0.5, thdPercent: 5 };
/** How much live history a sparkline shows, ms. */
const SPARK_MS = 120_000;

const view = document.getElementById('view');
let teardown = () => {};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('data-') || key === 'id' || key === 'href' || key === 'title') node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

const fmt = {
  volts: (v) => (v === undefined ? '–' : `${v.toFixed(1)} V`),
  hertz: (f) => (f === undefined ? '–' : `${f.toFixed(3)} Hz`),
  thd: (t) => (t === undefined ? '–' : `${(t * 100).toFixed(2)} %`),
  time: (ms) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
  ago(ms) {
    if (ms === undefined) return 'never';
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
  },
};

// --- routing ---------------------------------------------------------------------------------

function route() {
  teardown();
  teardown = () => {};
  view.replaceChildren();
  const hash = location.hash || '#/';
  const [path, query = ''] = hash.slice(1).split('?');
  const section = path.split('/')[1] || 'boxes';
  for (const link of document.querySelectorAll('nav a')) link.classList.toggle('active', link.dataset.nav === (section === 'event' ? 'events' : section));
  const run = path.startsWith('/event/')
    ? showEvent(Number(path.split('/')[2]))
    : section === 'events'
      ? showEvents()
      : section === 'trends'
        ? showTrends(new URLSearchParams(query))
        : showBoxes();
  run.catch((error) => view.append(el('p', { class: 'panel' }, `Could not load this page: ${error.message}`)));
}

// --- service status ------------------------------------------------------------------------

async function pollStatus() {
  const pill = document.getElementById('service-status');
  try {
    const health = await getJson('/api/status');
    const status = health.status ?? 'unknown';
    pill.textContent = `${health.service ?? 'service'}: ${status}`;
    pill.className = `pill ${status}`;
  } catch {
    pill.textContent = 'unreachable';
    pill.className = 'pill error';
  }
  setTimeout(pollStatus, 5000);
}

// --- boxes (live) ----------------------------------------------------------------------------

async function showBoxes() {
  const boxes = await getJson('/api/boxes');
  const body = el('tbody');
  const table = el(
    'table',
    { id: 'boxes' },
    el('thead', {}, el('tr', {}, ...['Box', 'Location', 'Last seen', 'Voltage', '', 'Frequency', '', 'THD', ''].map((h) => el('th', {}, h)))),
    body,
  );
  const status = el('div', { class: 'panel', id: 'plugins' }, el('h3', {}, 'Plugins and queues'), el('div', { class: 'muted' }, 'loading…'));
  view.append(el('h2', {}, 'Boxes'), table, el('h2', {}, 'Service'), status);

  /** Per box: its row's cells and the last SPARK_MS of points. */
  const rows = new Map();
  const rowOf = (id, location) => {
    let row = rows.get(id);
    if (row) return row;
    const cell = (cls = '') => el('td', { class: cls });
    const spark = () => el('canvas', { width: 120, height: 24 });
    row = { tr: el('tr', { id: `box-${id}`, 'data-box': id }), last: cell(), v: cell('num'), f: cell('num'), thd: cell('num'), sv: spark(), sf: spark(), st: spark(), points: [], seenMs: undefined };
    row.v.dataset.field = 'voltage';
    row.f.dataset.field = 'frequency';
    row.thd.dataset.field = 'thd';
    row.tr.append(el('td', {}, el('a', { href: `#/trends?box=${id}` }, id)), el('td', {}, describeLocation(location)), row.last, row.v, el('td', {}, row.sv), row.f, el('td', {}, row.sf), row.thd, el('td', {}, row.st));
    rows.set(id, row);
    const ordered = [...rows.keys()].sort((a, b) => Number(a) - Number(b));
    body.insertBefore(row.tr, rows.get(ordered[ordered.indexOf(id) + 1])?.tr ?? null);
    return row;
  };
  for (const box of boxes) {
    const row = rowOf(box.box_id, box.location);
    row.seenMs = box.status?.last_measurement_ms;
    row.last.textContent = fmt.ago(row.seenMs);
  }

  let dirty = false;
  const live = new EventSource('/api/live');
  live.onmessage = (message) => {
    for (const point of JSON.parse(message.data)) {
      const row = rowOf(point.box);
      row.points.push(point);
      row.seenMs = Math.max(row.seenMs ?? 0, point.t);
    }
    dirty = true;
  };
  const redraw = () => {
    for (const row of rows.values()) {
      const cutoff = Date.now() - SPARK_MS;
      while (row.points.length > 0 && row.points[0].t < cutoff) row.points.shift();
      const latest = row.points[row.points.length - 1];
      if (latest) {
        row.v.textContent = fmt.volts(latest.v);
        row.f.textContent = fmt.hertz(latest.f);
        row.thd.textContent = fmt.thd(latest.thd);
      }
      row.last.textContent = fmt.ago(row.seenMs);
      row.tr.classList.toggle('stale', row.seenMs === undefined || Date.now() - row.seenMs > 30_000);
      sparkline(row.sv, row.points.map((p) => p.v), NOMINAL.volts);
      sparkline(row.sf, row.points.map((p) => p.f), NOMINAL.hertz);
      sparkline(row.st, row.points.map((p) => p.thd ?? 0), 0);
    }
    dirty = false;
  };
  const timer = setInterval(() => dirty && redraw(), 500);
  const ages = setInterval(redraw, 5000);
  const plugins = setInterval(() => showServiceStatus(status), 5000);
  showServiceStatus(status);
  teardown = () => {
    live.close();
    clearInterval(timer);
    clearInterval(ages);
    clearInterval(plugins);
  };
}

function describeLocation(location) {
  if (location === undefined || location === null) return '';
  return typeof location === 'string' ? location : JSON.stringify(location);
}

/** A tiny line chart of the last points, with the nominal value as a faint line. */
function sparkline(canvas, values, nominal) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (values.length < 2) return;
  let min = Math.min(nominal, ...values);
  let max = Math.max(nominal, ...values);
  if (max - min < 1e-9) [min, max] = [min - 1, max + 1];
  const y = (v) => canvas.height - 2 - ((v - min) / (max - min)) * (canvas.height - 4);
  ctx.strokeStyle = '#dde1e8';
  ctx.beginPath();
  ctx.moveTo(0, y(nominal));
  ctx.lineTo(canvas.width, y(nominal));
  ctx.stroke();
  ctx.strokeStyle = '#2b6cb0';
  ctx.beginPath();
  values.forEach((v, i) => (i === 0 ? ctx.moveTo(0, y(v)) : ctx.lineTo((i / (values.length - 1)) * canvas.width, y(v))));
  ctx.stroke();
}

async function showServiceStatus(panel) {
  let health;
  try {
    health = await getJson('/api/status');
  } catch (error) {
    panel.replaceChildren(el('h3', {}, 'Plugins and queues'), el('div', { class: 'muted' }, `unavailable: ${error.message}`));
    return;
  }
  const plugins = Array.isArray(health.plugins) ? health.plugins : [];
  const pluginTable = plugins.length
    ? el(
        'table',
        { id: 'plugin-status' },
        el('thead', {}, el('tr', {}, ...['Plugin', 'State', 'Restarts', 'Errors', 'Queue', 'Dropped'].map((h) => el('th', {}, h)))),
        el(
          'tbody',
          {},
          ...plugins.map((p) =>
            el(
              'tr',
              { 'data-plugin': p.plugin, class: p.state === 'running' && !p.consecutive_failures ? '' : 'stale' },
              el('td', {}, p.plugin),
              el('td', { 'data-field': 'state' }, p.state),
              el('td', { class: 'num' }, p.restarts),
              el('td', { class: 'num' }, p.errors),
              el('td', { class: 'num' }, p.queue_depth),
              el('td', { class: 'num' }, p.dropped),
            ),
          ),
        ),
      )
    : el('div', { class: 'muted' }, 'no plugin status in this service’s health report');
  const queues = Object.entries(health.queues ?? {}).map(([name, depth]) => `${name}: ${depth}`).join(' · ') || 'none';
  const rejected = health.counters?.rejected?.total ?? 0;
  panel.replaceChildren(
    el('h3', {}, 'Plugins and queues'),
    pluginTable,
    el('div', { class: 'muted' }, `Status ${health.status}; queues ${queues}; refused input ${rejected}; store ${health.store?.status ?? '–'}`),
  );
}

// --- trends --------------------------------------------------------------------------------

async function showTrends(query) {
  const known = (await getJson('/api/boxes')).map((b) => b.box_id);
  const boxes = (query.get('box') ?? known.slice(0, 4).join(',')).split(',').filter(Boolean);
  const hours = Number(query.get('hours') ?? 24);
  const boxInput = el('input', { value: boxes.join(','), size: 20, title: 'box ids, comma-separated' });
  const hoursInput = el('input', { value: String(hours), size: 4, type: 'number', min: 1 });
  const go = el('button', {}, 'Show');
  go.onclick = () => (location.hash = `#/trends?box=${boxInput.value}&hours=${hoursInput.value}`);
  view.append(el('h2', {}, 'Trends'), el('div', { class: 'controls' }, 'Boxes', boxInput, 'last', hoursInput, 'hours', go));
  const toMs = Date.now();
  const fromMs = toMs - hours * 3_600_000;
  const series = await getJson(`/api/trends?box=${boxes.join(',')}&from=${fromMs}&to=${toMs}`);
  if (series.every((s) => s.trends.length === 0)) {
    view.append(el('p', { class: 'panel muted', id: 'no-trends' }, 'No trends for these boxes in this range.'));
    return;
  }
  const charts = [
    { title: 'Voltage (V)', field: 'voltage', scale: 1, nominal: NOMINAL.volts, limits: [NOMINAL.volts * (1 - LIMITS.voltPercent / 100), NOMINAL.volts * (1 + LIMITS.voltPercent / 100)] },
    { title: 'Frequency (Hz)', field: 'frequency', scale: 1, nominal: NOMINAL.hertz, limits: [NOMINAL.hertz * (1 - LIMITS.hertzPercent / 100), NOMINAL.hertz * (1 + LIMITS.hertzPercent / 100)] },
    { title: 'THD (%)', field: 'thd', scale: 100, nominal: undefined, limits: [undefined, LIMITS.thdPercent] },
  ];
  const plots = [];
  for (const chart of charts) {
    const panel = el('div', { class: 'panel', 'data-chart': chart.field }, el('h3', {}, chart.title));
    view.append(panel);
    plots.push(trendChart(panel, series, chart));
  }
  teardown = () => plots.forEach((plot) => plot.destroy());
}

/** One uPlot chart: per box the average (and, for one box, min and max), with nominal and limit lines. */
function trendChart(panel, series, chart) {
  const xs = [...new Set(series.flatMap((s) => s.trends.map((t) => (t.window_start_ms ?? t.timestamp_ms) / 1000)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const data = [xs];
  const uSeries = [{}];
  const palette = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280', '#2c7a7b'];
  series.forEach((s, n) => {
    const column = (pick) => {
      const ys = new Array(xs.length).fill(null);
      for (const t of s.trends) {
        const stats = t[chart.field];
        if (stats) ys[index.get((t.window_start_ms ?? t.timestamp_ms) / 1000)] = pick(stats) * chart.scale;
      }
      return ys;
    };
    const color = palette[n % palette.length];
    data.push(column((stats) => stats.average));
    uSeries.push({ label: `box ${s.box_id}`, stroke: color, width: 1.5, spanGaps: false });
    if (series.length === 1) {
      data.push(column((stats) => stats.min), column((stats) => stats.max));
      uSeries.push({ label: 'min', stroke: color, dash: [2, 3], width: 1 }, { label: 'max', stroke: color, dash: [2, 3], width: 1 });
    }
  });
  const reference = (value, label, color) => {
    if (value === undefined) return;
    data.push(xs.map(() => value));
    uSeries.push({ label, stroke: color, dash: [6, 4], width: 1, points: { show: false } });
  };
  reference(chart.nominal, 'nominal', '#8a94a6');
  reference(chart.limits[0], 'lower limit', '#c53030');
  reference(chart.limits[1], 'upper limit', '#c53030');
  return new uPlot({ width: Math.max(600, view.clientWidth - 40), height: 220, series: uSeries, scales: { x: { time: true } } }, data, panel);
}

// --- events ----------------------------------------------------------------------------------

async function showEvents() {
  const events = await getJson('/api/events?limit=200');
  view.append(el('h2', {}, 'Events'));
  if (events.length === 0) {
    view.append(el('p', { class: 'panel muted' }, 'No events recorded.'));
    return;
  }
  view.append(
    el(
      'table',
      { id: 'events' },
      el('thead', {}, el('tr', {}, ...['Event', 'Type', 'Start (box time, UTC)', 'Duration', 'Boxes triggered', 'Replies', 'Description'].map((h) => el('th', {}, h)))),
      el(
        'tbody',
        {},
        ...events.map((e) =>
          el(
            'tr',
            { 'data-event': e.event_id },
            el('td', {}, el('a', { href: `#/event/${e.event_id}` }, e.event_id)),
            el('td', {}, e.type),
            el('td', {}, fmt.time(e.target_event_start_timestamp_ms)),
            el('td', { class: 'num' }, `${((e.target_event_end_timestamp_ms - e.target_event_start_timestamp_ms) / 1000).toFixed(2)} s`),
            el('td', {}, e.boxes_triggered.join(', ')),
            el('td', {}, e.boxes_received.join(', ')),
            el('td', {}, e.description),
          ),
        ),
      ),
    ),
  );
}

async function showEvent(id) {
  const { event, boxes } = await getJson(`/api/events/${id}`);
  view.append(
    el('h2', { id: 'event-title' }, `Event ${event.event_id}: ${event.type}`),
    el(
      'div',
      { class: 'panel' },
      el('div', {}, event.description),
      el('div', { class: 'muted' }, `Requested ${fmt.time(event.target_event_start_timestamp_ms)} → ${fmt.time(event.target_event_end_timestamp_ms)} · triggered by ${event.boxes_triggered.join(', ')} · replies from ${event.boxes_received.join(', ') || 'none yet'}`),
      el('div', { class: 'muted' }, `Drag across a chart to zoom, double-click to zoom out. The red line is the trigger moment (RMS first outside ±${LIMITS.voltPercent} % of nominal); the band is the excursion. Times are from the requested start.`),
    ),
  );
  const plots = [];
  const sync = uPlot.sync(`event-${id}`);
  const origin = event.target_event_start_timestamp_ms / 1000;
  /** Seconds from the requested start, as axis labels (`+0.50 s`). */
  const relative = (u, ticks) => ticks.map((t) => `+${(t - origin).toFixed(2)} s`);
  for (const box of boxes) {
    const minRms = box.rms_v.length ? Math.min(...box.rms_v) : undefined;
    const maxRms = box.rms_v.length ? Math.max(...box.rms_v) : undefined;
    const excursion = excursionOf(box);
    const summary = minRms === undefined
      ? 'no waveform stored'
      : `RMS ${minRms.toFixed(1)}–${maxRms.toFixed(1)} V (${((100 * minRms) / NOMINAL.volts).toFixed(1)}–${((100 * maxRms) / NOMINAL.volts).toFixed(1)} % of nominal)` +
        (excursion ? `; outside ±${LIMITS.voltPercent} % from +${(excursion[0] - origin).toFixed(3)} s to +${(excursion[1] - origin).toFixed(3)} s` : `; within ±${LIMITS.voltPercent} % throughout`);
    const panel = el(
      'div',
      { class: 'panel', 'data-box': box.box_id },
      el('h3', {}, `Box ${box.box_id} ${describeLocation(box.location)}`),
      el('div', { class: 'muted', 'data-summary': 'rms', 'data-min-rms': minRms ?? '', 'data-excursion': excursion ? excursion.join(',') : '' }, summary),
    );
    view.append(panel);
    if (box.t.length === 0) continue;
    const width = Math.max(600, view.clientWidth - 40);
    const common = {
      width,
      cursor: { sync: { key: sync.key } },
      legend: { show: false },
      hooks: { draw: [(u) => excursion && markExcursion(u, excursion)] },
      scales: { x: { time: false } },
    };
    plots.push(
      new uPlot(
        { ...common, title: 'Waveform (V)', height: 200, axes: [{ values: relative }, { label: 'V' }], series: [{}, { label: 'V', stroke: '#2b6cb0', width: 1 }] },
        [box.t.map((t) => t / 1000), box.v],
        panel,
      ),
      new uPlot(
        {
          ...common,
          title: 'RMS per cycle (% of nominal)',
          height: 170,
          // At least 85–110 %, so a steady box does not look like an event when its noise is scaled up.
          scales: { ...common.scales, y: { range: (u, min, max) => [Math.min(85, Math.floor(min - 2)), Math.max(110, Math.ceil(max + 2))] } },
          axes: [{ values: relative }, { label: '%' }],
          series: [{}, { label: '% nominal', stroke: '#c05621', width: 1.5 }, { label: 'limits', stroke: '#c53030', dash: [6, 4], width: 1, points: { show: false } }, { label: 'limits', stroke: '#c53030', dash: [6, 4], width: 1, points: { show: false } }],
        },
        [box.rms_t.map((t) => t / 1000), box.rms_v.map((v) => (100 * v) / NOMINAL.volts), box.rms_t.map(() => 100 - LIMITS.voltPercent), box.rms_t.map(() => 100 + LIMITS.voltPercent)],
        panel,
      ),
    );
  }
  teardown = () => plots.forEach((plot) => plot.destroy());
}

/**
 * Where the box's RMS first leaves ±LIMITS.voltPercent of nominal (the trigger moment) and
 * where it is last outside, in seconds of box time; undefined when it never does.
 */
function excursionOf(box) {
  const outside = (v) => Math.abs((100 * v) / NOMINAL.volts - 100) > LIMITS.voltPercent;
  const first = box.rms_v.findIndex(outside);
  if (first < 0) return undefined;
  let last = first;
  box.rms_v.forEach((v, i) => outside(v) && (last = i));
  const cycleEnd = box.rms_t[last + 1] ?? box.rms_t[last] + 1000 / NOMINAL.hertz;
  return [box.rms_t[first] / 1000, cycleEnd / 1000];
}


/** Shades the excursion and marks its start, the trigger moment, with a line. */
function markExcursion(u, [start, end]) {
  const ctx = u.ctx;
  const left = u.valToPos(start, 'x', true);
  const right = u.valToPos(end, 'x', true);
  const top = u.bbox.top;
  const height = u.bbox.height;
  ctx.save();
  ctx.fillStyle = 'rgba(197, 48, 48, 0.10)';
  ctx.fillRect(left, top, right - left, height);
  ctx.strokeStyle = 'rgba(197, 48, 48, 0.9)';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, top + height);
  ctx.stroke();
  ctx.restore();
}

window.addEventListener('hashchange', route);
route();
pollStatus();
