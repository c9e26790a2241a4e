// The pipeline page: polls /v1/pipeline/status every 2 s and draws what it says. Rates are
// computed here from successive polls: the change of the summed end offsets (ingest) and of
// the summed committed offsets (indexing) divided by the time between the polls.

import {
  announce,
  el,
  fetchJson,
  fmtDateTime,
  fmtDuration,
  fmtNumber,
  plural,
  problemBox,
} from "./ui.js";

const POLL_MS = 2000;
const WINDOW_S = 300; // the charts show at most the last five minutes
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
 *  alerts: {alerts, events_per_s, matcher_lag, embargoes_waiting, deliveries_in_flight,
 *           failing_webhooks, oldest_delivery_wait_s} | {error},
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
    dlqDepth: num(kafka.dlq_depth),
    indexError: index.error ?? null,
    docCount: num(index.documents),
    newest: index.newest ?? null,
    freshness: num(index.freshness_seconds),
    alerts: raw.alerts ?? { error: "not reported" },
    health: Object.entries(raw.health || {}).map(([name, value]) => ({ name, status: `${value}` })),
    cluster: raw.cluster ?? null,
  };
}

function maxOf(rows, key) {
  const known = rows.map((r) => r[key]).filter((v) => v !== null);
  return known.length ? Math.max(...known) : null;
}

/** The sum of a column, or null when a value is missing (no topic yet, Kafka down). */
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

/** A small line chart of a rate over the window, y from 0 to its peak; [svg, axis labels]. */
function lineChart(points, label) {
  const now = performance.now() / 1000;
  // Until the window has filled, the x axis spans the time since the first poll (at least 20 s).
  const span = Math.min(WINDOW_S, Math.max(20, now - (samples[0]?.t ?? now)));
  const known = points.filter((p) => p.value !== null);
  const peak = Math.max(0, ...known.map((p) => p.value));
  const top = Math.max(1, peak); // a flat zero line sits at the bottom, not mid-height
  const xy = known.map((p) => {
    const x = Math.max(0, (p.t - (now - span)) / span) * 300;
    const y = 60 - (p.value / top) * 56;
    return [x.toFixed(1), y.toFixed(1)];
  });
  const line = xy.map(([x, y]) => `${x},${y}`).join(" ");
  const shapes = [el("line", { class: "base", x1: 0, y1: 60, x2: 300, y2: 60 })];
  if (xy.length > 1) {
    const area = `M${xy[0][0]},60 L${line.replaceAll(" ", " L")} L${xy[xy.length - 1][0]},60 Z`;
    shapes.push(el("path", { class: "area", d: area }));
    shapes.push(el("polyline", { class: "line", points: line }));
  }
  const latest = known.length ? known[known.length - 1].value : null;
  const summary =
    latest === null
      ? `${label}: waiting for a second poll.`
      : `${label}: now ${fmtNumber(latest, 1)} records/s, ` +
        `peak ${fmtNumber(peak, 1)} records/s in the last ${Math.round(span)} s.`;
  const svg = el(
    "svg",
    {
      class: "spark",
      viewBox: "0 0 300 62",
      preserveAspectRatio: "none",
      role: "img",
      "aria-label": summary,
    },
    el("title", {}, summary),
    shapes,
  );
  const axis = el(
    "div",
    { class: "spark-axis", "aria-hidden": "true" },
    el("span", {}, `${Math.round(span)} s ago`),
    el("span", {}, known.length ? `top ${fmtNumber(top, 1)}/s` : ""),
    el("span", {}, "now"),
  );
  return [svg, axis];
}

// ---- drawing ----------------------------------------------------------------------------

function badge(status) {
  return el("span", { class: `badge status-${status.replace(/[^A-Za-z0-9_-]/g, "")}` }, status);
}

// From worst to best: the lag card shows the worst partition's status.
const SEVERITY = ["STALL", "REWIND", "STOP", "WARN", "OK"];

function worstStatus(partitions) {
  const ranks = partitions.map((p) => SEVERITY.indexOf(p.status)).filter((r) => r >= 0);
  return ranks.length ? SEVERITY[Math.min(...ranks)] : null;
}

function render(status) {
  for (const key of ["ingest", "index"]) {
    const list = rates[key];
    const latest = list.length ? list[list.length - 1].value : null;
    $(`${key}-rate`).textContent = latest === null ? "–" : fmtNumber(latest, 1);
  }
  $("ingest-chart").replaceChildren(...lineChart(rates.ingest, "Ingest rate"));
  $("index-chart").replaceChildren(...lineChart(rates.index, "Indexing rate"));

  $("total-lag").textContent = fmtNumber(status.totalLag);
  $("lag-seconds").textContent = status.maxLagSeconds
    ? `The oldest waiting record is ${fmtDuration(status.maxLagSeconds)} old.`
    : "";
  const worst = worstStatus(status.partitions);
  const members = status.members === null ? "" : `${plural(status.members, "indexer")} in the group`;
  $("overall-status").replaceChildren(...(worst ? [badge(worst), " "] : []), members);
  $("kafka-problem").replaceChildren(
    ...(status.kafkaError ? [problemBox({ title: "Kafka", detail: status.kafkaError })] : []),
  );

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
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "6" }, "No partitions yet.")));
  $("partitions").tBodies[0].replaceChildren(...rows);

  $("dlq-depth").textContent = fmtNumber(status.dlqDepth);
  // Ask for the rejects only when their number changed: one small request, not one per poll.
  if (status.dlqDepth !== lastDlqDepth) {
    lastDlqDepth = status.dlqDepth;
    loadRejects();
  }

  $("doc-count").textContent = fmtNumber(status.docCount);
  $("freshness").textContent =
    status.freshness === null ? "" : `Last document indexed ${fmtDuration(status.freshness)} ago.`;
  renderNewest(status.newest);
  $("index-problem").replaceChildren(
    ...(status.indexError ? [problemBox({ title: "Elasticsearch", detail: status.indexError })] : []),
  );

  renderAlerts(status.alerts);

  $("health").replaceChildren(
    ...status.health.map((h) =>
      el("li", {}, el("span", { class: "health-name" }, h.name), badge(h.status)),
    ),
  );
  renderCluster(status.cluster);
}

/** Per broker and per node health, and what a missing member costs (copies, shards). */
function renderCluster(cluster) {
  const kafka = cluster?.kafka ?? {};
  const search = cluster?.elasticsearch ?? {};
  const facts = [];
  if (kafka.error) facts.push(kafka.error);
  else if (kafka.brokers) {
    facts.push(
      `${plural(kafka.under_replicated_partitions, "under-replicated partition")}, ` +
        `${fmtNumber(kafka.offline_partitions)} offline`,
    );
  }
  if (search.error) facts.push(search.error);
  else if (search.status) {
    facts.push(`Elasticsearch ${search.status}, ${plural(search.unassigned_shards, "unassigned shard")}`);
  }
  $("cluster-summary").textContent = facts.join(" · ");
  $("brokers").replaceChildren(
    ...(kafka.brokers ?? []).map((b) =>
      el("li", {},
        el("span", { class: "health-name" }, `broker ${b.id} ${b.address ?? ""}`,
          el("span", { class: "sub" }, ` · leads ${plural(b.leaders, "partition")}`)),
        badge(b.state),
      ),
    ),
  );
  $("nodes").replaceChildren(
    ...(search.nodes ?? []).map((n) =>
      el("li", {},
        el("span", { class: "health-name" }, `${n.name ?? "?"} ${n.address}${n.master ? " (master)" : ""}`),
        badge(n.state),
      ),
    ),
  );
}

/** Saved searches: how many, events per second, the matcher's lag, the webhooks' state. */
function renderAlerts(alerts) {
  if (alerts.error) {
    $("alerts-count").textContent = "–";
    $("alerts-rate").textContent = "";
    $("alerts-webhooks").textContent = "";
    $("alerts-problem").replaceChildren(problemBox({ title: "Alerts", detail: alerts.error }));
    return;
  }
  $("alerts-problem").replaceChildren();
  $("alerts-count").textContent = fmtNumber(num(alerts.alerts));
  $("alerts-rate").textContent =
    `${fmtNumber(num(alerts.events_per_s), 1)} events/s; matcher ${fmtNumber(num(alerts.matcher_lag))} records behind.`;
  const failing = num(alerts.failing_webhooks) ?? 0;
  const wait = num(alerts.oldest_delivery_wait_s) ?? 0;
  $("alerts-webhooks").replaceChildren(
    ...(failing ? [badge("WARN"), " "] : []),
    `${plural(failing, "failing webhook")}; ${fmtNumber(num(alerts.deliveries_in_flight))} deliveries in flight` +
      (wait ? `, the oldest waiting ${fmtDuration(wait)}.` : "."),
  );
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
  const link = el("a", { href: `/?article=${encodeURIComponent(id)}` }, titles.get(id));
  const when = newest.indexed_at ? ` (indexed ${fmtDateTime(newest.indexed_at)})` : "";
  box.replaceChildren("Newest: ", link, when);
}

// ---- latest rejects -----------------------------------------------------------------------

let lastDlqDepth = null;
const KEY_STORE = "newswire.operatorKey"; // this tab only: sessionStorage, never localStorage
let memoryKey = ""; // where the key stays when storage is disabled (until the page goes)

function operatorKey() {
  try {
    return sessionStorage.getItem(KEY_STORE) || "";
  } catch {
    return memoryKey;
  }
}

function rememberKey(key) {
  memoryKey = key;
  try {
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
  } catch {
    // Storage disabled: nothing to remember the key in.
  }
  $("operator-forget").hidden = !key;
}

function needsKey(text) {
  $("dlq-latest").replaceChildren(el("li", { class: "sub needs-key" }, text));
  $("embargo-list").replaceChildren(el("li", { class: "sub needs-key" }, "Needs the operator key."));
}

async function loadEmbargoes(key) {
  const list = $("embargo-list");
  try {
    const reply = await fetchJson("/v1/pipeline/embargoes?limit=10", {
      headers: { Accept: "application/json", Authorization: `Bearer ${key}` },
    });
    $("embargo-count").textContent = fmtNumber(reply.total);
    const items = reply.items.map((a) =>
      el("li", {}, el("span", {}, a.title), el("div", { class: "sub" }, `until ${a.embargoed}`)),
    );
    list.replaceChildren(...(items.length ? items : [el("li", { class: "sub" }, "None.")]));
  } catch (err) {
    list.replaceChildren(el("li", {}, problemBox(err)));
  }
}

async function loadRejects() {
  const list = $("dlq-latest");
  const key = operatorKey();
  if (!key) {
    needsKey("Showing rejects needs the operator key (they hold the raw payloads).");
    return;
  }
  try {
    const reply = await fetchJson("/v1/pipeline/dead-letters?limit=5", {
      headers: { Accept: "application/json", Authorization: `Bearer ${key}` },
    });
    const items = reply.items.map((d) =>
      el("li", {},
        el("span", { class: "badge" }, d.code),
        " ",
        el("span", { class: "reject-source" }, d.source || "unknown source"),
        el("div", { class: "sub" }, `${d.message} (${d.stage}, ${d.failed_at})`),
      ),
    );
    list.replaceChildren(...(items.length ? items : [el("li", { class: "sub" }, "None.")]));
    loadEmbargoes(key);
  } catch (err) {
    if (err.status !== 401) {
      list.replaceChildren(el("li", {}, problemBox(err)));
    } else if (err.code === "operator_key_unset") {
      needsKey("Showing rejects needs an operator key, and the server has none configured.");
    } else {
      rememberKey("");
      needsKey("The operator key was not accepted: showing rejects needs the operator key.");
    }
  }
}

$("operator-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const field = $("operator-key");
  rememberKey(field.value.trim());
  field.value = "";
  loadRejects();
});

$("operator-forget").addEventListener("click", () => {
  rememberKey("");
  loadRejects();
});

rememberKey(operatorKey()); // shows "Forget" when this tab already holds a key

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
    setLive("failing", `Status unavailable (${plural(failures, "failed poll")})`);
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
