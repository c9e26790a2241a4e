// Shared helpers of the Newswire pages: DOM building, escaping, fetch with problem+json
// handling, URL state and number/date formatting. No dependencies, no build step.

/** Escape text for use inside HTML (text and attribute values). */
export function escapeHtml(text) {
  return String(text ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** A highlight snippet made safe: everything escaped, then only <mark> and </mark> allowed back. */
export function safeSnippet(html) {
  return escapeHtml(decodeEntities(html))
    .replaceAll("&lt;mark&gt;", "<mark>")
    .replaceAll("&lt;/mark&gt;", "</mark>");
}

/**
 * The API's highlights are HTML-escaped text with <mark> tags (Elasticsearch's html encoder):
 * turn its entities back into characters first, so that escaping again does not show "&amp;".
 * Only entities are decoded: a literal "<" stays text (it is escaped before parsing), and the
 * parsing happens in an inert document that runs no script and loads nothing.
 */
export function decodeEntities(html) {
  const text = String(html ?? "");
  if (!text.includes("&")) return text;
  const markup = `<!doctype html><body>${text.replaceAll("<", "&lt;")}`;
  return new DOMParser().parseFromString(markup, "text/html").body.textContent;
}

/**
 * Build an element: el("a", {href: "/", class: "x", onclick: fn}, "text", otherNode).
 * Children are text (always inserted as text, never parsed as HTML), nodes, or arrays of them;
 * null/undefined/false children are skipped. Attributes set to null/false are omitted.
 */
export function el(tag, attrs = {}, ...children) {
  const svg = SVG_TAGS.has(tag);
  const node = svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (!svg && (key === "checked" || key === "value" || key === "selected")) {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

/** Replace a node's children, with el()'s rules for children (null and false skipped). */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

const SVG_TAGS = new Set(["svg", "g", "rect", "line", "polyline", "path", "text", "title"]);

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An error from the API (RFC 9457 problem details) or from the network. */
export class Problem extends Error {
  constructor({ title = "Error", status = 0, detail = "", code = "", type = "" } = {}) {
    super(detail || title);
    this.title = title;
    this.status = status;
    this.detail = detail;
    this.code = code;
    this.type = type;
  }
}

/**
 * GET (or other) JSON; throws a Problem for every failure, with the server's detail when it
 * sent problem+json. `signal` lets a newer request abort an older one.
 */
export async function fetchJson(url, { signal, ...init } = {}) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, signal, ...init });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new Problem({ title: "Network error", detail: "The server could not be reached." });
  }
  const type = response.headers.get("content-type") || "";
  let body = null;
  if (type.includes("json")) {
    try {
      body = await response.json();
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    if (body && typeof body === "object" && (body.detail || body.title)) {
      throw new Problem({ status: response.status, ...body });
    }
    throw new Problem({
      title: response.statusText || "Error",
      status: response.status,
      detail: `The server answered ${response.status}.`,
    });
  }
  if (body === null) {
    throw new Problem({ title: "Bad response", status: response.status, detail: "Expected JSON." });
  }
  return body;
}

/** An inline error box for a Problem (role=alert so screen readers announce it). */
export function problemBox(err) {
  const status = err.status ? ` (${err.status})` : "";
  return el(
    "div",
    { class: "problem", role: "alert" },
    el("strong", {}, `${err.title || "Error"}${status}: `),
    err.detail || err.message || "Something went wrong.",
    err.code ? el("span", { class: "problem-code" }, ` [${err.code}]`) : null,
  );
}

// ---- URL state --------------------------------------------------------------------------

/**
 * Read the page state from the query string. `spec` maps each key to its kind:
 * "string", "list" (repeatable parameter) or a default value (string).
 */
export function readState(spec, search = window.location.search) {
  const params = new URLSearchParams(search);
  const state = {};
  for (const [key, kind] of Object.entries(spec)) {
    if (kind === "list") state[key] = params.getAll(key).filter(Boolean);
    else state[key] = params.get(key) ?? (kind === "string" ? "" : kind);
  }
  return state;
}

/** The query string for a state: empty values and values equal to their default are left out. */
export function stateToParams(state, spec) {
  const params = new URLSearchParams();
  for (const [key, kind] of Object.entries(spec)) {
    const value = state[key];
    if (kind === "list") {
      for (const item of value ?? []) params.append(key, item);
    } else if (value && value !== kind) {
      params.set(key, value);
    }
  }
  return params;
}

/** Put the state in the URL: pushState for user actions (back works), replaceState otherwise. */
export function writeState(state, spec, { push = true } = {}) {
  const query = stateToParams(state, spec).toString();
  const url = `${window.location.pathname}${query ? `?${query}` : ""}`;
  if (url === `${window.location.pathname}${window.location.search}`) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

// ---- formatting -------------------------------------------------------------------------

const numberFormat = new Intl.NumberFormat("en");

/** 12345 -> "12,345" (en dash for missing values). */
export function fmtNumber(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (!digits) return numberFormat.format(Math.round(value));
  return value.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** "2020-01-08" -> "8 Jan 2020" (dates are calendar days: no time zone shift). */
export function fmtDate(iso) {
  if (!iso) return "";
  const day = parseDay(iso.slice(0, 10));
  if (!day) return iso;
  return day.toLocaleDateString("en-GB", {
    day: "numeric",
    month: "short",
    year: "numeric",
    timeZone: "UTC",
  });
}

/** An ISO timestamp in UTC, minute precision: "8 Jan 2020, 03:36 UTC". */
export function fmtDateTime(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return iso;
  const text = moment.toLocaleString("en-GB", {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "UTC",
  });
  return `${text} UTC`;
}

/** Seconds as a short duration: 0.4 -> "0.4 s", 125 -> "2 min 5 s", 7300 -> "2 h 1 min". */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds === 0) return "0 s";
  if (seconds < 10) return `${fmtNumber(seconds, 1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  if (seconds < 86400) {
    return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
  }
  return `${fmtNumber(seconds / 86400, 1)} d`;
}

/** "3 articles", "1 article". */
export function plural(count, noun) {
  return `${fmtNumber(count)} ${noun}${count === 1 ? "" : "s"}`;
}

/** "YYYY-MM-DD" -> a Date at 00:00 UTC, or null. */
export function parseDay(text) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text || "")) return null;
  const day = new Date(`${text}T00:00:00Z`);
  return Number.isNaN(day.getTime()) ? null : day;
}

/** A Date -> "YYYY-MM-DD" (UTC). */
export function isoDay(day) {
  return day.toISOString().slice(0, 10);
}

/** Announce a message to screen readers through a polite live region. */
export function announce(region, message) {
  if (region.textContent !== message) region.textContent = message;
}
