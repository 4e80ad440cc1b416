// The web console of one gateway: a bank operator's work queue, applications and document
// lookup; the regulator's (and a bank statistician's) statistics with charts and drill-down.
// Plain DOM and fetch against the gateway's API; the token stays in this tab (sessionStorage).

import { barChart, lineChart, PALETTE } from "./charts.js";
import {
  getLang,
  tAction,
  reasonCodeOf,
  setLang,
  t,
  tDocStatus,
  tKind,
  tLabel,
  tProblem,
  tReason,
  tStage,
  tState,
} from "./i18n.js";

const TOKEN_KEY = "crossborder.console.token";
const LANG_KEY = "crossborder.console.lang";
const ZONE = "Asia/Shanghai";
const QUEUE_SECTIONS = [
  ["to_accept", "accept"],
  ["to_review", "review"],
  ["to_disburse", "disburse"],
  ["repayments_due", "repay"],
  ["my_applications", "apply"],
];

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null,
  directory: { participants: [], scenarios: [], kinds: [] },
  view: null,
  queue: null,
  open: null, // the inline form under a queue row: {key, action, values}
  busy: false,
  apply: { scenario: "", firm: "", citations: [{ document: "", kind: "", amount: "", currency: "USD" }] },
  lookup: { kind: "export-declaration", number: "", result: null },
  stats: {
    filters: { from: "", to: "", scenario: "", currency: "", period: "day" },
    group: "bank",
    measure: "requested",
    bank: null,
    data: null,
    financings: null,
  },
  events: null,
};

// -- DOM ----------------------------------------------------------------------------------------

const $ = (selector) => document.querySelector(selector);

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  let value;
  for (const [key, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (key.startsWith("on") && typeof v === "function") node.addEventListener(key.slice(2), v);
    else if (key === "class") node.className = v;
    else if (key === "value") value = v;
    else if (key === "disabled" || key === "checked" || key === "selected") node[key] = true;
    else node.setAttribute(key, v === true ? "" : String(v));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  if (value !== undefined) node.value = value;
  return node;
}

function option(value, label, selected) {
  return h("option", { value, selected: selected === value }, label);
}

// -- formatting ---------------------------------------------------------------------------------

function locale() {
  return getLang() === "zh" ? "zh-CN" : "en-US";
}

function group(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function fmtAmount(amount) {
  const [whole, fraction] = String(amount).split(".");
  return fraction ? `${group(whole)}.${fraction}` : group(whole);
}

function fmtMoney(money) {
  if (!money) return "—";
  return `${money.currency} ${fmtAmount(money.amount)}`;
}

function fmtNumber(value, digits = 0) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
}

function fmtTime(iso) {
  if (!iso) return "—";
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(iso));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

function today(offsetDays = 0) {
  const date = new Date(Date.now() + offsetDays * 86400000);
  return new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(date);
}

// Exact sums of decimal strings (up to 4 decimals, as the API sends them).
function addDecimal(a, b) {
  const units = (text) => {
    const [whole, fraction = ""] = String(text).split(".");
    return BigInt(whole + fraction.padEnd(4, "0").slice(0, 4));
  };
  const total = (units(a) + units(b)).toString().padStart(5, "0");
  const whole = total.slice(0, -4);
  const fraction = total.slice(-4).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction.padEnd(2, "0")}` : whole;
}

function shortId(id) {
  return id && id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id || "—";
}

function participant(id) {
  return state.directory.participants.find((p) => p.id === id);
}

function nameOf(id) {
  const found = participant(id);
  return (found && found.name) || shortId(id);
}

function regionOf(id) {
  const found = participant(id);
  const region = found && found.region;
  if (!region) return getLang() === "zh" ? "未知地区" : "unknown region";
  return getLang() === "zh" ? region.zh : region.en;
}

function scenarioName(name) {
  const found = state.directory.scenarios.find((s) => s.name === name);
  if (!found) return name;
  return getLang() === "zh" ? found.zh : found.en;
}

function kindName(kind) {
  const found = state.directory.kinds.find((k) => k.kind === kind);
  if (!found) return kind;
  return getLang() === "zh" ? found.zh : found.en;
}

function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `console-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

// -- the gateway's API --------------------------------------------------------------------------

class Problem extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "problem");
    this.problem = problem;
  }
}

async function api(path, { method = "GET", body, idempotent = false, token = state.token } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotent) headers["Idempotency-Key"] = randomKey();
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new Problem({ code: "network", title: t("network"), detail: String(error), status: 0 });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data : {
      code: "http_error", title: `HTTP ${response.status}`, detail: text.slice(0, 200), status: response.status,
    };
    if (response.status === 401 && state.me && token === state.token) {
      signOut(t("unauthorized"));
    }
    throw new Problem(problem);
  }
  return data;
}

// -- notices ------------------------------------------------------------------------------------

function notice({ kind, term, text, detail, code }) {
  const box = $("#notice");
  box.className = `notice ${kind}`;
  box.dataset.kind = kind;
  box.dataset.code = code || "";
  box.replaceChildren(
    h("button", { type: "button", class: "close", "aria-label": t("close"), onclick: clearNotice }, "×"),
    term ? h("span", { class: "term" }, term) : null,
    h("span", { class: "text" }, text),
    detail ? h("span", { class: "detail" }, detail) : null,
  );
  box.hidden = false;
}

function clearNotice() {
  const box = $("#notice");
  box.hidden = true;
  box.replaceChildren();
}

function problemNotice(error, what) {
  const problem = error instanceof Problem ? error.problem : { code: "internal_error", detail: String(error) };
  const explained = tProblem(problem.code);
  // The Chinese term always leads (审核, 重复融资, 所属角色, …), in either language.
  const zh = problem.title_zh;
  const term = zh ? `${t("refused")} · ${zh}` : t("refused");
  const reason = problem.reason ? ` [${problem.reason}: ${tReason(problem.reason)}]` : "";
  const title = getLang() === "en" && problem.title ? `${problem.title}${reason}` : reason.trim();
  notice({
    kind: "problem",
    term,
    text: [what, explained || problem.title || problem.code, title].filter(Boolean).join(" — "),
    detail: `${problem.code || ""} · HTTP ${problem.status || "?"} · ${problem.detail || ""}`,
    code: problem.code,
  });
}

// -- sign-in ------------------------------------------------------------------------------------

async function signIn(token) {
  const me = await api("/v1/me", { token });
  state.token = token;
  state.me = me;
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    state.directory = await api("/v1/directory");
  } catch {
    state.directory = { participants: [], scenarios: [], kinds: [] };
  }
  state.view = defaultView();
  state.apply.scenario = applyScenarios()[0] || "";
  clearNotice();
  startEvents();
  await loadView();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  stopEvents();
  Object.assign(state, { token: null, me: null, view: null, queue: null, open: null });
  state.stats.data = null;
  state.stats.bank = null;
  state.stats.financings = null;
  state.lookup.result = null;
  render();
  if (message) notice({ kind: "problem", text: message, code: "unauthenticated" });
}

function stagesHeld() {
  const held = new Set();
  for (const role of (state.me && state.me.roles) || []) role.stages.forEach((s) => held.add(s));
  return held;
}

function applyScenarios() {
  return ((state.me && state.me.roles) || [])
    .filter((r) => r.stages.includes("apply"))
    .map((r) => r.scenario);
}

function tabs() {
  const me = state.me;
  if (!me) return [];
  if (me.regulator) return ["stats", "lookup"];
  const held = stagesHeld();
  const list = [];
  if (me.kind === "bank" && ["apply", "accept", "review", "disburse", "repay"].some((s) => held.has(s))) {
    list.push("queue");
  }
  if (held.has("apply")) list.push("apply");
  if (held.has("statistics")) list.push("stats");
  list.push("lookup");
  return list;
}

function defaultView() {
  return tabs()[0] || "lookup";
}

// -- rendering ----------------------------------------------------------------------------------

function render() {
  document.title = t("app.title");
  $("#app-title").textContent = t("app.title");
  for (const button of document.querySelectorAll(".lang button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === getLang()));
  }
  $("#logout").hidden = !state.me;
  $("#logout").textContent = t("logout");
  $("#foot").textContent = `${t("time-zone")} · ${t("store-lag")}`;
  renderWho();
  renderTabs();
  const main = $("#main");
  if (!state.me) {
    main.replaceChildren(loginView());
    return;
  }
  const views = { queue: queueView, apply: applyView, lookup: lookupView, stats: statsView };
  main.replaceChildren((views[state.view] || lookupView)());
}

function renderWho() {
  const box = $("#who");
  const me = state.me;
  if (!me) {
    box.replaceChildren();
    return;
  }
  const held = [...stagesHeld()];
  const name = me.regulator && !me.name ? t("regulator") : me.name || tKind(me.kind);
  box.replaceChildren(
    h("div", { "data-account": me.account }, name, me.region ? ` · ${getLang() === "zh" ? me.region.zh : me.region.en}` : ""),
    h(
      "small",
      {},
      `${shortId(me.account)} `,
      held.length
        ? held.map((s) => h("span", { class: "badge role", "data-stage": s }, tStage(s)))
        : h("span", { class: "badge role" }, me.regulator ? t("regulator") : t("stage.none")),
    ),
  );
}

function renderTabs() {
  const nav = $("#tabs");
  nav.replaceChildren(
    ...tabs().map((name) =>
      h(
        "button",
        {
          type: "button",
          "data-tab": name,
          "aria-current": state.view === name ? "page" : null,
          onclick: () => {
            state.view = name;
            state.open = null;
            clearNotice();
            render();
            loadView();
          },
        },
        t(`tab.${name}`),
      ),
    ),
  );
}

function loginView() {
  const input = h("input", {
    id: "token", name: "token", type: "password", autocomplete: "off", required: true,
    placeholder: "cbt_…", spellcheck: "false",
  });
  const submit = h("button", { type: "submit", id: "sign-in" }, t("login.submit"));
  const form = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        try {
          await signIn(input.value.trim());
        } catch (error) {
          problemNotice(error, t("login.title"));
        } finally {
          submit.disabled = false;
        }
      },
    },
    h("label", { for: "token" }, h("span", {}, t("login.token")), input),
    submit,
  );
  return h("section", { class: "card login" }, h("h1", {}, t("login.title")), h("p", {}, t("login.hint")), form);
}

// -- the work queue -----------------------------------------------------------------------------

async function loadQueue() {
  try {
    state.queue = await api("/v1/queue");
  } catch (error) {
    problemNotice(error, t("tab.queue"));
  }
  if (state.view === "queue") render();
}

function queueView() {
  const q = state.queue;
  const wrap = h("div", { id: "queue" });
  if (!q) return h("p", { class: "muted" }, t("loading"));
  const held = stagesHeld();
  const header = h(
    "div",
    { class: "titlebar" },
    h("h1", {}, t("tab.queue")),
    h("span", { class: "muted", "data-block": q.block }, `${t("as-of")} ${q.block} · ${q.source}`),
    h("button", { type: "button", class: "secondary", id: "refresh", onclick: () => loadQueue() }, t("refresh")),
  );
  wrap.append(header);
  const shown = QUEUE_SECTIONS.filter(([, stage]) => held.has(stage));
  if (!shown.length) wrap.append(h("p", { class: "muted" }, t("q.no-role")));
  for (const [section, stage] of shown) {
    const items = q[section] || [];
    wrap.append(
      h(
        "section",
        { class: "card", "data-section": section },
        h(
          "header",
          {},
          h("h2", {}, `${t(`q.${section}`)} (${items.length})`),
          h("span", { class: "hint" }, t(`q.hint.${section}`)),
        ),
        items.length ? queueTable(section, stage, items) : h("p", { class: "empty" }, t("none")),
      ),
    );
  }
  return wrap;
}

function queueTable(section, stage, items) {
  const due = section === "repayments_due";
  const body = h("tbody");
  for (const item of items) {
    const key = `${section}:${item.scenario}:${item.id}`;
    const row = h(
      "tr",
      {
        class: "clickable",
        "data-financing": `${item.scenario}/${item.id}`,
        "data-state": item.state,
        onclick: (event) => {
          if (event.target.closest("button")) return;
          openFinancing(item.scenario, item.id);
        },
      },
      h("td", { class: "mono" }, `#${item.id}`),
      h("td", {}, scenarioName(item.scenario)),
      h("td", {}, item.firm ? nameOf(item.firm) : "—"),
      h("td", { class: "num" }, fmtMoney(due ? item.outstanding : item.requested)),
      h(
        "td",
        {},
        h("span", { class: `badge ${item.state}` }, tState(item.state)),
        item.mine && section === "to_review" ? [" ", h("span", { class: "badge mine", "data-mine": "1" }, t("mine"))] : null,
        item.overdue ? [" ", h("span", { class: "badge overdue" }, t("overdue"))] : null,
      ),
      h("td", {}, due ? item.due_date || "—" : fmtTime(item.applied_at)),
      h("td", {}, h("div", { class: "actions" }, actions(section, item, key))),
    );
    body.append(row);
    if (state.open && state.open.key === key) body.append(inlineForm(item, key));
  }
  return h(
    "table",
    {},
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", {}, t("col.id")),
        h("th", {}, t("col.scenario")),
        h("th", {}, t("col.firm")),
        h("th", { class: "num" }, due ? t("col.outstanding") : t("col.requested")),
        h("th", {}, t("col.state")),
        h("th", {}, due ? t("col.due") : t("col.applied_at")),
        h("th", {}, t("col.actions")),
      ),
    ),
    body,
  );
}

function actionButton(item, action, label, cls = "") {
  return h(
    "button",
    {
      type: "button",
      class: cls,
      "data-action": action,
      disabled: state.busy,
      onclick: () => act(item, action),
    },
    label,
  );
}

function actions(section, item, key) {
  const open = (action, values) => h(
    "button",
    {
      type: "button",
      "data-action": action,
      disabled: state.busy,
      onclick: () => {
        state.open = state.open && state.open.key === key ? null : { key, action, values };
        render();
      },
    },
    t(`act.${action}`),
  );
  switch (section) {
    case "to_accept":
      return [actionButton(item, "accept", t("act.accept"))];
    case "to_review":
      return [
        actionButton(item, "approve", t("act.approve")),
        actionButton(item, "reject", t("act.reject"), "danger"),
      ];
    case "to_disburse":
      return [open("disburse", { amount: item.requested.amount, value_date: today(), due_date: today(90) })];
    case "repayments_due":
      return [open("repay", { amount: item.outstanding.amount })];
    case "my_applications":
      return ["applied", "accepted", "approved"].includes(item.state)
        ? [actionButton(item, "withdraw", t("act.withdraw"), "secondary")]
        : [];
    default:
      return [];
  }
}

function inlineForm(item, key) {
  const open = state.open;
  const values = open.values;
  const field = (name, type, label) =>
    h(
      "label",
      {},
      h("span", {}, label),
      h("input", {
        name, type, value: values[name], required: true,
        oninput: (event) => {
          values[name] = event.target.value;
        },
      }),
    );
  const fields = open.action === "disburse"
    ? [field("amount", "text", `${t("f.amount")} (${item.requested.currency})`), field("value_date", "date", t("f.value_date")), field("due_date", "date", t("f.due_date"))]
    : [field("amount", "text", `${t("f.amount")} (${item.requested.currency})`)];
  const form = h(
    "form",
    {
      class: "inline-form",
      "data-form": open.action,
      onsubmit: (event) => {
        event.preventDefault();
        const money = { amount: values.amount.trim(), currency: item.requested.currency };
        const body = open.action === "disburse"
          ? { amount: money, value_date: values.value_date, due_date: values.due_date }
          : { amount: money };
        act(item, open.action, body);
      },
    },
    fields,
    h("button", { type: "submit", disabled: state.busy }, t("act.submit")),
    h("button", { type: "button", class: "secondary", onclick: () => { state.open = null; render(); } }, t("act.cancel")),
  );
  return h("tr", { class: "form-row" }, h("td", { colspan: 7 }, form));
}

const ACTIONS = {
  accept: ["accept", () => undefined],
  approve: ["review", () => ({ approve: true })],
  reject: ["review", () => ({ approve: false })],
  withdraw: ["withdraw", () => undefined],
  disburse: ["disbursement", (body) => body],
  repay: ["repayment", (body) => body],
};

async function act(item, action, body) {
  const [segment, make] = ACTIONS[action];
  const what = `${t(`act.${action}`)} ${t("financing")} #${item.id}（${scenarioName(item.scenario)}）`;
  state.busy = true;
  render();
  try {
    const out = await api(`/v1/scenarios/${item.scenario}/financings/${item.id}/${segment}`, {
      method: "POST", body: make(body), idempotent: true,
    });
    state.open = null;
    notice({
      kind: "ok",
      term: t(`done.${action}`),
      text: `${t("financing")} #${out.id}（${scenarioName(out.scenario)}）→ ${tState(out.state)}`,
      detail: out.transaction ? `tx ${out.transaction}` : "",
      code: `done_${action}`,
    });
  } catch (error) {
    problemNotice(error, what);
  } finally {
    state.busy = false;
  }
  await loadQueue();
}

// -- applying on the firm's behalf (代申请) ------------------------------------------------------

function applyView() {
  const a = state.apply;
  const scenarios = applyScenarios();
  if (!scenarios.includes(a.scenario)) a.scenario = scenarios[0] || "";
  const spec = state.directory.scenarios.find((s) => s.name === a.scenario);
  const cites = (spec && spec.cites) || ["export-declaration"];
  const firms = state.directory.participants.filter((p) => p.kind === "enterprise" && p.uscc);
  const rows = a.citations.map((c, i) =>
    h(
      "div",
      { class: "row", "data-citation": i },
      h("label", {}, h("span", {}, t("apply.document")), h("input", {
        name: `document-${i}`, required: true, value: c.document, size: 24,
        oninput: (e) => { c.document = e.target.value; },
      })),
      cites.length > 1
        ? h("label", {}, h("span", {}, t("apply.kind")), h(
          "select",
          { name: `kind-${i}`, value: c.kind || cites[0], onchange: (e) => { c.kind = e.target.value; } },
          cites.map((k) => option(k, kindName(k))),
        ))
        : null,
      h("label", {}, h("span", {}, t("f.amount")), h("input", {
        name: `amount-${i}`, required: true, value: c.amount, inputmode: "decimal", size: 14,
        oninput: (e) => { c.amount = e.target.value; },
      })),
      h("label", {}, h("span", {}, t("f.currency")), h("input", {
        name: `currency-${i}`, required: true, value: c.currency, size: 4, maxlength: 3,
        oninput: (e) => { c.currency = e.target.value.toUpperCase(); },
      })),
      a.citations.length > 1
        ? h("button", { type: "button", class: "secondary", onclick: () => { a.citations.splice(i, 1); render(); } }, t("apply.remove"))
        : null,
    ),
  );
  const submit = h("button", { type: "submit", id: "apply-submit", disabled: state.busy }, t("act.submit"));
  const form = h(
    "form",
    {
      id: "apply-form",
      onsubmit: async (event) => {
        event.preventDefault();
        await submitApplication(cites);
      },
    },
    h(
      "div",
      { class: "row" },
      h("label", {}, h("span", {}, t("col.scenario")), h(
        "select",
        { name: "scenario", value: a.scenario, onchange: (e) => { a.scenario = e.target.value; render(); } },
        scenarios.map((s) => option(s, scenarioName(s))),
      )),
      h("label", {}, h("span", {}, t("apply.firm")), h("input", {
        name: "firm", list: "firms", required: true, value: a.firm, size: 24, maxlength: 18,
        oninput: (e) => { a.firm = e.target.value.trim(); },
      })),
      h("datalist", { id: "firms" }, firms.map((f) => h("option", { value: f.uscc }, f.name))),
    ),
    h("h3", {}, t("apply.document")),
    h("div", { class: "citations" }, rows),
    h(
      "div",
      { class: "row" },
      h("button", {
        type: "button", class: "secondary",
        onclick: () => { a.citations.push({ document: "", kind: "", amount: "", currency: "USD" }); render(); },
      }, t("apply.add")),
      submit,
    ),
  );
  return h(
    "section",
    { class: "card", id: "apply" },
    h("header", {}, h("h1", {}, t("apply.title"))),
    h("p", { class: "muted" }, t("apply.hint")),
    form,
  );
}

async function submitApplication(cites) {
  const a = state.apply;
  const body = {
    firm: a.firm,
    citations: a.citations.map((c) => {
      const citation = { document: c.document.trim(), amount: { amount: c.amount.trim(), currency: c.currency.trim() } };
      const kind = c.kind || cites[0];
      if (kind && kind !== cites[0]) citation.kind = kind;
      return citation;
    }),
  };
  state.busy = true;
  render();
  try {
    const out = await api(`/v1/scenarios/${a.scenario}/financings`, { method: "POST", body, idempotent: true });
    notice({
      kind: "ok",
      term: t("done.apply"),
      text: `${t("financing")} #${out.id}（${scenarioName(out.scenario)}）${fmtMoney(out.requested)} → ${tState(out.state)}`,
      detail: out.transaction ? `tx ${out.transaction}` : "",
      code: "done_apply",
    });
    a.citations = [{ document: "", kind: "", amount: "", currency: "USD" }];
  } catch (error) {
    problemNotice(error, `${t("tab.apply")}（${scenarioName(a.scenario)}）`);
  } finally {
    state.busy = false;
    render();
  }
}

// -- document lookup (银行间融资信息互动) --------------------------------------------------------

function lookupView() {
  const l = state.lookup;
  const kinds = state.directory.kinds.length ? state.directory.kinds.map((k) => k.kind) : ["export-declaration"];
  const form = h(
    "form",
    {
      class: "row",
      id: "lookup-form",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          l.result = await api(`/v1/documents/${l.kind}/${encodeURIComponent(l.number.trim())}`);
        } catch (error) {
          l.result = null;
          problemNotice(error, t("lookup.title"));
        }
        render();
      },
    },
    h("label", {}, h("span", {}, t("apply.kind")), h(
      "select",
      { name: "kind", value: l.kind, onchange: (e) => { l.kind = e.target.value; } },
      kinds.map((k) => option(k, kindName(k))),
    )),
    h("label", {}, h("span", {}, t("apply.document")), h("input", {
      name: "number", required: true, value: l.number, size: 26,
      oninput: (e) => { l.number = e.target.value; },
    })),
    h("button", { type: "submit", id: "lookup-submit" }, t("lookup.submit")),
  );
  const r = l.result;
  const result = r
    ? h(
      "div",
      { class: "doc-result card", id: "document", "data-status": r.status },
      h("h2", {}, `${kindName(r.kind)} ${r.number}`),
      h(
        "dl",
        {},
        h("dt", {}, t("doc.status")), h("dd", {}, h("span", { class: `badge ${r.status}` }, tDocStatus(r.status))),
        h("dt", {}, t("doc.face")), h("dd", { "data-field": "face" }, fmtMoney(r.face)),
        h("dt", {}, t("doc.held")), h("dd", { "data-field": "held" }, fmtMoney(r.held)),
        h("dt", {}, t("doc.remaining")), h("dd", { "data-field": "remaining" }, fmtMoney(r.remaining)),
        h("dt", {}, t("doc.issued")), h("dd", {}, r.issued || "—"),
        h("dt", {}, t("doc.used_since")), h("dd", {}, fmtTime(r.used_since)),
        h("dt", {}, t("doc.fingerprint")), h("dd", { class: "mono" }, r.fingerprint),
      ),
    )
    : null;
  return h(
    "div",
    {},
    h("section", { class: "card" }, h("header", {}, h("h1", {}, t("lookup.title"))), h("p", { class: "muted" }, t("lookup.hint")), form),
    result,
  );
}

// -- statistics (the regulator's, or a bank statistician's own) ----------------------------------

function reportQuery(name, extra = {}) {
  const f = state.stats.filters;
  const params = new URLSearchParams({ format: "json" });
  if (f.from) params.set("from", f.from);
  if (f.to) params.set("to", f.to);
  if (f.scenario) params.set("scenario", f.scenario);
  if (f.currency) params.set("currency", f.currency);
  if (state.stats.bank) params.set("bank", state.stats.bank);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return `/v1/reports/${name}?${params}`;
}

async function loadStats() {
  const s = state.stats;
  try {
    const [financing, failures, interceptions] = await Promise.all([
      api(reportQuery("financing-report", { period: s.filters.period })),
      api(reportQuery("verification-failures", { period: s.filters.period })),
      api(reportQuery("interceptions")),
    ]);
    s.data = { financing, failures, interceptions };
    const drill = state.me.regulator ? s.bank : null;
    if (drill || !state.me.regulator) {
      const query = drill ? `?bank=${drill}` : "";
      s.financings = await api(`/v1/financings${query}`);
    } else {
      s.financings = null;
    }
  } catch (error) {
    problemNotice(error, t("tab.stats"));
  }
  if (state.view === "stats") render();
}

// Charts are drawn at the size they are shown (one SVG unit a pixel): the main column's width.
function chartWidth(half) {
  const main = $("#main");
  const content = ((main && main.clientWidth) || 1000) - 48; // main's padding
  const card = 38; // a card's padding and border
  if (half && content >= 858) return Math.floor((content - 18) / 2) - card; // two columns
  return content - card;
}

function groupKey(bank) {
  return state.stats.group === "region" ? `region:${regionOf(bank)}` : bank;
}

function groupLabel(key) {
  return key.startsWith("region:") ? key.slice(7) : nameOf(key);
}

function seriesChart(report) {
  const measure = state.stats.measure;
  const labels = [...new Set(report.rows.map((r) => r.period))].sort();
  const series = new Map();
  const currencies = new Set();
  for (const row of report.rows) {
    const key = `${tLabel(row.scenario)} · ${row.currency}`;
    currencies.add(row.currency);
    if (!series.has(key)) series.set(key, { key, label: key, values: {} });
    const value = measure === "financings" ? Number(row.financings) : Number(row[measure] || 0);
    const values = series.get(key).values;
    values[row.period] = (values[row.period] || 0) + value;
  }
  const unit = measure === "financings"
    ? t("axis.count")
    : currencies.size === 1 ? [...currencies][0] : t("axis.each-currency");
  const yLabel = getLang() === "zh" ? `${t(`measure.${measure}`)}（${unit}）` : `${t(`measure.${measure}`)} (${unit})`;
  return lineChart({
    id: "financing-series",
    width: chartWidth(false),
    title: t("chart.series"),
    summary: `${t("chart.series")}: ${[...series.values()].map((s) => `${s.label} ${fmtNumber(Object.values(s.values).reduce((a, b) => a + b, 0), 2)}`).join("; ")}`,
    labels,
    series: [...series.values()],
    xLabel: t("axis.period"),
    yLabel,
    integer: measure === "financings",
    format: (v) => fmtNumber(v, measure === "financings" ? 0 : 2),
    empty: t("no-data"),
  });
}

function failuresChart(report) {
  const codes = [...new Set(report.rows.map((r) => Number(r.code)))].sort((a, b) => a - b);
  const series = new Map();
  for (const row of report.rows) {
    const key = groupKey(row.bank);
    if (!series.has(key)) series.set(key, { key, label: groupLabel(key), values: {} });
    const values = series.get(key).values;
    values[row.code] = (values[row.code] || 0) + Number(row.failures);
  }
  return barChart({
    id: "failures",
    width: chartWidth(true),
    title: t("chart.failures"),
    summary: t("chart.failures"),
    categories: codes.map((code) => ({ key: String(code), label: tReason(code) })),
    series: [...series.values()],
    yLabel: `${t("axis.count")}`,
    integer: true,
    format: (v) => fmtNumber(v),
    empty: t("no-data"),
  });
}

function interceptionsChart(report) {
  const categories = new Map();
  const duplicate = { key: "duplicate", label: t("series.duplicate"), color: PALETTE[3], values: {} };
  const over = { key: "over-financing", label: t("series.over"), color: PALETTE[1], values: {} };
  for (const row of report.rows) {
    const key = groupKey(row.bank);
    categories.set(key, groupLabel(key));
    const target = reasonCodeOf(row.reason) === 5 ? duplicate : over;
    target.values[key] = (target.values[key] || 0) + 1;
  }
  const drill = state.me.regulator && state.stats.group === "bank" && !state.stats.bank;
  return barChart({
    id: "interceptions",
    width: chartWidth(true),
    title: t("chart.interceptions"),
    summary: `${t("chart.interceptions")}: ${t("series.duplicate")} ${Object.values(duplicate.values).reduce((a, b) => a + b, 0)}, ${t("series.over")} ${Object.values(over.values).reduce((a, b) => a + b, 0)}`,
    categories: [...categories].map(([key, label]) => ({ key, label })),
    series: [duplicate, over],
    yLabel: t("axis.count"),
    integer: true,
    format: (v) => fmtNumber(v),
    empty: t("no-data"),
    onCategory: drill ? (key) => drillBank(key) : null,
  });
}

function banksTable(data) {
  const banks = new Map();
  const bank = (id) => {
    if (!banks.has(id)) banks.set(id, { id, financings: 0, requested: {}, failures: 0, duplicates: 0, overs: 0 });
    return banks.get(id);
  };
  for (const p of state.directory.participants) {
    if (p.kind === "bank" && !p.parent) bank(p.id);
  }
  for (const row of data.financing.rows) {
    const b = bank(row.bank);
    b.financings += Number(row.financings);
    b.requested[row.currency] = addDecimal(b.requested[row.currency] || "0", row.requested || "0");
  }
  for (const row of data.failures.rows) bank(row.bank).failures += Number(row.failures);
  for (const row of data.interceptions.rows) {
    if (reasonCodeOf(row.reason) === 5) bank(row.bank).duplicates += 1;
    else bank(row.bank).overs += 1;
  }
  const rows = [...banks.values()].sort((a, b) => nameOf(a.id).localeCompare(nameOf(b.id)));
  return h(
    "table",
    { id: "banks" },
    h("thead", {}, h(
      "tr",
      {},
      h("th", {}, t("col.bank")),
      h("th", {}, t("col.region")),
      h("th", { class: "num" }, t("col.financings")),
      h("th", { class: "num" }, t("col.requested")),
      h("th", { class: "num" }, t("col.failures")),
      h("th", { class: "num" }, t("col.duplicates")),
      h("th", { class: "num" }, t("col.overs")),
    )),
    h("tbody", {}, rows.map((b) => h(
      "tr",
      { class: "clickable", "data-bank": b.id, onclick: () => drillBank(b.id) },
      h("td", {}, nameOf(b.id)),
      h("td", {}, regionOf(b.id)),
      h("td", { class: "num" }, fmtNumber(b.financings)),
      h("td", { class: "num" }, Object.entries(b.requested).map(([c, a]) => `${c} ${fmtAmount(a)}`).join("; ") || "—"),
      h("td", { class: "num" }, fmtNumber(b.failures)),
      h("td", { class: "num", "data-field": "duplicates" }, fmtNumber(b.duplicates)),
      h("td", { class: "num", "data-field": "overs" }, fmtNumber(b.overs)),
    ))),
  );
}

function financingsTable(listing) {
  if (!listing.financings.length) return h("p", { class: "empty" }, t("none"));
  return h(
    "table",
    { id: "bank-financings" },
    h("thead", {}, h(
      "tr",
      {},
      h("th", {}, t("col.id")),
      h("th", {}, t("col.scenario")),
      h("th", {}, t("col.firm")),
      h("th", { class: "num" }, t("col.requested")),
      h("th", { class: "num" }, t("col.outstanding")),
      h("th", {}, t("col.state")),
      h("th", {}, t("col.applied_at")),
    )),
    h("tbody", {}, listing.financings.map((f) => h(
      "tr",
      { class: "clickable", "data-financing": `${f.scenario}/${f.id}`, onclick: () => openFinancing(f.scenario, f.id) },
      h("td", { class: "mono" }, `#${f.id}`),
      h("td", {}, scenarioName(f.scenario)),
      h("td", {}, f.firm ? nameOf(f.firm) : "—"),
      h("td", { class: "num" }, fmtMoney(f.requested)),
      h("td", { class: "num" }, fmtMoney(f.outstanding)),
      h("td", {}, h("span", { class: `badge ${f.state}` }, tState(f.state))),
      h("td", {}, fmtTime(f.applied_at)),
    ))),
  );
}

function kpis(data) {
  let count = 0;
  const requested = {};
  for (const row of data.financing.rows) {
    count += Number(row.financings);
    requested[row.currency] = addDecimal(requested[row.currency] || "0", row.requested || "0");
  }
  const failures = data.failures.rows.reduce((n, r) => n + Number(r.failures), 0);
  const kpi = (id, label, value) => h("div", { class: "kpi", "data-kpi": id }, h("div", { class: "value" }, value), h("div", { class: "label" }, label));
  return h(
    "div",
    { class: "kpis" },
    kpi("financings", t("kpi.financings"), fmtNumber(count)),
    kpi("requested", t("kpi.requested"), Object.entries(requested).map(([c, a]) => `${c} ${fmtAmount(a)}`).join(" · ") || "—"),
    kpi("failures", t("kpi.failures"), fmtNumber(failures)),
    kpi("interceptions", t("kpi.interceptions"), fmtNumber(data.interceptions.rows.length)),
  );
}

function statsView() {
  const s = state.stats;
  const f = s.filters;
  const reload = () => {
    render();
    loadStats();
  };
  const input = (name, type) => h("input", {
    name, type, value: f[name],
    onchange: (e) => { f[name] = e.target.value; reload(); },
  });
  const regulator = state.me.regulator;
  const filters = h(
    "div",
    { class: "row card", id: "filters" },
    h("label", {}, h("span", {}, t("stats.from")), input("from", "date")),
    h("label", {}, h("span", {}, t("stats.to")), input("to", "date")),
    h("label", {}, h("span", {}, t("stats.scenario")), h(
      "select",
      { name: "scenario", value: f.scenario, onchange: (e) => { f.scenario = e.target.value; reload(); } },
      option("", t("stats.all")),
      state.directory.scenarios.map((sc) => option(sc.name, getLang() === "zh" ? sc.zh : sc.en)),
    )),
    h("label", {}, h("span", {}, t("stats.currency")), h("input", {
      name: "currency", value: f.currency, size: 4, maxlength: 3, placeholder: "USD",
      onchange: (e) => { f.currency = e.target.value.trim().toUpperCase(); reload(); },
    })),
    h("label", {}, h("span", {}, t("stats.period")), h(
      "select",
      { name: "period", value: f.period, onchange: (e) => { f.period = e.target.value; reload(); } },
      option("day", t("period.day")),
      option("month", t("period.month")),
    )),
    h("label", {}, h("span", {}, t("stats.group")), h(
      "select",
      { name: "group", value: s.group, onchange: (e) => { s.group = e.target.value; render(); } },
      option("bank", t("group.bank")),
      option("region", t("group.region")),
    )),
    h("button", { type: "button", class: "secondary", id: "refresh", onclick: () => loadStats() }, t("refresh")),
  );
  const crumbs = regulator && s.bank
    ? h(
      "div",
      { class: "crumbs", id: "drill" },
      h("button", { type: "button", class: "secondary", id: "drill-up", onclick: () => drillBank(null) }, `← ${t("drill.all")}`),
      h("h2", { "data-bank": s.bank }, `${t("drill.bank")}：${nameOf(s.bank)} · ${regionOf(s.bank)}`),
    )
    : null;
  const title = h("h1", {}, regulator ? t("stats.title") : t("stats.title.bank"));
  if (!s.data) return h("div", { id: "stats" }, title, filters, h("p", { class: "muted" }, t("loading")));
  const measure = h(
    "select",
    { name: "measure", value: s.measure, onchange: (e) => { s.measure = e.target.value; render(); } },
    ["requested", "approved", "disbursed", "financings"].map((m) => option(m, t(`measure.${m}`))),
  );
  const card = (id, heading, chart, extra) => h(
    "section",
    { class: "card chart", id: `chart-${id}` },
    h("header", {}, h("h2", {}, heading), extra),
    chart,
  );
  return h(
    "div",
    { id: "stats" },
    title,
    filters,
    crumbs,
    kpis(s.data),
    card("series", t("chart.series"), seriesChart(s.data.financing), h("label", { class: "hint" }, h("span", {}, t("stats.measure")), measure)),
    h(
      "div",
      { class: "grid" },
      card("failures", t("chart.failures"), failuresChart(s.data.failures)),
      card("interceptions", t("chart.interceptions"), interceptionsChart(s.data.interceptions)),
    ),
    regulator && !s.bank ? h("section", { class: "card" }, h("header", {}, h("h2", {}, t("chart.banks"))), banksTable(s.data)) : null,
    s.financings
      ? h("section", { class: "card" }, h("header", {}, h("h2", {}, t("drill.financings")), h("span", { class: "hint" }, `${t("as-of")} ${s.financings.block}`)), financingsTable(s.financings))
      : null,
  );
}

function drillBank(bank) {
  state.stats.bank = bank;
  state.stats.data = null;
  state.stats.financings = null;
  render();
  loadStats();
}

// -- one financing, with its history ------------------------------------------------------------

async function openFinancing(scenario, id) {
  const drawer = $("#drawer");
  drawer.hidden = false;
  drawer.replaceChildren(h("p", { class: "muted" }, t("loading")));
  let f;
  try {
    f = await api(`/v1/scenarios/${scenario}/financings/${id}`);
  } catch (error) {
    drawer.hidden = true;
    problemNotice(error, `${t("financing")} #${id}`);
    return;
  }
  const item = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  drawer.dataset.financing = `${scenario}/${id}`;
  drawer.replaceChildren(
    h("div", { class: "crumbs" },
      h("h2", { id: "drawer-title" }, `${t("financing")} #${f.id} · ${scenarioName(f.scenario)}`),
      h("span", { class: "spacer" }),
      h("button", { type: "button", class: "secondary", id: "drawer-close", onclick: () => { drawer.hidden = true; } }, t("close"))),
    h(
      "dl",
      {},
      item(t("col.state"), h("span", { class: `badge ${f.state}` }, tState(f.state))),
      item(t("col.bank"), `${nameOf(f.bank)}`),
      item(t("col.requested"), fmtMoney(f.requested)),
      item(t("measure.disbursed"), fmtMoney(f.disbursed)),
      item(t("col.outstanding"), fmtMoney(f.outstanding)),
      item(t("f.value_date"), f.value_date || "—"),
      item(t("f.due_date"), f.due_date || "—"),
      item(t("applicant"), h("span", { class: "mono" }, f.applicant)),
    ),
    h("h3", {}, `${t("history")} (${t("history.source")}: ${f.history_source || "—"})`),
    h("ol", { class: "timeline" }, (f.history || []).map((step) => h(
      "li",
      { "data-action": step.action },
      h("strong", {}, tAction(step.action)),
      `${step.amount ? ` ${fmtMoney(step.amount)}` : ""} → ${tState(step.state)} · ${fmtTime(step.at)}`,
      h("div", { class: "mono muted" }, step.operator),
    ))),
  );
}

// -- live updates: the gateway's event stream ---------------------------------------------------

let refreshTimer = null;

function onChainEvent() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    if (state.view === "queue") loadQueue();
    if (state.view === "stats") {
      // The statistics come from the indexer's store: a moment behind the chain.
      setTimeout(loadStats, 1200);
      setTimeout(loadStats, 4000);
    }
  }, 300);
}

function stopEvents() {
  if (state.events) state.events.abort();
  state.events = null;
}

async function startEvents(cursor) {
  stopEvents();
  if (!state.token) return;
  const controller = new AbortController();
  state.events = controller;
  let last = cursor;
  try {
    const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
    if (last) headers["Last-Event-ID"] = last;
    const response = await fetch("/v1/events", { headers, signal: controller.signal });
    if (!response.ok || !response.body) return; // not a bank or the regulator: no events
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        for (const line of message.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          if (line.startsWith("id:")) last = line.slice(3).trim();
        }
        if (event !== "ready" && !message.startsWith(":")) onChainEvent();
      }
    }
  } catch {
    // aborted, or the stream broke: resumed below
  }
  if (state.events === controller && !controller.signal.aborted) {
    setTimeout(() => { if (state.events === controller) startEvents(last); }, 3000);
  }
}

// -- start --------------------------------------------------------------------------------------

async function loadView() {
  if (state.view === "queue") await loadQueue();
  else if (state.view === "stats") await loadStats();
  else render();
}

function switchLang(lang) {
  setLang(lang);
  localStorage.setItem(LANG_KEY, lang);
  render();
  const drawer = $("#drawer");
  if (!drawer.hidden && drawer.dataset.financing) {
    const [scenario, id] = drawer.dataset.financing.split("/");
    openFinancing(scenario, id);
  }
}

async function start() {
  setLang(localStorage.getItem(LANG_KEY) || "zh");
  for (const button of document.querySelectorAll(".lang button")) {
    button.addEventListener("click", () => switchLang(button.dataset.lang));
  }
  $("#logout").addEventListener("click", () => signOut());
  render();
  if (state.token) {
    try {
      await signIn(state.token);
    } catch {
      signOut();
    }
  }
  // A quiet refresh of what is on screen, besides the event stream.
  setInterval(() => {
    if (!state.me || state.busy || state.open) return;
    if (state.view === "queue") loadQueue();
    if (state.view === "stats") loadStats();
  }, 15000);
}

start();
