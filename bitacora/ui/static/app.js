// The console's only script: `/` focuses the query, and the live tail (server-sent events).
"use strict";

document.addEventListener("keydown", (e) => {
  const q = document.getElementById("q");
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
  if (e.key === "/" && q && !typing) {
    e.preventDefault();
    q.focus();
    q.select();
  }
});

function esc(text) {
  const span = document.createElement("span");
  span.textContent = text == null ? "" : String(text);
  return span.innerHTML;
}

function row(ev) {
  const tr = document.createElement("tr");
  tr.className = "event new";
  tr.dataset.id = ev.id;
  const level = ev.level || "";
  tr.innerHTML =
    `<td class="time">${esc(ev.time)}</td>` +
    `<td><span class="level level-${esc(level)}">${esc(level)}</span></td>` +
    `<td>${esc(ev.service)}</td>` +
    `<td class="msg"><details><summary>${esc(ev.message)}</summary>` +
    `<div class="actions"><a href="/context?id=${encodeURIComponent(ev.id)}">context</a></div>` +
    `<pre class="json">${esc(JSON.stringify(ev.source, null, 2))}</pre></details></td>`;
  return tr;
}

function startTail(button) {
  const tbody = document.querySelector("#results tbody");
  const shown = document.getElementById("shown");
  const status = document.getElementById("live-status");
  // Ids already on the page: a resumed stream re-sends its overlap window, drop repeats.
  const seen = new Set(Array.from(tbody.querySelectorAll("tr.event"), (tr) => tr.dataset.id));
  const params = new URLSearchParams(window.location.search);
  params.set("last", button.dataset.resume);
  const source = new EventSource("/api/tail?" + params.toString());
  source.onopen = () => { status.textContent = "live"; };
  source.onerror = () => { status.textContent = "reconnecting…"; };
  source.addEventListener("problem", (message) => {
    status.textContent = "tail paused: " + JSON.parse(message.data);
  });
  source.onmessage = (message) => {
    const ev = JSON.parse(message.data);
    status.textContent = "live";
    if (seen.has(ev.id)) return;
    seen.add(ev.id);
    tbody.insertBefore(row(ev), tbody.firstChild);
    shown.textContent = String(Number(shown.textContent) + 1);
  };
  return source;
}

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("live");
  if (!button) return;
  let source = null;
  button.addEventListener("click", () => {
    if (source) {
      source.close();
      source = null;
      button.classList.remove("on");
      document.getElementById("live-status").textContent = "";
      return;
    }
    source = startTail(button);
    button.classList.add("on");
  });
  if (new URLSearchParams(window.location.search).get("live") === "1") button.click();
});

// Alert links point at `<BITACORA_SEARCH_URL_BASE>/app/data-explorer/discover#?_g=...&_q=...`
// (Dashboards' Discover, state in rison inside the fragment, which never reaches the server).
// With the base set to the console, this page turns that state into an Explore URL.
function risonString(text, name) {
  const match = new RegExp(name + ":'((?:[^'!]|!.)*)'").exec(text);
  return match ? match[1].replace(/!(.)/g, "$1") : "";
}

function discoverToExplore(hash) {
  const state = new URLSearchParams(hash.replace(/^#\??/, ""));
  const g = state.get("_g") || "";
  const q = state.get("_q") || "";
  const params = new URLSearchParams();
  const query = risonString(q, "query");
  if (query) params.set("q", query);
  for (const [key, name] of [["from", "from"], ["to", "to"]]) {
    const value = risonString(g, name);
    if (value) params.set(key, value);
  }
  return "/?" + params.toString();
}

if (window.location.pathname === "/app/data-explorer/discover") {
  window.location.replace(discoverToExplore(window.location.hash));
}
