// malmoi web chat: plain JavaScript, no build step, no network beyond the malmoi server itself.
//
// Talks to POST v1/chat ({user_id, text} -> {answer, parse, state}) and GET health. URLs are
// relative so the page also works behind a path prefix. A registry's page of one bot
// (/bots/{bot}/) names its chat route in <body data-chat> and has an API key field: the key is sent
// as Authorization: Bearer, kept in sessionStorage, never in a URL. Every piece of server text goes into the
// page through textContent, never innerHTML.
"use strict";

(() => {
  const USER_ID_KEY = "malmoi.userId";
  const REQUEST_TIMEOUT_MS = 20000;
  const HEALTH_INTERVAL_MS = 30000;
  const RANKING_SHOWN = 5;

  const messages = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("message-input");
  const sendButton = document.getElementById("send-button");
  const statusEl = document.getElementById("status");
  const userIdEl = document.getElementById("user-id");
  const newConversationButton = document.getElementById("new-conversation");
  const keyInput = document.getElementById("api-key");
  const CHAT_PATH = document.body.dataset.chat || "v1/chat";
  const HEALTH_PATH = document.body.dataset.health || "health";
  const API_KEY_KEY = "malmoi.apiKey";

  if (keyInput) {
    try {
      keyInput.value = sessionStorage.getItem(API_KEY_KEY) || "";
    } catch {
      // storage blocked: the key is typed again after a reload
    }
    keyInput.addEventListener("change", () => {
      try {
        sessionStorage.setItem(API_KEY_KEY, keyInput.value.trim());
      } catch {
        // storage blocked
      }
    });
  }

  function requestHeaders() {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (keyInput && keyInput.value.trim()) headers.Authorization = "Bearer " + keyInput.value.trim();
    return headers;
  }

  // ---- user id: generated once, kept in localStorage (or in memory where storage is blocked) ----

  let currentUserId = null;

  function generateUserId() {
    // randomUUID exists only in secure contexts (https, localhost); a page opened by LAN address has not.
    if (window.crypto && typeof crypto.randomUUID === "function") return "web-" + crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function setUserId(id) {
    currentUserId = id;
    try {
      localStorage.setItem(USER_ID_KEY, id);
    } catch {
      // storage blocked (private mode, file quota): the id lives as long as the page
    }
    userIdEl.textContent = "사용자 ID: " + id;
    return id;
  }

  function userId() {
    if (currentUserId) return currentUserId;
    let stored = null;
    try {
      stored = localStorage.getItem(USER_ID_KEY);
    } catch {
      stored = null;
    }
    return setUserId(stored || generateUserId());
  }

  // ---- DOM helpers ----

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  function appendMessage(li) {
    messages.append(li);
    li.scrollIntoView({ block: "end", behavior: reduceMotion.matches ? "auto" : "smooth" });
    return li;
  }

  function addMessage(role, text) {
    const who = role === "user" ? "나 (you)" : "봇 (bot)";
    return appendMessage(
      el("li", { class: "message " + role },
        el("span", { class: "visually-hidden" }, who + ": "),
        el("div", { class: "bubble" }, text)),
    );
  }

  function addPending() {
    return appendMessage(
      el("li", { class: "message bot pending", "aria-label": "답변을 기다리는 중 (waiting for the answer)" },
        el("div", { class: "bubble", "aria-hidden": "true" },
          el("span", { class: "dot" }), el("span", { class: "dot" }), el("span", { class: "dot" }))),
    );
  }

  function addError(message) {
    return appendMessage(
      el("li", { class: "message error" },
        el("div", { class: "bubble" }, el("strong", {}, "오류 (error): "), message)),
    );
  }

  // ---- details: intent, confidence, fallback, entities highlighted in the parsed text ----

  function percent(value) {
    if (typeof value !== "number" || !Number.isFinite(value)) return "–";
    if (value > 0 && value < 0.001) return "< 0.1 %";
    return (value * 100).toFixed(1) + " %";
  }

  // One stable hue per entity type, so LOCATION looks the same in every message.
  function hueFor(name) {
    let h = 0;
    for (const ch of String(name)) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
  }

  // The server's offsets count Unicode code points (Python str indices); JavaScript strings count
  // UTF-16 units, so an emoji before an entity would shift a plain slice. Array.from splits by code point.
  function highlightEntities(text, entities) {
    const chars = Array.from(text);
    const spans = entities
      .filter((e) => Number.isInteger(e.start) && Number.isInteger(e.end) && e.start < e.end && e.end <= chars.length)
      .sort((a, b) => a.start - b.start);
    const out = el("p", { class: "highlighted" });
    let pos = 0;
    for (const e of spans) {
      if (e.start < pos) continue; // overlapping span: keep the first
      out.append(chars.slice(pos, e.start).join(""));
      const mark = el("mark", { class: "entity", title: e.entity, "data-entity": e.entity },
        chars.slice(e.start, e.end).join(""),
        el("span", { class: "entity-label" }, e.entity));
      mark.style.setProperty("--hue", hueFor(e.entity));
      out.append(mark);
      pos = e.end;
    }
    out.append(chars.slice(pos).join(""));
    return out;
  }

  function entityTable(entities) {
    if (!entities.length) return el("p", { class: "muted" }, "개체명 없음 (no entities)");
    const rows = entities.map((e) =>
      el("tr", {},
        el("td", {}, String(e.entity)),
        el("td", {}, String(e.value)),
        el("td", { class: "num" }, `${e.start}–${e.end}`)));
    return el("table", { class: "entities" },
      el("caption", { class: "visually-hidden" }, "개체명 (entities)"),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "유형 (entity)"),
        el("th", { scope: "col" }, "값 (value)"),
        el("th", { scope: "col" }, "위치 (span)"))),
      el("tbody", {}, ...rows));
  }

  function rankingList(ranking) {
    const items = ranking.slice(0, RANKING_SHOWN).map((r) => {
      const bar = el("span", { class: "bar", "aria-hidden": "true" });
      bar.style.setProperty("--p", Math.max(0, Math.min(1, Number(r.confidence) || 0)));
      return el("li", {}, el("span", { class: "rank-name" }, String(r.name)), bar,
        el("span", { class: "num" }, percent(r.confidence)));
    });
    return el("ol", { class: "ranking" }, ...items);
  }

  function detailsFor(parse, state) {
    const intent = parse.intent || {};
    const entities = Array.isArray(parse.entities) ? parse.entities : [];
    const body = el("div", { class: "details-body" },
      el("dl", { class: "facts" },
        el("dt", {}, "의도 (intent)"), el("dd", { class: "intent-name" }, String(intent.name ?? "–")),
        el("dt", {}, "확신도 (confidence)"), el("dd", { class: "confidence" }, percent(intent.confidence)),
        el("dt", {}, "폴백 (fallback)"),
        el("dd", { class: "fallback" + (parse.fallback ? " yes" : "") },
          parse.fallback ? "예 — 모르는 질문 (yes, out of scope)" : "아니오 (no)")),
      el("h3", {}, "개체명 (entities)"),
      highlightEntities(String(parse.text ?? ""), entities),
      entityTable(entities));
    if (Array.isArray(parse.intent_ranking) && parse.intent_ranking.length) {
      body.append(el("h3", {}, "의도 순위 (intent ranking)"), rankingList(parse.intent_ranking));
    }
    if (state && typeof state === "object" && Object.keys(state).length) {
      if (typeof state.status === "string") {
        const slots = state.slots && typeof state.slots === "object" ? Object.entries(state.slots) : [];
        const summary = slots.length ? " · " + slots.map(([k, v]) => `${k}=${v}`).join(", ") : "";
        body.append(el("p", { class: "state-line" }, el("span", { class: "muted-label" }, "대화 상태 (state): "),
          el("code", {}, state.status), summary));
      }
      body.append(el("details", { class: "state" },
        el("summary", {}, "상태 원본 (raw state)"),
        el("pre", {}, JSON.stringify(state, null, 2))));
    }
    return el("details", { class: "details" }, el("summary", {}, "분석 보기 (details)"), body);
  }

  // ---- talking to the server ----

  class RequestError extends Error {
    constructor(message, { unreachable = false } = {}) {
      super(message);
      this.unreachable = unreachable;
    }
  }

  async function postJSON(path, payload) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    let data = null;
    try {
      response = await fetch(path, {
        method: "POST",
        headers: requestHeaders(),
        body: JSON.stringify(payload),
        signal: controller.signal,
      });
      try {
        data = await response.json();
      } catch {
        data = null; // a proxy's HTML error page, an empty body...
      }
    } catch (err) {
      throw new RequestError(
        err && err.name === "AbortError"
          ? `서버가 ${REQUEST_TIMEOUT_MS / 1000}초 안에 답하지 않았습니다 (the server did not answer in time).`
          : "서버에 연결할 수 없습니다. 서버가 실행 중인지 확인하세요 (cannot reach the server).",
        { unreachable: true });
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) {
      const error = data && typeof data.error === "object" && data.error ? data.error : {};
      const code = error.code ? ` ${error.code}` : "";
      const message = error.message || response.statusText || "요청이 실패했습니다 (request failed)";
      throw new RequestError(`HTTP ${response.status}${code}: ${message}`);
    }
    if (!data || typeof data !== "object") {
      throw new RequestError("서버 응답을 읽을 수 없습니다 (the answer was not JSON).");
    }
    return data;
  }

  function setStatus(state) {
    const text = { ok: "연결됨 (online)", down: "서버 연결 안 됨 (offline)", checking: "연결 확인 중…" }[state];
    statusEl.dataset.state = state;
    statusEl.querySelector(".status-text").textContent = text;
  }

  async function checkHealth() {
    try {
      const response = await fetch(HEALTH_PATH, { headers: { Accept: "application/json" }, cache: "no-store" });
      setStatus(response.ok ? "ok" : "down");
    } catch {
      setStatus("down");
    }
  }

  // ---- sending ----

  let busy = false;
  let composing = false; // Korean IME: the Enter that commits a syllable must not send the message

  input.addEventListener("compositionstart", () => { composing = true; });
  input.addEventListener("compositionend", () => { composing = false; });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value;
    if (busy || composing || !text.trim()) return;
    busy = true;
    sendButton.disabled = true;
    form.setAttribute("aria-busy", "true");
    const userMessage = addMessage("user", text);
    input.value = "";
    const pending = addPending();
    try {
      const data = await postJSON(CHAT_PATH, { user_id: userId(), text });
      pending.remove();
      if (data.parse && typeof data.parse === "object") userMessage.append(detailsFor(data.parse, data.state));
      addMessage("bot", String(data.answer ?? ""));
      setStatus("ok");
    } catch (err) {
      pending.remove();
      userMessage.classList.add("failed");
      addError(err instanceof Error ? err.message : String(err));
      if (err instanceof RequestError && err.unreachable) setStatus("down");
    } finally {
      busy = false;
      sendButton.disabled = false;
      form.removeAttribute("aria-busy");
      input.focus();
    }
  });

  newConversationButton.addEventListener("click", () => {
    setUserId(generateUserId());
    for (const li of [...messages.children]) if (!li.classList.contains("intro")) li.remove();
    input.focus();
  });

  userId();
  checkHealth();
  setInterval(() => { if (!document.hidden) checkHealth(); }, HEALTH_INTERVAL_MS);
  input.focus();
})();
