// malmoi review page: list the groups of messages to review, answer each with one click.
// Everything from the server is put in the page as text (textContent), never as markup.
"use strict";

const api = document.body.dataset.api;
const needsKey = document.body.dataset.needsKey === "true";
const keyInput = document.getElementById("key");
const belowInput = document.getElementById("below");
const statusLine = document.getElementById("status");
const groupsBox = document.getElementById("groups");
const KEY_STORAGE = "malmoi.reviewKey";

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("data-") || name.startsWith("aria-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

function headers() {
  const found = { "content-type": "application/json" };
  if (needsKey && keyInput.value.trim()) found.authorization = "Bearer " + keyInput.value.trim();
  return found;
}

function say(text, error = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", error);
}

async function request(url, options) {
  let response;
  try {
    response = await fetch(url, { ...options, headers: headers() });
  } catch (exc) {
    throw new Error("서버에 연결할 수 없습니다 (cannot reach the server)");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = body.error || {};
    throw new Error(`${response.status} ${error.code || ""}: ${error.message || response.statusText}`);
  }
  return body;
}

function intentSelect(intents, chosen, label) {
  const select = el("select", { class: "intent", "aria-label": label });
  for (const name of intents) select.append(el("option", { value: name, text: name, selected: name === chosen }));
  return select;
}

function guessText(guesses) {
  return guesses.map((g) => `${g.intent} ${g.confidence.toFixed(2)}`).join(", ");
}

async function answer(items, intent, statusNode) {
  const open = items.filter((item) => !item.node.classList.contains("done"));
  if (!open.length) return;
  const answers = open.map((item) => (intent === null
    ? { message_ids: item.data.message_ids, out_of_domain: true }
    : { message_ids: item.data.message_ids, intent: intent ?? item.select.value, markup: item.markup.value }));
  for (const item of open) for (const button of item.node.querySelectorAll("button")) button.disabled = true;
  try {
    const result = await request(api, { method: "POST", body: JSON.stringify({ answers }) });
    open.forEach((item, index) => {
      const written = result.answers[index];
      item.node.classList.add("done");
      item.node.dataset.answer = written.out_of_domain ? "out_of_domain" : written.intent;
      item.status.textContent = written.out_of_domain ? "기록됨: 도메인 밖 (out of domain)"
        : `기록됨: ${written.intent} · ${written.markup}`;
      item.status.classList.remove("error");
      item.markup.disabled = true;
      item.select.disabled = true;
    });
    const totals = result.reviewed || {};
    say(`기록됨 (written) ${open.length}건: ${result.written.join(", ") || "-"}; ${result.log}. `
      + `지금까지 (reviewed so far): 의도 ${totals.intents ?? "?"}, 도메인 밖 ${totals.out_of_domain ?? "?"}`);
  } catch (exc) {
    for (const item of open) for (const button of item.node.querySelectorAll("button")) button.disabled = false;
    (statusNode || open[0].status).textContent = exc.message;
    (statusNode || open[0].status).classList.add("error");
  }
}

function renderItem(data, intents, groupIntent) {
  const markup = el("input", { class: "markup", value: data.markup, spellcheck: false,
    "aria-label": "개체 표시 (entities as [value](TYPE))" });
  const select = intentSelect(intents, data.guesses.length ? data.guesses[0].intent : groupIntent, "의도 (intent)");
  const status = el("span", { class: "status", role: "status" });
  const answered = data.fallback ? "fallback" : `${data.logged_intent} ${data.logged_confidence.toFixed(2)}`;
  const node = el("li", { class: "item", "data-ids": data.message_ids.join(",") },
    el("span", { class: "text", text: data.text }),
    el("span", { class: "meta", text: `메시지 ${data.count}개 · 답: ${answered} · 모델 ${data.model_version} · `
      + `지금 추측 (guesses): ${guessText(data.guesses)}` }),
    markup);
  const item = { data, node, markup, select, status };
  const assign = el("button", { type: "button", class: "assign", text: "지정 (assign)" });
  const ood = el("button", { type: "button", class: "ood secondary", text: "도메인 밖 (out of domain)" });
  assign.addEventListener("click", () => answer([item], undefined));
  ood.addEventListener("click", () => answer([item], null));
  node.append(el("div", { class: "item-actions" }, select, assign, ood, status));
  return item;
}

function render(result) {
  groupsBox.replaceChildren();
  if (!result.groups.length) {
    say(`검토할 메시지가 없습니다 (nothing to review) · ${result.bot}`);
    return;
  }
  say(`${result.pending}개 문장, ${result.groups.length}개 그룹 · 모델 ${result.model_version}`);
  for (const group of result.groups) {
    const top = group.guesses.length ? group.guesses[0].intent : result.intents[0];
    const items = group.items.map((data) => renderItem(data, result.intents, top));
    const select = intentSelect(result.intents, top, `그룹 ${group.id} 의도 (group intent)`);
    const assignAll = el("button", { type: "button", class: "assign-group", text: "모두 지정 (assign all)" });
    const oodAll = el("button", { type: "button", class: "ood-group secondary",
      text: "모두 도메인 밖 (all out of domain)" });
    const status = el("span", { class: "status", role: "status" });
    assignAll.addEventListener("click", () => answer(items, select.value, status));
    oodAll.addEventListener("click", () => answer(items, null, status));
    groupsBox.append(el("section", { class: "group", "data-group": String(group.id) },
      el("h2", { text: `그룹 ${group.id} · 메시지 ${group.messages}개` }),
      el("p", { class: "guesses", text: `추측 (guesses): ${guessText(group.guesses)}` }),
      el("div", { class: "group-actions" }, select, assignAll, oodAll, status),
      el("ul", { class: "items" }, ...items.map((item) => item.node))));
  }
}

async function load() {
  if (needsKey) sessionStorage.setItem(KEY_STORAGE, keyInput.value.trim());
  say("불러오는 중… (loading)");
  try {
    const below = encodeURIComponent(belowInput.value || "0.5");
    render(await request(`${api}?below=${below}`, { method: "GET" }));
  } catch (exc) {
    groupsBox.replaceChildren();
    say(exc.message, true);
  }
}

document.getElementById("settings").addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
if (needsKey) {
  document.getElementById("key-label").hidden = false;
  keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
  if (keyInput.value) load();
  else say("관리자 키를 입력하세요 (enter an admin key)");
} else {
  load();
}
