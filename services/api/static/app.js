// The search page: query, facets, date histogram, infinite results and the article view.
// The whole state lives in the URL (see SPEC); every user action pushes a history entry, and
// popstate re-renders from the URL, so links are shareable and the back button works.

import {
  announce,
  el,
  fetchJson,
  fill,
  fmtDate,
  fmtDateTime,
  fmtNumber,
  isoDay,
  parseDay,
  plural,
  problemBox,
  readState,
  safeSnippet,
  writeState,
} from "./ui.js";

const ALL_FIELDS = "title,summary,body";
// Kinds of URL parameters: "string", "list" (repeatable) or the default value.
const SPEC = {
  q: "string",
  search_in: ALL_FIELDS,
  category: "list",
  handle: "list",
  from: "string",
  to: "string",
  has_tweets: "string",
  sort: "relevance",
  interval: "auto",
  article: "string",
};
const PAGE_SIZE = 20;
const MAX_BARS = 400; // beyond this the chart is unreadable: gaps are not filled in

const $ = (id) => document.getElementById(id);
const form = $("search-form");
const statusLine = $("result-status");
const list = $("result-list");
const moreButton = $("more");

let state = readState(SPEC);
let nextCursor = null;
let loading = false;
let controller = null; // aborts the search in flight when a newer one starts
let renderedSearchKey = null; // the search whose results are on screen
let buckets = []; // histogram buckets on screen: [{start, end, key, count}]

// More results as the end of the list scrolls into view.
const sentinel = $("sentinel");
const observer = new IntersectionObserver(
  (entries) => {
    if (entries.some((e) => e.isIntersecting) && !$("search-view").hidden) loadMore();
  },
  { rootMargin: "400px 0px" },
);

// ---- state <-> form ---------------------------------------------------------------------

function fillForm() {
  form.q.value = state.q;
  const fields = state.search_in.split(",");
  for (const box of form.querySelectorAll('input[name="search_in"]')) {
    box.checked = fields.includes(box.value);
  }
  form.from.value = state.from;
  form.to.value = state.to;
  form.has_tweets.value = state.has_tweets;
  form.sort.value = state.sort;
  $("interval").value = state.interval;
}

function searchInFromForm() {
  const fields = [...form.querySelectorAll('input[name="search_in"]:checked')].map((b) => b.value);
  // None ticked means "anywhere", as all ticked does.
  return fields.length ? fields.join(",") : ALL_FIELDS;
}

/** Change the state from a user action: URL entry pushed, results fetched anew. */
function update(changes, { refresh = false } = {}) {
  state = { ...state, ...changes, article: "" };
  writeState(state, SPEC, { push: true });
  if (refresh) renderedSearchKey = null; // the same search again: fetch it anew
  route();
}

// The key of what a search shows: the state without the article.
function searchKey(s) {
  return JSON.stringify({ ...s, article: "" });
}

// ---- search -----------------------------------------------------------------------------

/** The interval of the date histogram: chosen, or from the width of the date filter. */
function effectiveInterval(s) {
  if (s.interval !== "auto") return s.interval;
  const from = parseDay(s.from);
  const to = parseDay(s.to);
  if (!from || !to) return "month";
  const days = (to - from) / 86400000;
  if (days <= 92) return "day";
  if (days <= 730) return "week";
  if (days <= 366 * 20) return "month";
  return "year";
}

/** The words and filters of a search as API parameters (search and feed take the same). */
function selectionParams(s) {
  const params = new URLSearchParams();
  if (s.q) params.set("q", s.q);
  if (s.search_in && s.search_in !== ALL_FIELDS) params.set("search_in", s.search_in);
  for (const c of s.category) params.append("category", c);
  for (const h of s.handle) params.append("handle", h);
  if (s.from) params.set("from", s.from);
  if (s.to) params.set("to", s.to);
  if (s.has_tweets) params.set("has_tweets", s.has_tweets);
  return params;
}

/** The Atom feed of a search: its words and filters only (a feed is always newest first). */
function feedUrl(s) {
  const query = selectionParams(s).toString();
  return `/v1/feed${query ? `?${query}` : ""}`;
}

/** Point the Feed link and the page's feed <link> at the search on screen. */
function renderFeedLinks(s) {
  const href = feedUrl(s);
  $("feed-link").href = href;
  const alternate = $("feed-alternate");
  alternate.href = href;
  alternate.title = s.q ? `Newswire: ${s.q}` : "Newswire: latest articles";
}

function searchUrl(s, cursor) {
  const params = selectionParams(s);
  // Without words every article matches equally: "best match" then means the newest first.
  params.set("sort", !s.q && s.sort === "relevance" ? "newest" : s.sort);
  params.set("size", String(PAGE_SIZE));
  if (cursor) {
    params.set("cursor", cursor);
  } else {
    // Facets only with the first page: later pages change nothing in them.
    for (const f of ["category", "handle", "published"]) params.append("facet", f);
    params.set("interval", effectiveInterval(s));
  }
  return `/v1/search?${params}`;
}

async function runSearch() {
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  const key = searchKey(state);
  loading = true;
  nextCursor = null;
  moreButton.hidden = true;
  $("search-problem").replaceChildren();
  statusLine.classList.add("busy");
  document.body.setAttribute("aria-busy", "true");
  try {
    const page = await fetchJson(searchUrl(state, null), { signal });
    renderedSearchKey = key;
    list.replaceChildren(...page.items.map(resultItem));
    renderFacets(page.facets || {});
    $("histogram").hidden = false;
    renderHistogram(page.facets?.published || []);
    renderStatus(page);
    setCursor(page.next_cursor);
  } catch (err) {
    if (err.name === "AbortError") return;
    renderedSearchKey = null;
    list.replaceChildren();
    // Facets and chart of an older search would mislead next to the error.
    renderFacets({});
    $("histogram").hidden = true;
    announce(statusLine, "The search failed.");
    $("match-notice").hidden = true;
    $("search-problem").replaceChildren(problemBox(err));
  } finally {
    if (!signal.aborted) {
      loading = false;
      statusLine.classList.remove("busy");
      document.body.removeAttribute("aria-busy");
    }
  }
}

/** The next page through the cursor, appended to the list. */
async function loadMore() {
  if (loading || !nextCursor) return;
  loading = true;
  // Not `disabled`: that would take the keyboard focus away from the button.
  moreButton.setAttribute("aria-disabled", "true");
  const fromButton = document.activeElement === moreButton;
  const { signal } = controller;
  try {
    const page = await fetchJson(searchUrl(state, nextCursor), { signal });
    const first = list.children.length;
    list.append(...page.items.map(resultItem));
    setCursor(page.next_cursor);
    announce(statusLine, `${statusText(page)} Showing ${list.children.length}.`);
    // Keyboard users who pressed the button land on the first new result.
    if (fromButton && list.children[first]) list.children[first].querySelector("a")?.focus();
  } catch (err) {
    if (err.name === "AbortError") return;
    $("search-problem").replaceChildren(problemBox(err));
  } finally {
    // An aborted page belongs to an older search: the newer one owns `loading` now.
    if (!signal.aborted) loading = false;
    moreButton.removeAttribute("aria-disabled");
  }
}

function setCursor(cursor) {
  nextCursor = cursor || null;
  moreButton.hidden = !nextCursor;
  // Observing anew reports the sentinel's current visibility: a short page that leaves it on
  // screen loads the next one without waiting for a scroll that may never come.
  if (nextCursor) {
    observer.unobserve(sentinel);
    observer.observe(sentinel);
  }
}

function statusText(page) {
  const total = page.total ?? {};
  const value = typeof total === "number" ? total : total.value ?? page.items.length;
  const exact = typeof total === "number" ? true : total.exact !== false;
  const count = exact ? fmtNumber(value) : `More than ${fmtNumber(value)}`;
  const noun = value === 1 && exact ? "result" : "results";
  const about = state.q ? ` for “${state.q}”` : "";
  return `${count} ${noun}${about}.`;
}

const RELAXED = {
  most: "No story has all your words; showing stories with most of them.",
  any: "No story has all your words; showing stories with any of them.",
};

/** How the words matched, told honestly, and a correction to try when there is one. */
function renderMatchNotice(page) {
  const notice = $("match-notice");
  const parts = [];
  if (RELAXED[page.matched]) parts.push(el("span", {}, `${RELAXED[page.matched]} `));
  if (page.typo_tolerant) {
    parts.push(el("span", {}, "Nothing matched as typed: words spelled close to yours count too. "));
  }
  if (page.did_you_mean) {
    const params = new URLSearchParams(window.location.search);
    params.set("q", page.did_you_mean);
    params.delete("article");
    const link = { href: `/?${params}`, id: "did-you-mean", onclick: useSuggestion };
    parts.push(el("span", {}, "Did you mean "), el("a", link, page.did_you_mean), el("span", {}, "?"));
  }
  notice.replaceChildren(...parts);
  notice.hidden = parts.length === 0;
}

function useSuggestion(event) {
  if (!plainClick(event)) return;
  event.preventDefault();
  form.q.value = event.currentTarget.textContent;
  form.requestSubmit();
}

function renderStatus(page) {
  const took = page.took_ms !== undefined ? ` Search took ${fmtNumber(page.took_ms)} ms.` : "";
  announce(statusLine, statusText(page) + took);
  renderMatchNotice(page);
  if (!page.items.length) {
    list.replaceChildren(
      el("li", { class: "empty" }, "No article matches. Try fewer words or filters."),
    );
  }
}

/** The href of an article, keeping the search state so the way back restores it. */
function articleHref(id) {
  const params = new URLSearchParams(window.location.search);
  params.set("article", id);
  return `/?${params}`;
}

/** An element whose content is highlighted API text: only <mark> survives (see ui.js). */
function highlighted(tag, attrs, html) {
  const node = el(tag, attrs);
  // The only HTML the page ever parses: escaped first, <mark> allowed back.
  node.innerHTML = safeSnippet(html);
  return node;
}

function resultItem(item) {
  const link = { href: articleHref(item.id), dataset: { id: item.id }, onclick: openArticle };
  return el(
    "li",
    { class: "result" },
    el(
      "article",
      {},
      el(
        "h3",
        { class: "result-title" },
        item.title_html ? highlighted("a", link, item.title_html) : el("a", link, item.title),
      ),
      el(
        "p",
        { class: "meta" },
        el("span", { class: "category" }, item.category),
        el("time", { datetime: item.published_date }, fmtDate(item.published_date)),
        item.updated_at
          ? el("span", { class: "updated" }, `updated ${fmtDateTime(item.updated_at)}`)
          : null,
        item.has_tweets ? el("span", { class: "badge tweet-badge" }, "Tweets") : null,
      ),
      highlighted("p", { class: "snippet" }, item.snippet || ""),
      item.other_versions > 0 ? versionsControl(item) : null,
    ),
  );
}

/** "N more versions of this story": opens the story's other copies, fetched when asked for. */
function versionsControl(item) {
  const n = item.other_versions;
  const label = `${n} more version${n === 1 ? "" : "s"} of this story`;
  const list = el("ul", { class: "story-versions", hidden: true });
  const attrs = { type: "button", class: "more-versions", "aria-expanded": "false" };
  const button = el("button", attrs, label);
  button.addEventListener("click", async () => {
    const open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", String(!open));
    list.hidden = open;
    if (open || list.childElementCount) return;
    const url = `/v1/stories/${encodeURIComponent(item.story_id)}`;
    const reply = await fetchJson(url).catch((e) => e);
    if (reply instanceof Error) {
      list.replaceChildren(el("li", {}, problemBox(reply)));
      return;
    }
    list.replaceChildren(
      ...reply.items
        .filter((copy) => copy.id !== item.id)
        .map((copy) =>
          el(
            "li",
            {},
            el(
              "a",
              { href: articleHref(copy.id), dataset: { id: copy.id }, onclick: openArticle },
              copy.title,
            ),
            el(
              "span",
              { class: "meta" },
              el("span", { class: "category" }, copy.category),
              el("time", { datetime: copy.published_date }, fmtDate(copy.published_date)),
            ),
          ),
        ),
    );
  });
  return el("div", { class: "versions" }, button, list);
}

// ---- facets -----------------------------------------------------------------------------

function renderFacets(facets) {
  renderFacet("category-facet", "category", facets.category || [], (v) => v);
  renderFacet("handle-facet", "handle", facets.handle || [], (v) => `@${v}`);
  const ticked = state.category.length + state.handle.length;
  $("refine-count").textContent = ticked ? `(${ticked} selected)` : "";
}

// Facets fold away on phones (below the 760px breakpoint of style.css) and stay open on wide
// screens, where their summary is hidden.
const narrow = window.matchMedia("(max-width: 760px)");
function fitRefine() {
  $("refine").open = !narrow.matches;
}
narrow.addEventListener("change", fitRefine);
fitRefine();

/** Checkboxes with counts; selected values stay listed even when their count drops to 0. */
function renderFacet(id, key, entries, label) {
  const box = $(id);
  const active = document.activeElement;
  const focused = box.contains(active) ? active.value : null;
  const selected = state[key];
  const seen = new Set(entries.map((e) => String(e.value)));
  const gone = selected.filter((v) => !seen.has(v)).map((v) => ({ value: v, count: 0 }));
  const rows = [...entries, ...gone];
  box.hidden = rows.length === 0;
  const items = rows.map(({ value, count }) => {
    const input = el("input", {
      type: "checkbox",
      name: key,
      value: String(value),
      checked: selected.includes(String(value)),
      onchange: () => {
        const ticked = [...box.querySelectorAll("input:checked")].map((i) => i.value);
        update({ [key]: ticked });
      },
    });
    return el(
      "li",
      {},
      el(
        "label",
        {},
        input,
        el("span", { class: "facet-value" }, label(value)),
        el("span", { class: "count", "aria-label": plural(count, "article") }, fmtNumber(count)),
      ),
    );
  });
  box.querySelector("ul").replaceChildren(...items);
  // Re-rendering replaced the checkbox that had focus: give it back to its successor.
  if (focused !== null) {
    [...box.querySelectorAll("input")].find((i) => i.value === focused)?.focus();
  }
}

// ---- date histogram ---------------------------------------------------------------------

/** The first day after a bucket that starts at `start` (a Date, UTC). */
function bucketAfter(start, interval) {
  const next = new Date(start);
  if (interval === "day") next.setUTCDate(next.getUTCDate() + 1);
  else if (interval === "week") next.setUTCDate(next.getUTCDate() + 7);
  else if (interval === "month") next.setUTCMonth(next.getUTCMonth() + 1);
  else next.setUTCFullYear(next.getUTCFullYear() + 1);
  return next;
}

function bucketLabel(start, interval) {
  const options = { timeZone: "UTC" };
  if (interval === "year") options.year = "numeric";
  else if (interval === "month") Object.assign(options, { month: "short", year: "numeric" });
  else Object.assign(options, { day: "numeric", month: "short", year: "numeric" });
  const text = start.toLocaleDateString("en-GB", options);
  return interval === "week" ? `week of ${text}` : text;
}

/** Buckets from the API, with the empty ones between them filled in (time stays honest). */
function fillBuckets(raw, interval) {
  const counts = new Map();
  for (const b of raw) {
    const key = String(b.date ?? b.key ?? b.value ?? "").slice(0, 10);
    if (parseDay(key)) counts.set(key, (counts.get(key) || 0) + (b.count ?? b.doc_count ?? 0));
  }
  const keys = [...counts.keys()].sort();
  if (!keys.length) return [];
  const out = [];
  const last = parseDay(keys[keys.length - 1]);
  let day = parseDay(keys[0]);
  while (day <= last && out.length < MAX_BARS) {
    const key = isoDay(day);
    const next = bucketAfter(day, interval);
    out.push({ start: day, end: new Date(next - 86400000), key, count: counts.get(key) || 0 });
    day = next;
  }
  if (day <= last) {
    // Too many to fill: show the non-empty buckets only.
    return keys.map((key) => {
      const start = parseDay(key);
      const end = new Date(bucketAfter(start, interval) - 86400000);
      return { start, end, key, count: counts.get(key) };
    });
  }
  return out;
}

let anchor = null; // index of the first bar of a range being picked (click or keyboard)
let dragFrom = null; // index where a pointer drag started
let focusIndex = 0; // the bar that holds the roving tabindex

function renderHistogram(raw) {
  const interval = effectiveInterval(state);
  buckets = fillBuckets(raw, interval);
  anchor = null;
  dragFrom = null;
  const chart = $("histogram-chart");
  // A keyboard user who just picked a range keeps focus on the chart after it is redrawn.
  const hadFocus = chart.contains(document.activeElement);
  const focusedKey = hadFocus ? document.activeElement.dataset?.key : null;
  $("clear-dates").hidden = !(state.from || state.to);
  if (!buckets.length) {
    chart.replaceChildren(el("p", { class: "help" }, "No dates to chart."));
    renderRangeText();
    return;
  }
  const max = Math.max(...buckets.map((b) => b.count), 1);
  const width = buckets.length * 10;
  // The range on screen: the bars inside the from/to filter.
  const from = parseDay(state.from);
  const to = parseDay(state.to);
  const inRange = (b) => (!from || b.end >= from) && (!to || b.start <= to);
  const kept = buckets.findIndex((b) => b.key === focusedKey);
  focusIndex = kept >= 0 ? kept : Math.max(0, buckets.findIndex(inRange));
  const bars = buckets.map((b, i) => {
    const height = b.count ? Math.max(3, (b.count / max) * 96) : 0;
    const inFilter = (from || to) && inRange(b);
    const label = `${bucketLabel(b.start, interval)}: ${plural(b.count, "article")}`;
    return el(
      "g",
      {
        class: `bar${inFilter ? " in-filter" : ""}`,
        role: "button",
        tabindex: i === focusIndex ? "0" : "-1",
        "aria-label": label,
        dataset: { index: String(i), key: b.key },
      },
      el("title", {}, label),
      // A full-height transparent hit area, so thin or empty bars are easy to hit.
      el("rect", { class: "hit", x: i * 10, y: 0, width: 10, height: 100 }),
      el("rect", { class: "fill", x: i * 10 + 1, y: 100 - height, width: 8, height }),
    );
  });
  const svg = el(
    "svg",
    {
      class: "histogram-svg",
      viewBox: `0 0 ${width} 100`,
      preserveAspectRatio: "none",
      role: "group",
      "aria-label": `Articles per ${interval}`,
      "aria-describedby": "histogram-help",
    },
    el("line", { class: "axis", x1: 0, y1: 100, x2: width, y2: 100 }),
    bars,
  );
  svg.addEventListener("pointerdown", onPointerDown);
  svg.addEventListener("pointermove", onPointerMove);
  svg.addEventListener("pointerup", onPointerUp);
  svg.addEventListener("pointercancel", () => {
    dragFrom = null;
    preview(null);
  });
  svg.addEventListener("keydown", onBarKey);
  const axis = el(
    "div",
    { class: "histogram-axis", "aria-hidden": "true" },
    el("span", {}, bucketLabel(buckets[0].start, interval)),
    el("span", {}, bucketLabel(buckets[buckets.length - 1].start, interval)),
  );
  // Few bars stay bar-shaped instead of stretching over the whole width.
  const frame = el("div", { class: "histogram-frame" }, svg, axis);
  frame.style.maxWidth = `${Math.max(buckets.length * 48, 160)}px`;
  chart.replaceChildren(frame);
  if (hadFocus) chart.querySelectorAll("g.bar")[focusIndex].focus();
  renderRangeText();
}

function barIndexAt(svg, clientX) {
  const box = svg.getBoundingClientRect();
  const i = Math.floor(((clientX - box.left) / box.width) * buckets.length);
  return Math.min(buckets.length - 1, Math.max(0, i));
}

function onPointerDown(event) {
  if (event.button !== 0) return;
  const svg = event.currentTarget;
  dragFrom = barIndexAt(svg, event.clientX);
  svg.setPointerCapture(event.pointerId);
  preview(anchor ?? dragFrom, dragFrom);
  event.preventDefault(); // no text selection while dragging
}

function onPointerMove(event) {
  if (dragFrom === null) return;
  const i = barIndexAt(event.currentTarget, event.clientX);
  preview(i === dragFrom && anchor !== null ? anchor : dragFrom, i);
}

function onPointerUp(event) {
  if (dragFrom === null) return;
  const i = barIndexAt(event.currentTarget, event.clientX);
  const start = dragFrom;
  dragFrom = null;
  if (i !== start) pickRange(start, i); // a drag
  else pickBar(i); // a click: first or second bar
}

/** A click (or Enter) on a bar: the first one anchors the range, the second one applies it. */
function pickBar(i) {
  if (anchor === null) {
    anchor = i;
    preview(i, i);
    const start = bucketLabel(buckets[i].start, effectiveInterval(state));
    renderRangeText(`Start: ${start}. Now pick the last bar.`);
  } else {
    pickRange(anchor, i);
  }
}

function pickRange(a, b) {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  anchor = null;
  update({ from: isoDay(buckets[lo].start), to: isoDay(buckets[hi].end) });
}

function onBarKey(event) {
  const bar = event.target.closest?.("g.bar");
  if (!bar) return;
  const i = Number(bar.dataset.index);
  const last = buckets.length - 1;
  let next = null;
  if (event.key === "ArrowRight" || event.key === "ArrowUp") next = Math.min(last, i + 1);
  else if (event.key === "ArrowLeft" || event.key === "ArrowDown") next = Math.max(0, i - 1);
  else if (event.key === "Home") next = 0;
  else if (event.key === "End") next = last;
  else if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    pickBar(i);
    return;
  } else if (event.key === "Escape" && anchor !== null) {
    anchor = null;
    preview(null);
    renderRangeText();
    return;
  } else {
    return;
  }
  event.preventDefault();
  moveFocus(next);
  if (anchor !== null) preview(anchor, next);
}

function moveFocus(i) {
  const bars = $("histogram-chart").querySelectorAll("g.bar");
  bars[focusIndex]?.setAttribute("tabindex", "-1");
  focusIndex = i;
  bars[i].setAttribute("tabindex", "0");
  bars[i].focus();
}

/** Highlight the bars from a to b while a range is being picked (null: none). */
function preview(a, b = a) {
  const bars = $("histogram-chart").querySelectorAll("g.bar");
  const lo = a === null ? -1 : Math.min(a, b);
  const hi = a === null ? -1 : Math.max(a, b);
  bars.forEach((bar, i) => bar.classList.toggle("picking", i >= lo && i <= hi));
}

function renderRangeText(message) {
  const from = state.from ? fmtDate(state.from) : "the start";
  const to = state.to ? fmtDate(state.to) : "today";
  const filtered = state.from || state.to ? `Showing ${from} to ${to}.` : "All dates.";
  announce($("histogram-range"), message || filtered);
}

// ---- article view -----------------------------------------------------------------------

/** A left click without modifier keys (the others open tabs and windows). */
function plainClick(event) {
  return event.button === 0 && !(event.metaKey || event.ctrlKey || event.shiftKey || event.altKey);
}

function openArticle(event) {
  if (!plainClick(event)) return; // new tab, new window: the browser's business
  event.preventDefault();
  // Remember whether this article was opened from the results: its back link then goes back.
  const fromSearch = !$("search-view").hidden;
  history.pushState({ fromSearch }, "", event.currentTarget.getAttribute("href"));
  state = readState(SPEC);
  route();
}

$("back-link").addEventListener("click", (event) => {
  if (!plainClick(event)) return;
  event.preventDefault();
  if (history.state?.fromSearch) {
    history.back(); // popstate restores the results as they were
  } else {
    history.pushState(null, "", event.currentTarget.getAttribute("href"));
    state = readState(SPEC);
    route();
  }
});

/** The tweet a paragraph quotes, if any (the parser keeps it verbatim in the body). */
function tweetOf(paragraph, tweets) {
  return tweets.find((t) => paragraph.startsWith(t.text) && paragraph.includes(`(@${t.handle})`));
}

function tweetQuote(tweet) {
  return el(
    "blockquote",
    { class: "tweet" },
    el("p", {}, tweet.text),
    el(
      "footer",
      {},
      "— ",
      el("cite", {}, tweet.author),
      ` (@${tweet.handle}) `,
      el("time", { datetime: tweet.posted_date }, fmtDate(tweet.posted_date)),
    ),
  );
}

async function showArticle(id) {
  const view = $("article");
  const relatedList = $("related-list");
  $("article-problem").replaceChildren();
  view.replaceChildren(el("p", { class: "help" }, "Loading…"));
  relatedList.replaceChildren();
  const params = new URLSearchParams(window.location.search);
  params.delete("article");
  $("back-link").href = `/${params.toString() ? `?${params}` : ""}`;
  const related = fetchJson(`/v1/articles/${encodeURIComponent(id)}/related?size=5`).catch((e) => e);
  const versions = fetchJson(`/v1/articles/${encodeURIComponent(id)}/versions`).catch(() => null);
  let article;
  try {
    article = await fetchJson(`/v1/articles/${encodeURIComponent(id)}`);
  } catch (err) {
    view.replaceChildren();
    $("article-problem").replaceChildren(problemBox(err));
    document.title = "Newswire – article not found";
    return;
  }
  if (state.article !== id) return; // the user moved on meanwhile
  renderArticle(article);
  renderHistory(await versions);
  renderRelated(await related);
}

/** "Updated N times", with what each correction changed; nothing for a single version. */
function renderHistory(reply) {
  if (!reply || !Array.isArray(reply.versions) || reply.versions.length < 2) return;
  const corrections = reply.versions.length - 1;
  const rows = reply.versions.map((v) =>
    el(
      "li",
      {},
      v.updated_at ? el("time", { datetime: v.updated_at }, fmtDateTime(v.updated_at)) : null,
      v.number === 1 ? el("span", {}, " first version") : null,
      v.title_changed ? el("span", {}, ` headline: “${v.title}”`) : null,
      v.body_change ? el("span", { class: "change" }, ` ${v.body_change.summary}`) : null,
    ),
  );
  const history = el(
    "details",
    { class: "history", id: "article-history" },
    el("summary", {}, `Updated ${plural(corrections, "time")}`),
    el("ol", {}, rows),
  );
  $("article").querySelector(".meta").after(history);
}

function renderArticle(article) {
  const tweets = article.tweets || [];
  const quoted = new Set();
  const paragraphs = String(article.body || "")
    .split(/\n\s*\n/)
    .filter((p) => p.trim())
    .map((paragraph) => {
      const tweet = tweetOf(paragraph, tweets);
      if (!tweet) return el("p", {}, paragraph);
      quoted.add(tweet);
      return tweetQuote(tweet);
    });
  // Tweets that no paragraph quotes verbatim still get shown, after the body.
  const extra = tweets.filter((t) => !quoted.has(t));
  const heading = el("h1", { id: "article-title", tabindex: "-1" }, article.title);
  fill(
    $("article"),
    heading,
    el(
      "p",
      { class: "meta" },
      el("span", { class: "category" }, article.category),
      el("time", { datetime: article.published_date }, fmtDate(article.published_date)),
      article.updated_at ? el("span", {}, `updated ${fmtDateTime(article.updated_at)}`) : null,
      article.word_count ? el("span", {}, `${fmtNumber(article.word_count)} words`) : null,
      tweets.length ? el("span", { class: "badge tweet-badge" }, plural(tweets.length, "tweet")) : null,
    ),
    el("div", { class: "article-body" }, paragraphs),
    extra.length
      ? el("section", { class: "tweets" }, el("h2", {}, "Embedded tweets"), extra.map(tweetQuote))
      : null,
  );
  document.title = `${article.title} – Newswire`;
  heading.focus();
}

function renderRelated(reply) {
  const relatedList = $("related-list");
  if (reply instanceof Error) {
    relatedList.replaceChildren(el("li", {}, problemBox(reply)));
    return;
  }
  const items = Array.isArray(reply) ? reply : reply.items || [];
  if (!items.length) {
    relatedList.replaceChildren(el("li", { class: "empty" }, "No related stories."));
    return;
  }
  relatedList.replaceChildren(
    ...items.map((item) =>
      el(
        "li",
        {},
        el("a", { href: articleHref(item.id), onclick: openArticle }, item.title),
        el(
          "span",
          { class: "meta" },
          el("span", { class: "category" }, item.category),
          el("time", { datetime: item.published_date }, fmtDate(item.published_date)),
          item.has_tweets ? el("span", { class: "badge tweet-badge" }, "Tweets") : null,
        ),
      ),
    ),
  );
}

// ---- routing ----------------------------------------------------------------------------

/** Show what the URL says: an article, or the search (fetched only when it changed). */
let searchScroll = 0; // where the results were scrolled to when an article replaced them

function route() {
  const showing = Boolean(state.article);
  if (showing && !$("search-view").hidden) searchScroll = window.scrollY;
  $("article-view").hidden = !showing;
  $("search-view").hidden = showing;
  if (showing) {
    window.scrollTo(0, 0);
    showArticle(state.article);
    return;
  }
  document.title = state.q ? `${state.q} – Newswire search` : "Newswire – search";
  fillForm();
  renderFeedLinks(state);
  // Back from an article to the same search: keep the loaded pages and the scroll position.
  if (renderedSearchKey !== searchKey(state)) runSearch();
  else window.scrollTo(0, searchScroll);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  update({ q: form.q.value.trim(), search_in: searchInFromForm() }, { refresh: true });
});
for (const box of form.querySelectorAll('input[name="search_in"]')) {
  box.addEventListener("change", () => update({ search_in: searchInFromForm() }));
}
for (const name of ["from", "to"]) {
  form[name].addEventListener("change", () => {
    const value = form[name].value;
    // Only complete dates: a half-typed one would be an invalid filter.
    if (value === "" || parseDay(value)) update({ [name]: value });
  });
}
form.has_tweets.addEventListener("change", () => update({ has_tweets: form.has_tweets.value }));
form.sort.addEventListener("change", () => update({ sort: form.sort.value }));
$("interval").addEventListener("change", (e) => update({ interval: e.target.value }));
$("clear-dates").addEventListener("click", () => update({ from: "", to: "" }));
$("clear-filters").addEventListener("click", () =>
  update({ category: [], handle: [], from: "", to: "", has_tweets: "", search_in: ALL_FIELDS }),
);
moreButton.addEventListener("click", loadMore);

observer.observe(sentinel);

history.scrollRestoration = "manual"; // route() puts the results back where they were
window.addEventListener("popstate", () => {
  state = readState(SPEC);
  route();
});

route();
