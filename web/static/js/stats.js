// The Stats view: runs analytics jobs on the cluster (the same operations
// as `parley analytics`, over the WebSocket) and draws their rows: bars
// for the counting jobs, a 7×24 hour-of-week heatmap for activity, and a
// list of search hits that jump to their room.

import { h } from "../vendor/preact.mjs";
import htm from "../vendor/htm.mjs";
import { conn, changed } from "./store.js";

const html = htm.bind(h);

/** The jobs the view draws, and how. */
export const CHARTS = [
  { job: "messages-per-user", label: "Messages per user", kind: "bars" },
  { job: "messages-per-room", label: "Messages per room", kind: "bars" },
  { job: "top-words", label: "Top words", kind: "bars" },
  { job: "activity", label: "Activity by hour of week", kind: "heatmap" },
];

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** T is the view's state: the chosen chart, the last result, the search. */
const T = {
  job: CHARTS[0].job,
  running: false,
  progress: null,
  rows: null,
  rowsJob: "",
  error: "",
  query: "",
  searching: false,
  hits: null,
  searchError: "",
};

/** value decodes a row's value: JSON, which Go's encoding sends as base64. */
function value(row) {
  if (row.Value == null) return null;
  try {
    return JSON.parse(atob(row.Value));
  } catch {
    return null;
  }
}

/**
 * run starts job with params and polls it to its end, calling onProgress
 * on the way; it resolves to the job's rows. Progress comes from polls
 * (analytics.poll), about five times a second, as in the Go SDK.
 */
export async function run(job, params, onProgress) {
  const started = await conn.call("analytics.start", { Job: job, Params: { Rooms: null, ...params } });
  const rows = [];
  for (;;) {
    const r = await conn.call("analytics.poll", { JobID: started.JobID, From: rows.length });
    onProgress(r.Progress);
    if (r.Cancelled || (r.Done && r.Error)) throw r.Error;
    if (r.Done) {
      rows.push(...(r.Rows || []));
      if (rows.length >= (r.Total || 0)) return rows;
      if (!(r.Rows || []).length) throw { Message: `result: ${rows.length} of ${r.Total} rows` };
      continue;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

async function runChart() {
  if (T.running) return;
  T.running = true;
  T.error = "";
  T.rows = null;
  T.progress = null;
  T.rowsJob = T.job;
  changed();
  try {
    T.rows = await run(T.rowsJob, {}, (p) => ((T.progress = p), changed()));
  } catch (e) {
    T.error = (e && e.Message) || String(e);
  }
  T.running = false;
  changed();
}

async function runSearch(e) {
  e.preventDefault();
  const q = e.target.query.value.trim();
  if (!q || T.searching) return;
  T.query = q;
  T.searching = true;
  T.searchError = "";
  T.hits = null;
  changed();
  try {
    T.hits = (await run("search", { Query: q, Limit: 50 }, () => {})).map((r) => r.Msg).filter(Boolean);
  } catch (e) {
    T.searchError = (e && e.Message) || String(e);
  }
  T.searching = false;
  changed();
}

function Progress({ p }) {
  if (!p) return html`<span class="hint" data-testid="stats-progress">starting…</span>`;
  const pct = p.TasksTotal ? Math.round((100 * p.TasksDone) / p.TasksTotal) : 0;
  return html`<span class="hint" data-testid="stats-progress">${pct}% · ${p.TasksDone}/${p.TasksTotal} tasks · ${p.Scanned} of ${p.Messages} messages</span>`;
}

function Bars({ rows }) {
  const vals = rows.map(value);
  const top = Math.max(1, ...vals.map((v) => (typeof v === "number" ? v : 0)));
  return html`<ol class="bars" data-testid="stats-chart">
    ${rows.map(
      (r, i) => html`<li data-testid="stat-row" data-key=${r.Key} data-value=${vals[i]}>
        <span class="key" title=${r.Key}>${r.Key}</span>
        <span class="bar"><span style=${{ width: `${(100 * vals[i]) / top}%` }}></span></span>
        <span class="val">${vals[i]}</span>
      </li>`,
    )}
  </ol>`;
}

/** Heatmap sums the activity rows ("who Mon 09") into a weekday × hour grid. */
function Heatmap({ rows }) {
  const grid = DAYS.map(() => new Array(24).fill(0));
  for (const r of rows) {
    const parts = r.Key.split(" ");
    const d = DAYS.indexOf(parts[parts.length - 2]);
    const hour = Number(parts[parts.length - 1]);
    if (d >= 0 && hour >= 0 && hour < 24) grid[d][hour] += value(r) || 0;
  }
  const top = Math.max(1, ...grid.flat());
  return html`<table class="heatmap" data-testid="stats-chart">
    <thead><tr><th></th>${grid[0].map((_, hr) => html`<th>${hr % 3 === 0 ? hr : ""}</th>`)}</tr></thead>
    <tbody>
      ${grid.map(
        (row, d) => html`<tr>
          <th>${DAYS[d]}</th>
          ${row.map(
            (n, hr) => html`<td data-testid="heat-cell" data-day=${DAYS[d]} data-hour=${hr} data-value=${n}
              title=${`${DAYS[d]} ${String(hr).padStart(2, "0")}:00 UTC: ${n} messages`}
              style=${{ "--heat": String(n ? 0.15 + (0.85 * n) / top : 0) }}></td>`,
          )}
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function fmtWhen(ts) {
  const d = new Date(typeof ts === "number" ? ts / 1e6 : ts);
  return d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function Hits() {
  if (T.searchError) return html`<p class="error" role="alert" data-testid="search-error">${T.searchError}</p>`;
  if (T.searching) return html`<p class="hint">searching…</p>`;
  if (!T.hits) return null;
  if (!T.hits.length) return html`<p class="hint" data-testid="search-none">No messages match.</p>`;
  return html`<ol class="hits" data-testid="search-hits">
    ${T.hits.map(
      (m) => html`<li>
        <a href="#/room/${encodeURIComponent(m.Room)}" data-testid="search-hit" data-room=${m.Room} data-seq=${m.Seq} data-user=${m.User}>
          <span class="where">#${m.Room} <span class="seq">· ${m.Seq}</span></span>
          <span class="user">${m.User}</span>
          <time>${fmtWhen(m.TS)}</time>
          <span class="text">${m.Text}</span>
        </a>
      </li>`,
    )}
  </ol>`;
}

/** StatsView is the page at #/stats; menu is the narrow screens' room button. */
export function StatsView({ menu }) {
  const chart = CHARTS.find((c) => c.job === T.job);
  const shown = T.rows;
  const drawn = CHARTS.find((c) => c.job === T.rowsJob) || chart;
  return html`<section class="room stats" data-testid="stats">
    <header class="room-head">${menu}<h1>Stats</h1></header>
    <div class="pad">
      <form class="stats-controls" onSubmit=${(e) => (e.preventDefault(), runChart())}>
        <select data-testid="stats-job" value=${T.job} onChange=${(e) => ((T.job = e.target.value), changed())}>
          ${CHARTS.map((c) => html`<option value=${c.job}>${c.label}</option>`)}
        </select>
        <button type="submit" data-testid="stats-run" disabled=${T.running}>${T.running ? "Running…" : "Run"}</button>
        ${(T.running || T.progress) && html`<${Progress} p=${T.progress} />`}
      </form>
      ${T.error && html`<p class="error" role="alert" data-testid="stats-error">${T.error}</p>`}
      ${shown && !shown.length && html`<p class="hint">No messages.</p>`}
      ${shown && shown.length > 0 && (drawn.kind === "heatmap" ? html`<${Heatmap} rows=${shown} />` : html`<${Bars} rows=${shown} />`)}
      <h2>Search</h2>
      <form class="search" onSubmit=${runSearch}>
        <input name="query" data-testid="search-input" placeholder="a regular expression, such as pizza|coffee" value=${T.query} />
        <button type="submit" data-testid="search-run" disabled=${T.searching}>Search</button>
      </form>
      <${Hits} />
    </div>
  </section>`;
}
