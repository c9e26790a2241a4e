// The pipeline page: polls /v1/pipeline/status every 2 s and draws what it says. Rates are
// computed here from successive polls: the change of the summed end offsets (ingest) and of
// the summed committed offsets (indexing) divided by the time between the polls.

import { announce, el, fetchJson, fmtDateTime, fmtDuration, fmtNumber, problemBox } from "./ui.js";

const POLL_MS = 2000;
const WINDOW_S = 300; // the charts show the last five minutes
const $ = (id) => document.getElementById(id);

const samples = []; // [{t (s), end, committed}] of the polls inside the window
const rates = { ingest: [], index: [] }; // [{t, value}] per chart
let timer = null;
let polling = false; // a poll is in flight
let failures = 0;

// ---- reading the status -----------------------------------------------------------------

const num = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);

/**
 * The status reply in the shape this page draws. The API answers
 * {kafka: {partitions: [{partition, end_offset, committed_offset, lag, lag_seconds, status}],
 *          total_lag, dlq_depth, group_members} | {error},
 *  index: {documents, newest: {id, indexed_at}, freshness_seconds} | {error},
 *  health: {name: "up" | "down" | "unhealthy"}}.
 */
function normalize(raw) {
  const kafka = raw.kafka || {};
  const index = raw.index || {};
  const partitions = (kafka.partitions || []).map((p) => ({
    partition: p.partition,
    end: num(p.end_offset),
    committed: num(p.committed_offset),
    lag: num(p.lag),
    lagSeconds: num(p.lag_seconds),
    status: String(p.status ?? "unknown"),
  }));
  return {
    partitions,
    kafkaError: kafka.error ?? null,
    totalLag: num(kafka.total_lag) ?? sum(partitions, "lag"),
    maxLagSeconds: maxOf(partitions, "lagSeconds"),
    members: num(kafka.group_members),
    group: kafka.group ?? null,
    dlqDepth: num(kafka.dlq_depth),
    indexError: index.error ?? null,
    docCount: num(index.documents),
    newest: index.newest ?? null,
    freshness: num(index.freshness_seconds),
    health: Object.entries(raw.health || {}).map(([name, value]) => ({ name, status: String(value) })),
  };
}

function maxOf(rows, key) {
  const known = rows.map((r) => r[key]).filter((v) => v !== null);
  return known.length ? Math.max(...known) : null;
}

function sum(rows, key) {
  if (!rows.length || rows.some((r) => r[key] === null)) return null;
  return rows.reduce((total, r) => total + r[key], 0);
}

// ---- rates ------------------------------------------------------------------------------

function recordSample(status) {
  const t = performance.now() / 1000;
  const end = sum(status.partitions, "end");
  const committed = sum(status.partitions, "committed");
  const previous = samples[samples.length - 1];
  samples.push({ t, end, committed });
  if (previous) {
    const dt = t - previous.t;
    // A negative delta is a rewind or a recreated topic, not a negative rate: show 0.
    const rate = (now, then) => (now === null || then === null ? null : Math.max(0, now - then) / dt);
    rates.ingest.push({ t, value: rate(end, previous.end) });
    rates.index.push({ t, value: rate(committed, previous.committed) });
  }
  for (const list of [samples, rates.ingest, rates.index]) {
    while (list.length && list[0].t < t - WINDOW_S) list.shift();
  }
}

/** A small line chart of the rates over the window (y from 0 to the largest value). */
function lineChart(points, label) {
  const now = performance.now() / 1000;
  // Until the window has filled, the x axis spans the time since the first poll (at least 20 s).
  const span = Math.min(WINDOW_S, Math.max(20, now - (samples[0]?.t ?? now)));
  const known = points.filter((p) => p.value !== null);
  const max = Math.max(1, ...known.map((p) => p.value));
  const xy = known.map((p) => {
    const x = Math.max(0, (p.t - (now - span)) / span) * 300;
    const y = 60 - (p.value / max) * 56;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const children = [el("line", { class: "base", x1: 0, y1: 60, x2: 300, y2: 60 })];
  if (xy.length > 1) {
    const [firstX] = xy[0].split(",");
    const [lastX] = xy[xy.length - 1].split(",");
    children.push(el("path", { class: "area", d: `M${firstX},60 L${xy.join(" L")} L${lastX},60 Z` }));
    children.push(el("polyline", { class: "line", points: xy.join(" ") }));
  }
  const summary = known.length
    ? `${label}: latest ${fmtNumber(known[known.length - 1].value, 1)} records/s, peak ${fmtNumber(max === 1 && !known.some((p) => p.value) ? 0 : max, 1)} records/s over the last ${WINDOW_S / 60} minutes.`
    : `${label}: waiting for a second poll.`;
  const axis = el(
    "div",
    { class: "spark-axis", "aria-hidden": "true" },
    el("span", {}, `${Math.round(span)} s ago`),
    el("span", {}, known.length ? `top ${fmtNumber(max, 1)}/s` : ""),
    el("span", {}, "now"),
  );
  const svg = el(
    "svg",
    { class: "spark", viewBox: "0 0 300 62", preserveAspectRatio: "none", role: "img", "aria-label": summary },
    el("title", {}, summary),
    children,
  );
  return [svg, axis];
}

// ---- drawing ----------------------------------------------------------------------------

function badge(status) {
  return el("span", { class: `badge status-${status.replace(/[^A-Za-z0-9_-]/g, "")}` }, status);
}

function render(status) {
  const latest = (list) => list.length ? list[list.length - 1].value : null;
  const ingest = latest(rates.ingest);
  const index = latest(rates.index);
  $("ingest-rate").textContent = ingest === null ? "–" : fmtNumber(ingest, 1);
  $("index-rate").textContent = index === null ? "–" : fmtNumber(index, 1);
  $("ingest-chart").replaceChildren(...lineChart(rates.ingest, "Ingest rate"));
  $("index-chart").replaceChildren(...lineChart(rates.index, "Indexing rate"));

  $("total-lag").textContent = fmtNumber(status.totalLag);
  $("lag-seconds").textContent =
    status.maxLagSeconds ? `The oldest waiting record is ${fmtDuration(status.maxLagSeconds)} old.` : "";
  const worst = worstStatus(status.partitions);
  $("overall-status").replaceChildren(
    ...(worst ? [badge(worst), " "] : []),
    status.members !== null
      ? `${status.members} indexer ${status.members === 1 ? "instance" : "instances"} in the group`
      : "",
  );
  $("kafka-problem").replaceChildren(status.kafkaError ? problemBox({ title: "Kafka", detail: status.kafkaError }) : "");

  const rows = status.partitions.map((p) =>
    el(
      "tr",
      {},
      el("th", { scope: "row" }, String(p.partition)),
      el("td", {}, fmtNumber(p.end)),
      el("td", {}, fmtNumber(p.committed)),
      el("td", { class: "lag" }, fmtNumber(p.lag)),
      el("td", {}, fmtDuration(p.lagSeconds)),
      el("td", {}, badge(p.status)),
    ),
  );
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "6" }, "No partitions reported.")));
  $("partitions").tBodies[0].replaceChildren(...rows);

  $("dlq-depth").textContent = fmtNumber(status.dlqDepth);

  $("doc-count").textContent = fmtNumber(status.docCount);
  $("freshness").textContent =
    status.freshness !== null ? `Last document indexed ${fmtDuration(status.freshness)} ago.` : "";
  renderNewest(status.newest);
  $("index-problem").replaceChildren(
    status.indexError ? problemBox({ title: "Elasticsearch", detail: status.indexError }) : "",
  );

  $("health").replaceChildren(
    ...status.health.map((h) =>
      el("li", {}, el("span", { class: "health-name" }, h.name), badge(h.status)),
    ),
  );
}

// From worst to best: the badge of the lag card shows the worst partition's status.
const SEVERITY = ["STALL", "REWIND", "STOP", "WARN", "OK"];

function worstStatus(partitions) {
  const ranks = partitions.map((p) => SEVERITY.indexOf(p.status)).filter((r) => r >= 0);
  return ranks.length ? SEVERITY[Math.min(...ranks)] : null;
}

const titles = new Map(); // article id -> title, fetched once per newest article

function renderNewest(newest) {
  const box = $("newest");
  if (!newest?.id) {
    box.replaceChildren();
    return;
  }
  const { id } = newest;
  if (!titles.has(id)) {
    titles.set(id, id); // the id until the title arrives (and if it never does)
    fetchJson(`/v1/articles/${encodeURIComponent(id)}`)
      .then((article) => {
        titles.set(id, article.title);
        if (box.dataset.id === id) box.querySelector("a").textContent = article.title;
      })
      .catch(() => {});
  }
  box.dataset.id = id;
  const when = newest.indexed_at ? ` (indexed ${fmtDateTime(newest.indexed_at)})` : "";
  box.replaceChildren("Newest: ", el("a", { href: `/?article=${encodeURIComponent(id)}` }, titles.get(id)), when);
}

// ---- polling ----------------------------------------------------------------------------

async function poll() {
  timer = null;
  if (polling) return;
  polling = true;
  try {
    const status = normalize(await fetchJson("/v1/pipeline/status"));
    failures = 0;
    recordSample(status);
    render(status);
    $("pipeline-problem").replaceChildren();
    setLive("", `Live · updated ${new Date().toLocaleTimeString("en-GB")}`);
  } catch (err) {
    failures += 1;
    $("pipeline-problem").replaceChildren(problemBox(err));
    setLive("failing", `Status unavailable (${failures} failed ${failures === 1 ? "poll" : "polls"})`);
  } finally {
    polling = false;
  }
  schedule();
}

function setLive(kind, text) {
  $("live").className = `live ${kind}`;
  // Not a live region: a change every 2 s would drown a screen reader.
  announce($("live-text"), text);
}

function schedule() {
  // One poll at a time (no overlap on a slow server), and none while the tab is hidden.
  if (timer === null && !document.hidden) timer = setTimeout(poll, POLL_MS);
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(timer);
    timer = null;
    setLive("paused", "Paused while the tab is hidden");
  } else if (timer === null) {
    poll();
  }
});

poll();
