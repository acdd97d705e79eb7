// affsig's dashboard: one page, routed by its URL — the jobs (/), a job and its signature
// (/jobs/ID), several signatures overlaid (/overlay?job_ids=A&job_ids=B&labels=arch=x). It reads
// the server's JSON API (/v1/..., protobuf's JSON mapping: 64-bit integers arrive as strings)
// and draws the plots as SVG by hand: one kind of chart, scores in [0, 1], a few hundred points
// per signature — no library, nothing to fetch from elsewhere. The DOM is built with
// createElement and textContent only: names and labels come from users.
'use strict';

// ---- DOM and formatting ---------------------------------------------------------------------

const SVG_NS = 'http://www.w3.org/2000/svg';

// h('a', {href: '/', class: 'x', onclick: f}, 'text', child, [children]) -> an element.
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

function svg(tag, attributes, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

function setAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : value);
  }
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

function number(value) { return value === undefined || value === null ? 0 : Number(value); }

function score(value, digits = 4) {
  return value === undefined || value === null || Number.isNaN(value) ? '—'
      : Number(value).toFixed(digits);
}

function shortId(id) { return id.length > 12 ? id.slice(0, 8) : id; }

function shortSha(sha) { return sha ? sha.slice(0, 12) : ''; }

function when(ms) {
  ms = number(ms);
  if (!ms) return '';
  const seconds = (Date.now() - ms) / 1000;
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

function dateTime(ms) { return number(ms) ? new Date(number(ms)).toLocaleString() : ''; }

function duration(fromMs, toMs) {
  const seconds = (number(toMs) || Date.now()) - number(fromMs);
  if (!number(fromMs) || seconds < 0) return '';
  const s = seconds / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

function jobTitle(job) { return job.name || shortId(job.job_id); }

// The API's enum values as people say them: OPTIMIZE_AUTO -> auto, MODULES -> modules.
function enumText(value) { return String(value || '').replace(/^OPTIMIZE_/, '').toLowerCase(); }

function stateBadge(state) { return h('span', {class: `badge state-${state}`}, state); }

function labelChips(labels, onClick) {
  return Object.entries(labels || {}).sort().map(([key, value]) => h('span', {
    class: onClick ? 'chip clickable' : 'chip',
    title: onClick ? `filter by ${key}=${value}` : undefined,
    onclick: onClick ? () => onClick(`${key}=${value}`) : undefined,
  }, `${key}=${value}`));
}

function progressBar(progress) {
  const done = number(progress && progress.done);
  const total = number(progress && progress.total);
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const fill = h('div', {class: 'fill'});
  fill.style.width = `${(100 * fraction).toFixed(1)}%`;
  const text = total > 0
      ? `${done}/${total}` + (number(progress.batches) > 1
          ? ` · batch ${number(progress.batch)}/${number(progress.batches)}` : '')
      : 'starting';
  return h('div', {class: 'progress', title: progress && progress.activation || ''},
           h('div', {class: 'bar'}, fill), h('span', {class: 'progress-text'}, text));
}

// ---- the API --------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status, reason) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

// A server with --auth-tokens wants a token with every call. The one given in the sign-in form
// is kept for this tab's session only (sessionStorage: gone when the tab closes, never in a URL
// or a cookie) and sent as `Authorization: Bearer`.
const TOKEN_KEY = 'affsig.token';

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

// GET `path` with `params`, a list of [name, value] pairs (names repeat for repeated fields).
async function api(path, params = []) {
  const url = new URL(path, location.origin);
  for (const [name, value] of params) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.append(name, value);
  }
  const headers = {Accept: 'application/json'};
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(url, {headers});
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const info = body && (body.details || []).find((d) => d.reason);
    const error = new ApiError(body && body.message || response.statusText, response.status,
                               info && info.reason);
    if (response.status === 401) showSignIn(error.message);
    throw error;
  }
  return body;
}

// Finished jobs' signatures never change: each is fetched once per page load.
const signatureCache = new Map();

function fetchSignature(jobId) {
  if (!signatureCache.has(jobId)) {
    const request = api(`/v1/jobs/${encodeURIComponent(jobId)}/signature`).then((signature) => {
      if (!['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(signature.job.state)) {
        signatureCache.delete(jobId);
      }
      return signature;
    });
    request.catch(() => signatureCache.delete(jobId));
    signatureCache.set(jobId, request);
  }
  return signatureCache.get(jobId);
}

// ---- downloads ------------------------------------------------------------------------------

const CSV_COLUMNS = ['job_id', 'name', 'index', 'depth', 'module', 'call', 'op', 'n', 'd',
                     'score', 'std', 'min', 'max', 'batches', 'status', 'reason'];

function csvField(value) {
  const text = value === undefined || value === null ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// One row per entry of each signature, in execution order.
function signaturesCsv(signatures) {
  const rows = [CSV_COLUMNS.join(',')];
  for (const signature of signatures) {
    const entries = signature.entries || [];
    entries.forEach((entry, i) => {
      const values = {
        job_id: signature.job.job_id, name: signature.job.name,
        depth: entries.length > 1 ? (i / (entries.length - 1)).toFixed(6) : 0, ...entry,
      };
      if (entry.status !== 'ok') Object.assign(values, {std: '', min: '', max: ''});
      rows.push(CSV_COLUMNS.map((column) => csvField(values[column])).join(','));
    });
  }
  return rows.join('\n') + '\n';
}

function download(name, type, text) {
  const link = h('a', {href: URL.createObjectURL(new Blob([text], {type})), download: name});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function downloadButtons(fileStem, signatures) {
  return h('span', {class: 'downloads'},
    h('button', {class: 'secondary', onclick: () =>
        download(`${fileStem}.csv`, 'text/csv', signaturesCsv(signatures()))}, 'Download CSV'),
    h('button', {class: 'secondary', onclick: () => {
      const shown = signatures();
      const json = shown.length === 1 ? shown[0] : {signatures: shown};
      download(`${fileStem}.json`, 'application/json', JSON.stringify(json, null, 2) + '\n');
    }}, 'Download JSON'));
}

// ---- the signature plot ---------------------------------------------------------------------

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
                 '#17becf', '#7f7f7f', '#bcbd22'];

// Round tick values covering [low, high], about `count` of them.
function ticks(low, high, count) {
  const span = high - low || 1;
  const raw = span / count;
  const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const values = [];
  for (let v = Math.ceil(low / step - 1e-9) * step; v <= high + 1e-9; v += step) {
    values.push(Number(v.toFixed(10)));
  }
  return values;
}

// A series: {jobId, label, color, entries}. Options: x 'index' or 'depth', y 'fit' or 'unit',
// band: the ± std band, onHover(entryIndex or null) for the single-series page's table.
// Returns the plot's element; one circle.point per scored entry, in g.series[data-job-id].
function signaturePlot(series, options) {
  const width = Math.max(480, options.width || 900);
  const height = options.height || 380;
  const margin = {left: 56, right: 18, top: 14, bottom: 44};
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;

  const points = series.map((s) => s.entries.map((entry, i) => ({
    entry,
    x: options.x === 'depth' ? (s.entries.length > 1 ? i / (s.entries.length - 1) : 0)
                             : number(entry.index),
    ok: entry.status === 'ok' && entry.score !== undefined,
  })));
  const all = points.flat();
  // Half a step of room at either end, so that the first and last points are not on the frame.
  const xMin = options.x === 'depth' ? -0.02 : -0.5;
  const xMax = options.x === 'depth' ? 1.02 : Math.max(1, ...all.map((p) => p.x)) + 0.5;
  let yLow = 0;
  let yHigh = 1;
  const scored = all.filter((p) => p.ok);
  if (options.y === 'fit' && scored.length) {
    const spread = (p) => (options.band ? number(p.entry.std) : 0);
    yLow = Math.min(...scored.map((p) => p.entry.score - spread(p)));
    yHigh = Math.max(...scored.map((p) => p.entry.score + spread(p)));
    const pad = Math.max(0.01, (yHigh - yLow) * 0.08);
    yLow = Math.max(0, yLow - pad);
    yHigh = Math.min(1, yHigh + pad);
  }
  const sx = (x) => margin.left + ((x - xMin) / (xMax - xMin)) * plotWidth;
  const sy = (y) => margin.top + (1 - (y - yLow) / (yHigh - yLow)) * plotHeight;

  const root = svg('svg', {class: 'plot', width, height, viewBox: `0 0 ${width} ${height}`,
                           role: 'img', 'aria-label': 'signature plot'});
  const grid = svg('g', {class: 'grid'});
  for (const y of ticks(yLow, yHigh, 6)) {
    grid.append(svg('line', {x1: margin.left, x2: width - margin.right, y1: sy(y), y2: sy(y)}),
                svg('text', {x: margin.left - 8, y: sy(y) + 4, class: 'tick y'}, y.toFixed(
                    yHigh - yLow < 0.1 ? 3 : 2)));
  }
  const xTicks = options.x === 'depth' ? ticks(0, 1, 5)
      : ticks(0, Math.floor(xMax), Math.min(10, Math.max(2, Math.floor(xMax))))
          .filter(Number.isInteger);
  for (const x of xTicks) {
    grid.append(svg('line', {class: 'vertical', x1: sx(x), x2: sx(x), y1: margin.top,
                             y2: margin.top + plotHeight}),
                svg('text', {x: sx(x), y: height - margin.bottom + 16, class: 'tick x'},
                    options.x === 'depth' ? x.toFixed(1) : x));
  }
  grid.append(svg('text', {x: margin.left + plotWidth / 2, y: height - 6, class: 'axis-title'},
                  options.x === 'depth' ? 'relative depth (activation call / last call)'
                                        : 'activation call, in execution order'),
              svg('text', {x: 14, y: margin.top + plotHeight / 2, class: 'axis-title',
                           transform: `rotate(-90 14 ${margin.top + plotHeight / 2})`},
                  'affinity score'));
  root.append(grid);

  series.forEach((s, k) => {
    const group = svg('g', {class: 'series', dataset: {jobId: s.jobId}});
    const runs = [];  // consecutive scored points: the line and the band break at the others
    let run = [];
    for (const p of points[k]) {
      if (p.ok) run.push(p);
      else if (run.length) { runs.push(run); run = []; }
    }
    if (run.length) runs.push(run);
    if (options.band) {
      for (const r of runs) {
        if (!r.some((p) => number(p.entry.std) > 0)) continue;
        const upper = r.map((p) => `${sx(p.x)},${sy(Math.min(1, p.entry.score + number(p.entry.std)))}`);
        const lower = r.map((p) => `${sx(p.x)},${sy(Math.max(0, p.entry.score - number(p.entry.std)))}`);
        group.append(svg('polygon', {class: 'band', fill: s.color,
                                     points: upper.concat(lower.reverse()).join(' ')}));
      }
    }
    const path = runs.map((r) => r.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x)},${sy(p.entry.score)}`)
                                     .join('')).join('');
    group.append(svg('path', {class: 'line', d: path, stroke: s.color}));
    for (const p of points[k]) {
      if (p.ok) {
        group.append(svg('circle', {class: 'point', cx: sx(p.x), cy: sy(p.entry.score),
                                    r: series.length > 1 ? 2.2 : 3, fill: s.color,
                                    dataset: {index: p.entry.index}}));
      } else {
        // Not scored: a gap in the line, marked where it is, its reason on hover.
        // One series: red; several: each in its own colour.
        const colour = series.length > 1 ? s.color : undefined;
        group.append(svg('line', {class: 'gap', x1: sx(p.x), x2: sx(p.x), y1: margin.top,
                                  y2: margin.top + plotHeight, stroke: colour}),
                     svg('path', {class: 'gap-marker', dataset: {index: p.entry.index},
                                  fill: colour,
                                  d: `M${sx(p.x) - 4},${margin.top + plotHeight - 1}l4,-7l4,7z`}));
      }
    }
    root.append(group);
  });

  // Hover: the entries nearest the pointer's x, a guide line and a tooltip.
  const guide = svg('line', {class: 'guide', y1: margin.top, y2: margin.top + plotHeight,
                             visibility: 'hidden'});
  const highlight = svg('g', {class: 'highlight'});
  root.append(guide, highlight);
  const tooltip = h('div', {class: 'tooltip', hidden: true});
  const container = h('div', {class: 'plot-container'}, root, tooltip);
  const hide = () => {
    guide.setAttribute('visibility', 'hidden');
    highlight.replaceChildren();
    tooltip.hidden = true;
    if (options.onHover) options.onHover(null);
  };
  const show = (event) => {
    const box = root.getBoundingClientRect();
    const px = (event.clientX - box.left) * (width / box.width);
    if (px < margin.left - 10 || px > width - margin.right + 10) return hide();
    const x = xMin + ((px - margin.left) / plotWidth) * (xMax - xMin);
    const nearest = points.map((ps) => ps.reduce((best, p) =>
        (!best || Math.abs(p.x - x) < Math.abs(best.x - x) ? p : best), null));
    const anchor = nearest.filter(Boolean).reduce((best, p) =>
        (!best || Math.abs(p.x - x) < Math.abs(best.x - x) ? p : best), null);
    if (!anchor) return hide();
    guide.setAttribute('x1', sx(anchor.x));
    guide.setAttribute('x2', sx(anchor.x));
    guide.setAttribute('visibility', 'visible');
    highlight.replaceChildren(...nearest.map((p, k) => p && p.ok && svg('circle', {
      cx: sx(p.x), cy: sy(p.entry.score), r: 5.5, stroke: series[k].color})).filter(Boolean));
    tooltip.replaceChildren(...(series.length === 1 ? entryDetails(nearest[0].entry)
        : nearest.map((p, k) => p && overlayLine(series[k], p.entry))));
    tooltip.hidden = false;
    // Beside the guide line, on the side with room, and in the half of the plot away from the
    // hovered point, so that it hides neither the point nor its neighbours.
    const scale = box.width / width;
    const guideX = sx(anchor.x) * scale;
    const left = guideX + 14 + tooltip.offsetWidth < box.width ? guideX + 14
                                                               : guideX - 14 - tooltip.offsetWidth;
    const pointY = anchor.ok ? sy(anchor.entry.score) : margin.top + plotHeight;
    const upper = pointY > margin.top + plotHeight / 2;
    const top = upper ? margin.top * scale + 4
                      : (margin.top + plotHeight) * scale - tooltip.offsetHeight - 4;
    tooltip.style.left = `${Math.max(0, left)}px`;
    tooltip.style.top = `${Math.max(0, top)}px`;
    if (options.onHover) options.onHover(number(nearest[0] && nearest[0].entry.index));
  };
  root.addEventListener('mousemove', show);
  root.addEventListener('mouseleave', hide);
  return container;
}

function entryDetails(entry) {
  const lines = [
    h('div', {class: 'tip-title'}, `#${entry.index} ${entry.module || '(forward)'}`,
      h('span', {class: 'muted'}, ` call ${entry.call}`)),
    h('div', null, `op ${entry.op} · n ${entry.n} · d ${entry.d}`),
  ];
  if (entry.status === 'ok') {
    lines.push(h('div', {class: 'tip-score'}, `score ${score(entry.score)}`,
                 number(entry.batches) > 1 ? ` ± ${score(entry.std)}` : ''));
    if (number(entry.batches) > 1) {
      lines.push(h('div', {class: 'muted'},
                   `${entry.batches} batches · min ${score(entry.min)} · max ${score(entry.max)}`));
    }
  } else {
    lines.push(h('div', {class: 'tip-gap'}, `not scored: ${entry.status}`),
               entry.reason && h('div', {class: 'muted'}, entry.reason));
  }
  return lines;
}

function overlayLine(series, entry) {
  const swatch = h('span', {class: 'swatch'});
  swatch.style.background = series.color;
  return h('div', {class: 'tip-row'}, swatch, h('span', {class: 'tip-name'}, series.label),
           entry.status === 'ok' ? h('b', null, score(entry.score)) : h('i', null, entry.status),
           h('span', {class: 'muted'}, ` ${entry.module || '(forward)'} ${entry.op}`));
}

// A tiny signature for the jobs table, its scores' range filling the height (0.1 at least): the
// shape at a glance; the mean score stands beside it.
function sparkline(entries) {
  const width = 120;
  const height = 26;
  const n = Math.max(1, entries.length - 1);
  const scores = entries.filter((e) => e.status === 'ok').map((e) => e.score);
  const high = Math.max(...scores);
  const low = Math.min(...scores, high - 0.1);
  const x = (i) => (i / n) * (width - 6) + 3;
  const y = (value) => (1 - (value - low) / (high - low || 1)) * (height - 6) + 3;
  const ok = (i) => i >= 0 && i < entries.length && entries[i].status === 'ok';
  const path = [];
  const dots = [];
  entries.forEach((entry, i) => {
    if (!ok(i)) return;
    path.push(`${ok(i - 1) ? 'L' : 'M'}${x(i)},${y(entry.score)}`);
    if (!ok(i - 1) && !ok(i + 1)) dots.push(svg('circle', {cx: x(i), cy: y(entry.score), r: 1.5}));
  });
  return svg('svg', {class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`},
             svg('path', {d: path.join('')}), dots);
}

// Redraws `render(width)` into `host` whenever the host's width changes.
function responsive(host, render) {
  let lastWidth = 0;
  const draw = () => {
    const width = Math.floor(host.clientWidth);
    if (!width || width === lastWidth) return;
    lastWidth = width;
    host.replaceChildren(render(width));
  };
  new ResizeObserver(draw).observe(host);
  draw();
  return () => { lastWidth = 0; draw(); };
}

// ---- pages ----------------------------------------------------------------------------------

const app = document.getElementById('app');
let pageTimer = null;

// Calls `refresh` now and every `ms` while the tab is visible.
function every(ms, refresh) {
  clearInterval(pageTimer);
  refresh();
  pageTimer = setInterval(() => { if (!document.hidden) refresh(); }, ms);
}

function errorBox(error) {
  // The sign-in form has taken the page: nothing more to say.
  if (error.status === 401) return '';
  return h('div', {class: 'error'}, error.reason ? h('b', null, `${error.reason}: `) : '',
           error.message);
}

// The page asks for a token: the server refused the call without one (or with a wrong one).
// Refreshing stops until the user signs in, so that nothing overwrites the form.
function showSignIn(reason) {
  clearInterval(pageTimer);
  if (document.getElementById('sign-in')) return;
  document.title = 'Sign in · affsig';
  const input = h('input', {type: 'password', id: 'token', name: 'token', autocomplete: 'off',
                            spellcheck: 'false', placeholder: 'affsig_…', size: 48});
  const form = h('form', {id: 'sign-in', class: 'sign-in', onsubmit: (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    serverStatus();
    route();
  }},
  h('h1', null, 'Sign in'),
  h('p', {class: 'muted'}, token() ? `The server refused the token: ${reason}.`
                                   : 'This server wants a token: the one affsig-server add-user ' +
                                     'printed for you (the CLI reads it from ' +
                                     '~/.config/affsig/token).'),
  h('label', {for: 'token'}, 'Token'), input,
  h('button', {type: 'submit'}, 'Sign in'));
  document.getElementById('app').replaceChildren(form);
  input.focus();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  signatureCache.clear();
  location.assign('/');
}

// The jobs: filters in the URL (state, label, name, page_size), pages by token.
function jobsPage() {
  document.title = 'Jobs · affsig';
  const query = new URLSearchParams(location.search);
  const filters = {
    state: query.get('state') || '',
    labels: query.getAll('label'),
    name: query.get('name') || '',
    pageSize: query.get('page_size') || '25',
  };
  const tokens = [''];  // the page tokens of the pages seen, the current one last
  const selected = new Set();
  const sparklines = new Map();

  const stateSelect = h('select', {name: 'state', onchange: apply},
    ['', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'].map((s) =>
        h('option', {value: s, selected: s === filters.state}, s || 'any state')));
  const labelInput = h('input', {name: 'label', placeholder: 'labels: arch=resnet18 dataset',
                                 value: filters.labels.join(' '), size: 28});
  const nameInput = h('input', {name: 'name', placeholder: 'name', value: filters.name, size: 14});
  const sizeSelect = h('select', {name: 'page_size', onchange: apply},
    ['10', '25', '50', '100'].map((s) =>
        h('option', {value: s, selected: s === filters.pageSize}, `${s} per page`)));
  for (const input of [labelInput, nameInput]) {
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
  }
  const overlayButton = h('button', {disabled: true, onclick: () => {
    location.href = `/overlay?${[...selected].map((id) => `job_ids=${encodeURIComponent(id)}`)
                                            .join('&')}`;
  }}, 'Overlay selected');
  const tableHost = h('div', {class: 'table-host'});
  const pager = h('div', {class: 'pager'});
  const message = h('div');

  function apply() {
    filters.state = stateSelect.value;
    filters.labels = labelInput.value.split(/\s+/).filter(Boolean);
    filters.name = nameInput.value.trim();
    filters.pageSize = sizeSelect.value;
    const params = new URLSearchParams();
    if (filters.state) params.set('state', filters.state);
    for (const label of filters.labels) params.append('label', label);
    if (filters.name) params.set('name', filters.name);
    if (filters.pageSize !== '25') params.set('page_size', filters.pageSize);
    history.replaceState(null, '', params.toString() ? `/?${params}` : '/');
    tokens.length = 1;
    refresh();
  }

  function addLabel(label) {
    if (!filters.labels.includes(label)) labelInput.value = [...filters.labels, label].join(' ');
    apply();
  }

  function updateOverlayButton() {
    overlayButton.disabled = selected.size < 1;
    overlayButton.textContent = selected.size ? `Overlay selected (${selected.size})`
                                              : 'Overlay selected';
  }

  function sparklineCell(job) {
    const cell = h('td', {class: 'spark'});
    if (job.state !== 'SUCCEEDED') return cell;
    if (!sparklines.has(job.job_id)) {
      sparklines.set(job.job_id, fetchSignature(job.job_id).then((s) => sparkline(s.entries || [])));
    }
    sparklines.get(job.job_id).then((line) => cell.replaceChildren(line.cloneNode(true)),
                                     () => {});
    return cell;
  }

  function row(job) {
    const checkbox = h('input', {type: 'checkbox', checked: selected.has(job.job_id),
                                 disabled: job.state !== 'SUCCEEDED',
                                 title: 'select for an overlay', onchange: (e) => {
      if (e.target.checked) selected.add(job.job_id); else selected.delete(job.job_id);
      updateOverlayButton();
    }});
    let status = '';
    if (job.state === 'RUNNING') status = progressBar(job.progress);
    else if (job.state === 'FAILED') status = h('span', {class: 'error-text', title: job.error},
                                                 job.error);
    else if (job.state === 'SUCCEEDED' && job.summary) {
      status = h('span', {class: 'muted'}, `${job.summary.scored}/${job.summary.entries} scored`);
    } else if (job.state === 'QUEUED' && number(job.attempts) > 0) {
      status = h('span', {class: 'muted'}, `retry after ${job.attempts} attempt(s)`);
    }
    return h('tr', {dataset: {jobId: job.job_id, state: job.state}},
      h('td', null, checkbox),
      h('td', null, h('a', {href: `/jobs/${encodeURIComponent(job.job_id)}`,
                            class: job.name ? 'job-link' : 'job-link mono'}, jobTitle(job)),
        job.name && h('div', {class: 'mono muted'}, shortId(job.job_id))),
      h('td', null, stateBadge(job.state)),
      h('td', {class: 'status-cell'}, status),
      h('td', null, labelChips(job.labels, addLabel)),
      h('td', {class: 'muted'}, job.device || (job.attempt_history || []).slice(-1)
                                              .map((a) => a.device)[0] || ''),
      h('td', {title: dateTime(job.created_at_ms)}, when(job.created_at_ms)),
      h('td', {class: 'num'}, job.state === 'QUEUED' ? '' : duration(job.started_at_ms,
                                                                     job.finished_at_ms)),
      h('td', {class: 'num'}, job.summary && number(job.summary.scored)
                                  ? score(job.summary.mean_score, 3) : ''),
      sparklineCell(job));
  }

  async function refresh() {
    const params = [['state', filters.state], ['name', filters.name],
                    ['page_size', filters.pageSize], ['page_token', tokens[tokens.length - 1]],
                    ...filters.labels.map((l) => ['labels', l])];
    let response;
    try {
      response = await api('/v1/jobs', params);
      message.replaceChildren();
    } catch (error) {
      message.replaceChildren(errorBox(error));
      return;
    }
    const jobs = response.jobs || [];
    tableHost.replaceChildren(jobs.length ? h('table', {class: 'jobs'},
      h('thead', null, h('tr', null, ['', 'Job', 'State', 'Progress', 'Labels', 'Device',
                                      'Created', 'Duration', 'Mean score', 'Signature']
                                         .map((t) => h('th', null, t)))),
      h('tbody', null, jobs.map(row)))
        : h('p', {class: 'muted empty'}, 'No job matches these filters.'));
    pager.replaceChildren(
      h('button', {class: 'secondary', disabled: tokens.length === 1,
                   onclick: () => { tokens.pop(); refresh(); }}, '← Newer'),
      h('span', {class: 'muted'}, `page ${tokens.length}`),
      h('button', {class: 'secondary', disabled: !response.next_page_token,
                   onclick: () => { tokens.push(response.next_page_token); refresh(); }},
        'Older →'));
  }

  const labelOverlay = h('input', {placeholder: 'arch=resnet18', size: 16});
  app.replaceChildren(
    h('div', {class: 'page-head'}, h('h1', null, 'Jobs'),
      h('div', {class: 'actions'}, overlayButton,
        h('span', {class: 'or'}, 'or overlay a label'), labelOverlay,
        h('button', {class: 'secondary', onclick: () => {
          if (labelOverlay.value.trim()) {
            location.href = `/overlay?labels=${encodeURIComponent(labelOverlay.value.trim())}`;
          }
        }}, 'Overlay'))),
    h('div', {class: 'filters'}, stateSelect, labelInput, nameInput, sizeSelect,
      h('button', {onclick: apply}, 'Filter')),
    message, tableHost, pager);
  every(2000, refresh);
}

function infoItem(name, ...value) {
  return [h('dt', null, name), h('dd', null, ...value)];
}

// One job: its details and progress while it runs, then its signature.
function jobPage(jobId) {
  const head = h('div', {class: 'page-head'});
  const info = h('dl', {class: 'info'});
  const live = h('div');
  const attemptsHost = h('div');
  const body = h('div');
  let shown = null;  // the signature on the page
  app.replaceChildren(h('div', {class: 'crumbs'}, h('a', {href: '/'}, '← Jobs')),
                      head, live, info, attemptsHost, body);

  function renderJob(job) {
    document.title = `${jobTitle(job)} · affsig`;
    head.replaceChildren(h('h1', null, jobTitle(job), ' ', stateBadge(job.state)),
      h('div', {class: 'actions'},
        job.state === 'SUCCEEDED' && h('a', {class: 'button secondary',
          href: `/overlay?job_ids=${encodeURIComponent(job.job_id)}`}, 'Overlay with…'),
        job.state === 'SUCCEEDED' && downloadButtons(`signature-${job.name || job.job_id}`,
                                                     () => [shown])));
    info.replaceChildren(
      ...infoItem('Job', h('span', {class: 'mono'}, job.job_id)),
      ...infoItem('Model', h('span', {class: 'mono', title: job.model_sha256},
                             shortSha(job.model_sha256))),
      ...infoItem('Data', job.data_source ? h('span', {class: 'mono'}, job.data_source)
                          : h('span', {class: 'mono', title: job.input_sha256},
                              `upload ${shortSha(job.input_sha256)}`),
                  job.data_options && number(job.data_options.batch_size)
                      ? h('span', {class: 'muted'}, ` · batches of ${job.data_options.batch_size}`)
                      : ''),
      ...infoItem('Activations', enumText(job.activations), h('span', {class: 'muted'},
                  ` · optimize ${enumText(job.optimize)}`)),
      ...infoItem('Labels', labelChips(job.labels)),
      ...infoItem('Created', dateTime(job.created_at_ms)),
      ...infoItem('Ran', duration(job.started_at_ms, job.finished_at_ms),
                  (job.device || (job.attempt_history || []).length)
                      ? h('span', {class: 'muted'}, ` on ${job.device ||
                          job.attempt_history.slice(-1)[0].device}`) : ''),
      ...infoItem('Attempts', String(job.attempts || 0)));
    const attempts = (job.attempt_history || []).map((a) => h('tr', null,
        h('td', null, a.attempt), h('td', null, a.worker), h('td', null, a.device),
        h('td', null, a.outcome || 'running'), h('td', null, duration(a.started_at_ms,
                                                                      a.ended_at_ms)),
        h('td', {class: 'muted'}, a.reason)));
    live.replaceChildren(
      job.state === 'RUNNING' ? h('div', {class: 'live'}, progressBar(job.progress),
        h('span', {class: 'muted'}, job.progress && job.progress.activation
            ? ` scoring ${job.progress.activation}` : ' running')) : '',
      job.state === 'QUEUED' ? h('p', {class: 'muted'}, 'Waiting for a worker…') : '',
      job.error ? h('div', {class: 'error'}, job.error) : '');
    const open = !!attemptsHost.querySelector('details[open]');  // as the reader left it
    attemptsHost.replaceChildren(attempts.length ? h('details', {class: 'attempts', open},
          h('summary', null,
          `${attempts.length} attempt(s)`), h('table', null, h('thead', null, h('tr', null,
          ['#', 'Worker', 'Device', 'Outcome', 'Ran', 'Reason'].map((t) => h('th', null, t)))),
          h('tbody', null, attempts))) : '');
  }

  async function poll() {
    let job;
    try {
      job = await api(`/v1/jobs/${encodeURIComponent(jobId)}`);
    } catch (error) {
      clearInterval(pageTimer);
      head.replaceChildren(h('h1', null, 'Job ', h('span', {class: 'mono'}, jobId)));
      body.replaceChildren(errorBox(error));
      return;
    }
    renderJob(job);
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.state)) {
      clearInterval(pageTimer);
      if (job.state === 'SUCCEEDED') renderSignature(await fetchSignature(jobId));
    }
  }

  function renderSignature(signature) {
    shown = signature;
    const entries = signature.entries || [];
    const summary = signature.summary || {};
    const batches = Math.max(0, ...entries.map((e) => number(e.batches)));
    const options = {x: 'index', y: 'fit', band: batches > 1};
    const rows = new Map();
    const plotHost = h('div', {class: 'plot-host'});
    const redraw = responsive(plotHost, (width) => signaturePlot(
        [{jobId: signature.job.job_id, label: jobTitle(signature.job), color: PALETTE[0],
          entries}],
        {...options, width, onHover: (index) => {
          for (const tr of rows.values()) tr.classList.remove('hovered');
          if (index !== null && rows.has(index)) rows.get(index).classList.add('hovered');
        }}));
    const toggles = h('div', {class: 'toggles'},
      h('label', null, h('input', {type: 'checkbox', checked: true, onchange: (e) => {
        options.y = e.target.checked ? 'fit' : 'unit';
        redraw();
      }}), ' fit the score axis'),
      batches > 1 && h('label', null, h('input', {type: 'checkbox', checked: true,
                                                  onchange: (e) => {
        options.band = e.target.checked;
        redraw();
      }}), ` ± std over ${batches} batches`));
    const stat = (name, value, title) => h('div', {class: 'stat', title},
                                          h('div', {class: 'stat-value'}, value),
                                          h('div', {class: 'stat-name'}, name));
    const stats = h('div', {class: 'stats'},
      stat('entries', summary.entries || entries.length),
      stat('scored', summary.scored || 0, 'entries with status ok'),
      stat('mean', score(summary.mean_score, 3)), stat('median', score(summary.median_score, 3)),
      stat('std', score(summary.std_score, 3)), stat('min', score(summary.min_score, 3)),
      stat('max', score(summary.max_score, 3)), stat('range', score(summary.score_range, 3)),
      stat('lowest at depth', score(summary.lowest_score_depth, 2),
           'where the lowest score lies: 0 the first activation call, 1 the last'));
    const table = h('table', {class: 'entries'},
      h('thead', null, h('tr', null, ['#', 'Module', 'Call', 'Op', 'n', 'd', 'Score', 'Std',
                                      'Min', 'Max', 'Batches', 'Status']
                                         .map((t) => h('th', null, t)))),
      h('tbody', null, entries.map((e) => {
        const ok = e.status === 'ok';
        const tr = h('tr', {class: ok ? '' : 'not-ok', dataset: {index: e.index}},
          h('td', {class: 'num'}, e.index), h('td', {class: 'mono'}, e.module || '(forward)'),
          h('td', {class: 'num'}, e.call), h('td', null, e.op), h('td', {class: 'num'}, e.n),
          h('td', {class: 'num'}, e.d), h('td', {class: 'num'}, ok ? score(e.score) : ''),
          h('td', {class: 'num'}, ok ? score(e.std) : ''),
          h('td', {class: 'num'}, ok ? score(e.min) : ''),
          h('td', {class: 'num'}, ok ? score(e.max) : ''), h('td', {class: 'num'}, e.batches),
          h('td', {title: e.reason}, ok ? 'ok' : `${e.status}${e.reason ? `: ${e.reason}` : ''}`));
        rows.set(number(e.index), tr);
        return tr;
      })));
    body.replaceChildren(stats, h('section', {class: 'card'}, h('div', {class: 'card-head'},
        h('h2', null, 'Signature'), toggles), plotHost),
      h('section', {class: 'card'}, h('h2', null, 'Entries'), table));
    redraw();
  }

  every(1000, poll);
}

// Several signatures on one plot: jobs by id and every signature carrying a label.
function overlayPage() {
  document.title = 'Overlay · affsig';
  const query = new URLSearchParams(location.search);
  const jobIds = query.getAll('job_ids');
  const labels = query.getAll('labels');
  const options = {x: 'depth', y: 'fit', band: false};
  const hidden = new Set();
  let signatures = [];

  const plotHost = h('div', {class: 'plot-host'});
  const legend = h('div', {class: 'legend'});
  const distances = h('div');
  const message = h('div');
  const addInput = h('input', {placeholder: 'job id, or a label: arch=resnet18', size: 34});
  const add = () => {
    const value = addInput.value.trim();
    if (!value) return;
    const params = new URLSearchParams(location.search);
    params.append(value.includes('=') || !/^[0-9a-f-]{8,}$/i.test(value) ? 'labels' : 'job_ids',
                  value);
    location.search = params.toString();
  };
  addInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') add(); });
  const removeLink = (name, value) => {
    const params = new URLSearchParams(location.search);
    const kept = params.getAll(name).filter((v) => v !== value);
    params.delete(name);
    for (const v of kept) params.append(name, v);
    return `/overlay?${params}`;
  };
  const chips = [
    ...jobIds.map((id) => h('span', {class: 'chip'}, h('span', {class: 'mono'}, shortId(id)),
                            h('a', {class: 'remove', href: removeLink('job_ids', id),
                                    title: 'remove'}, '×'))),
    ...labels.map((l) => h('span', {class: 'chip'}, `label ${l}`,
                           h('a', {class: 'remove', href: removeLink('labels', l),
                                   title: 'remove'}, '×'))),
  ];
  const shownSeries = () => signatures.map((s, k) => ({
    jobId: s.job.job_id, color: PALETTE[k % PALETTE.length], entries: s.entries || [],
    label: s.job.name || shortId(s.job.job_id), signature: s,
  })).filter((s) => !hidden.has(s.jobId));
  const redraw = responsive(plotHost, (width) => {
    const series = shownSeries();
    return series.length ? signaturePlot(series, {...options, width})
        : h('p', {class: 'muted empty'}, signatures.length ? 'Every series is hidden.'
            : 'Add jobs (their ids) or a label to overlay their signatures.');
  });
  const toggle = (text, checked, set) => h('label', null, h('input', {type: 'checkbox', checked,
      onchange: (e) => { set(e.target.checked); redraw(); }}), ` ${text}`);

  app.replaceChildren(
    h('div', {class: 'crumbs'}, h('a', {href: '/'}, '← Jobs')),
    h('div', {class: 'page-head'}, h('h1', null, 'Overlay'),
      h('div', {class: 'actions'}, downloadButtons('signatures', () =>
          shownSeries().map((s) => s.signature)))),
    h('div', {class: 'filters'}, chips, addInput, h('button', {onclick: add}, 'Add')),
    message,
    h('section', {class: 'card'}, h('div', {class: 'card-head'}, h('h2', null, 'Signatures'),
      h('div', {class: 'toggles'},
        toggle('relative depth (else activation index)', true, (on) => {
          options.x = on ? 'depth' : 'index';
        }),
        toggle('fit the score axis', true, (on) => { options.y = on ? 'fit' : 'unit'; }),
        toggle('± std', false, (on) => { options.band = on; }))),
      plotHost, legend),
    distances);

  function renderLegend() {
    legend.replaceChildren(...signatures.map((s, k) => {
      const swatch = h('span', {class: 'swatch'});
      swatch.style.background = PALETTE[k % PALETTE.length];
      return h('button', {class: hidden.has(s.job.job_id) ? 'legend-item off' : 'legend-item',
                          title: 'show or hide', dataset: {jobId: s.job.job_id}, onclick: () => {
        if (hidden.has(s.job.job_id)) hidden.delete(s.job.job_id); else hidden.add(s.job.job_id);
        renderLegend();
        redraw();
      }}, swatch, jobTitle(s.job), ' ', labelChips(s.job.labels),
        h('a', {href: `/jobs/${encodeURIComponent(s.job.job_id)}`, class: 'muted',
                onclick: (e) => e.stopPropagation()}, ' open'));
    }));
  }

  // The distances between the signatures (DTW over their scores), as the API computes them.
  async function renderDistances() {
    if (signatures.length < 2) return distances.replaceChildren();
    let comparison;
    try {
      comparison = await api('/v1/signatures:compare',
          signatures.map((s) => ['signatures.job_ids', s.job.job_id]));
    } catch (error) {
      return distances.replaceChildren(h('section', {class: 'card'}, h('h2', null, 'Distances'),
                                         errorBox(error)));
    }
    const names = comparison.names.map((n, i) => n || shortId(comparison.job_ids[i]));
    const largest = Math.max(1e-12, ...comparison.matrix.flatMap((r) => r.distances));
    distances.replaceChildren(h('section', {class: 'card'},
      h('h2', null, 'Distances ', h('span', {class: 'muted'}, `(${comparison.distance}, ` +
        'from /v1/signatures:compare)')),
      h('table', {class: 'distances'},
        h('thead', null, h('tr', null, h('th'), names.map((n) => h('th', null, n)))),
        h('tbody', null, comparison.matrix.map((r, i) => h('tr', null, h('th', null, names[i]),
          r.distances.map((d) => {
            const cell = h('td', {class: 'num'}, d.toFixed(3));
            cell.style.background = `rgba(31, 78, 140, ${(0.45 * d / largest).toFixed(3)})`;
            return cell;
          })))))));
  }

  async function load() {
    const errors = [];
    const byId = await Promise.all(jobIds.map((id) => fetchSignature(id).catch((error) => {
      errors.push(`${shortId(id)}: ${error.message}`);
      return null;
    })));
    const byLabel = await Promise.all(labels.map((label) =>
        api('/v1/signatures', [['labels', label], ['view', 'FULL'], ['page_size', 50]])
            .then((r) => r.signatures || [])
            .catch((error) => { errors.push(`${label}: ${error.message}`); return []; })));
    const seen = new Set();
    signatures = [...byId.filter(Boolean), ...byLabel.flat()].filter((s) => {
      if (seen.has(s.job.job_id)) return false;
      seen.add(s.job.job_id);
      return true;
    });
    const notReady = signatures.filter((s) => s.job.state !== 'SUCCEEDED');
    signatures = signatures.filter((s) => s.job.state === 'SUCCEEDED');
    for (const s of notReady) errors.push(`${jobTitle(s.job)} is ${s.job.state}: no signature`);
    message.replaceChildren(...errors.map((e) => h('div', {class: 'error'}, e)));
    renderLegend();
    redraw();
    renderDistances();
  }
  load();
}

// The server's version, workers and queue in the top bar.
async function serverStatus() {
  const host = document.getElementById('server-status');
  try {
    const info = await api('/v1/info');
    const workers = info.workers || [];
    const busy = workers.filter((w) => w.job_id).length;
    const caller = info.caller || {};
    host.replaceChildren(
      h('span', {title: workers.map((w) => `${w.name} (${w.device}) ${w.job_id ? 'busy' : 'idle'}`)
                              .join('\n')}, `${workers.length} worker(s), ${busy} busy`),
      h('span', null, `${info.queued_jobs} queued`),
      h('span', {class: 'muted'}, `v${info.version}`),
      token() ? h('span', {class: 'caller'}, `${caller.user} (${caller.role}) `,
                  h('a', {href: '#', onclick: (event) => { event.preventDefault(); signOut(); }},
                    'sign out'))
              : '');
  } catch (error) {
    host.replaceChildren(h('span', {class: 'error-text'},
                           error.status === 401 ? 'signed out' : 'server unreachable'));
  }
}

function route() {
  const path = location.pathname;
  const jobMatch = path.match(/^\/jobs\/([^/]+)$/);
  const section = jobMatch || path === '/' ? 'jobs' : 'overlay';
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('active', link.dataset.nav === section);
  }
  if (jobMatch) jobPage(decodeURIComponent(jobMatch[1]));
  else if (path === '/overlay') overlayPage();
  else jobsPage();
}

serverStatus();
setInterval(() => { if (!document.hidden) serverStatus(); }, 5000);
route();
