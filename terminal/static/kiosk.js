// The kiosk: renders the terminal's view (GET /api/state) and sends the voter's actions.
// All state that matters lives in the terminal; this page only keeps the choices being
// made on the ballot screen and the display options. Works offline: no remote assets.
"use strict";

const PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
let catalogue = {};
let view = null;
let lang = "fa";
let pin = "";
let choices = {};
let contestIndex = 0;
let search = "";
let busy = false;

const screen = () => document.getElementById("screen");

function digits(text) {
  return lang === "fa" ? String(text).replace(/[0-9]/g, (d) => PERSIAN[d]) : String(text);
}

function t(key, values) {
  const entry = catalogue[key] || catalogue.terminal_error || { fa: key, en: key };
  let text = entry[lang];
  for (const [name, value] of Object.entries(values || {})) {
    text = text.replace(`{${name}}`, value);
  }
  return digits(text);
}

function name(pair) {
  return pair ? pair[lang] || pair.fa : "";
}

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "onclick") node.addEventListener("click", value);
    else if (key === "text") node.textContent = value;
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function button(key, handler, attributes) {
  return el("button", { type: "button", onclick: handler, ...(attributes || {}) }, t(key));
}

async function post(path, body) {
  if (busy) return;
  busy = true;
  try {
    const response = await fetch(`/api/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const answer = await response.json();
    if (response.ok) show(answer);
    else showDialog(lang === "fa" ? answer.message_fa : answer.message_en, [["finish", closeDialog]]);
  } finally {
    busy = false;
  }
}

function showDialog(message, actions) {
  const dialog = document.getElementById("dialog");
  const box = el("div", { class: "box" }, el("p", { id: "dialog-message", text: message }));
  const row = el("div", { class: "actions" });
  for (const [key, handler, cls] of actions) row.append(button(key, handler, { class: cls || "" }));
  box.append(row);
  dialog.replaceChildren(box);
  dialog.hidden = false;
  row.querySelector("button").focus();
}

function closeDialog() {
  document.getElementById("dialog").hidden = true;
  focusScreen();
}

function focusScreen() {
  const target = screen().querySelector("[autofocus], button:not(:disabled), input");
  (target || screen()).focus();
}

function notice(data, ok) {
  if (!data) return null;
  return el("div", { class: ok ? "notice ok" : "notice", role: "alert", id: "notice" },
    el("p", { text: data[lang] || data.fa }));
}

// --- screens -------------------------------------------------------------------------

function idleScreen() {
  const closed = view.polls_state !== "open";
  const key = { not_opened: "polls_not_open", paused: "polls_paused", closed: "polls_closed" };
  return [
    el("div", { class: "card-slot", "aria-hidden": "true" }, el("div", { class: "card-picture" })),
    el("h1", { class: "center", text: t("insert_card") }),
    el("p", { class: "center", text: t("or_scan_pass") }),
    closed ? el("p", { class: "center status-line", id: "polls", text: t(key[view.polls_state] || "polls_not_open") }) : null,
  ];
}

function waitScreen(key) {
  return [el("div", { class: "spinner", role: "progressbar" }), el("h1", { class: "center", text: t(key) })];
}

function pinScreen() {
  const pad = el("div", { class: "keypad", role: "group", "aria-label": t("enter_pin") });
  for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9"]) {
    pad.append(el("button", { type: "button", class: "key", "data-digit": d, onclick: () => typeDigit(d) }, digits(d)));
  }
  pad.append(button("clear", () => { pin = ""; render(); }, { class: "danger", id: "pin-clear" }));
  pad.append(el("button", { type: "button", class: "key", "data-digit": "0", onclick: () => typeDigit("0") }, digits("0")));
  pad.append(button("confirm", submitPin, { class: "primary", id: "pin-ok", disabled: pin.length < 4 ? "" : null }));
  const wrong = view.tries_left !== null && view.tries_left < 3;
  return [
    el("h1", { class: "center", text: t("enter_pin") }),
    view.holder_name ? el("p", { class: "center", text: name(view.holder_name) }) : null,
    wrong ? notice({ fa: t("tries_left", { n: view.tries_left }), en: t("tries_left", { n: view.tries_left }) }) : null,
    el("p", { class: "center en", text: t("pin_warning") }),
    el("div", { class: "pin-display", id: "pin-display", "aria-label": t("enter_pin"), text: "●".repeat(pin.length) }),
    pad,
    el("div", { class: "actions" }, button("cancel", () => post("cancel"), { class: "danger" })),
  ];
}

function typeDigit(d) {
  if (pin.length < 8) pin += d;
  render();
}

function submitPin() {
  if (pin.length < 4) return;
  const value = pin;
  pin = "";
  post("pin", { pin: value });
}

function chosenIn(contest) {
  return choices[contest.contest_id] || [];
}

function toggle(contest, selectionId) {
  const chosen = chosenIn(contest);
  if (chosen.includes(selectionId)) {
    choices[contest.contest_id] = chosen.filter((item) => item !== selectionId);
  } else if (contest.votes_allowed === 1) {
    choices[contest.contest_id] = [selectionId];
  } else if (chosen.length < contest.votes_allowed) {
    choices[contest.contest_id] = [...chosen, selectionId];
  }
  render(`[data-selection="${selectionId}"]`);
}

function matches(candidate) {
  if (!search) return true;
  const query = search.trim().toLowerCase().replace(/[۰-۹]/g, (d) => PERSIAN.indexOf(d));
  return String(candidate.code).includes(query) ||
    candidate.name.fa.includes(search.trim()) || candidate.name.en.toLowerCase().includes(query);
}

function ballotScreen() {
  const contest = view.contests[contestIndex];
  const chosen = chosenIn(contest);
  const full = contest.votes_allowed > 1 && chosen.length >= contest.votes_allowed;
  const list = el("div", { class: "candidates", role: "group", "aria-label": name(contest.name) });
  const shown = contest.candidates.filter(matches);
  for (const candidate of shown) {
    const pressed = chosen.includes(candidate.selection_id);
    list.append(el("button", {
      type: "button", class: "candidate", "aria-pressed": String(pressed),
      "data-selection": candidate.selection_id, disabled: full && !pressed ? "" : null,
      onclick: () => toggle(contest, candidate.selection_id),
    }, el("span", { class: "name", text: name(candidate.name) }),
    el("span", { class: "code", text: digits(candidate.code) })));
  }
  const input = el("input", {
    type: "search", class: "search", id: "search", value: search,
    placeholder: t("search"), "aria-label": t("search"), inputmode: "search",
  });
  input.addEventListener("input", () => { search = input.value; render("#search"); });
  const last = contestIndex === view.contests.length - 1;
  return [
    el("h1", { text: name(contest.name) }),
    el("p", { class: "status-line", id: "limit", text: contest.votes_allowed === 1 ? t("choose_one") : t("choose_up_to", { n: contest.votes_allowed }) }),
    el("p", { "aria-live": "polite", id: "chosen-count", text: t("chosen_of", { k: chosen.length, n: contest.votes_allowed }) + (full ? " — " + t("limit_reached") : "") }),
    input,
    shown.length ? list : el("p", { text: t("no_match") }),
    el("div", { class: "actions" },
      contestIndex > 0 ? button("previous", () => { contestIndex -= 1; search = ""; render(); }) : button("cancel", () => post("cancel"), { class: "danger" }),
      button(last ? "review" : "next", () => (last ? toReview() : (contestIndex += 1, search = "", render())), { class: "primary", id: "next" })),
  ];
}

function toReview() {
  const under = view.contests.filter((c) => chosenIn(c).length < c.votes_allowed);
  const send = () => { closeDialog(); post("review", { choices }); };
  if (under.length) {
    const names = under.map((c) => name(c.name)).join("، ");
    showDialog(`${t("undervote_confirm")} (${names})`, [["edit", closeDialog], ["confirm", send, "primary"]]);
  } else {
    send();
  }
}

function reviewList() {
  const current = view.choices || choices;
  return view.contests.map((contest) => {
    const picked = current[contest.contest_id] || [];
    const items = picked.map((id) => {
      const candidate = contest.candidates.find((c) => c.selection_id === id);
      return el("li", { text: `${digits(candidate.code)} — ${name(candidate.name)}` });
    });
    return el("section", { class: "review-contest" }, el("h2", { text: name(contest.name) }),
      items.length ? el("ul", {}, ...items) : el("p", { text: t("blank_contest") }));
  });
}

function reviewScreen() {
  return [
    el("h1", { text: t("review") }),
    ...reviewList(),
    el("div", { class: "actions" },
      button("edit", () => post("edit"), { id: "edit" }),
      button("confirm", () => post("confirm"), { class: "primary", id: "confirm" })),
  ];
}

function trackingBlock() {
  if (!view.tracking) return null;
  return el("div", {}, el("h2", { class: "center", text: t("tracking_code") }),
    el("div", { class: "tracking", id: "tracking-code", text: view.tracking.short }),
    el("div", { class: "tracking-full", text: view.tracking.code }));
}

function trackingScreen() {
  return [
    trackingBlock(),
    el("p", { class: "center", text: t("cast_or_challenge") }),
    el("div", { class: "actions" },
      button("challenge", () => post("challenge"), { id: "challenge" }),
      button("cast", () => post("cast"), { class: "primary", id: "cast", autofocus: "" })),
  ];
}

function finishedScreen(key, ok) {
  return [
    el("h1", { class: "center", text: t(key) }),
    notice(view.notice, ok),
    key === "receipt_done" ? trackingBlock() : null,
    view.printed && view.printed.printer_problem
      ? notice({ fa: t(view.printed.printer_problem), en: t(view.printed.printer_problem) })
      : null,
    el("div", { class: "actions" }, button("finish", () => post("dismiss"), { class: "primary", id: "finish" })),
  ];
}

function challengedScreen() {
  return [
    el("h1", { class: "center", text: t("challenged_done") }),
    trackingBlock(),
    view.printed && view.printed.printer_problem
      ? notice({ fa: t(view.printed.printer_problem), en: t(view.printed.printer_problem) })
      : null,
    el("div", { class: "actions" },
      button("cancel", () => post("cancel"), { class: "danger" }),
      button("vote_again", () => { contestIndex = 0; post("vote-again"); }, { class: "primary", id: "vote-again" })),
  ];
}

function officialsScreen() {
  const o = view.officials;
  const state = view.polls_state;
  const figure = (key, value) => [el("dt", { text: t(key) }), el("dd", { text: digits(value) })];
  const backlog = o.waiting > 0 || (view.notice && view.notice.code === "backlog_waiting");
  const closeActions = [["cancel", closeDialog], ["close_polls", () => { closeDialog(); post("officials/close"); }, "danger"]];
  if (backlog) closeActions.push(["close_anyway", () => { closeDialog(); post("officials/close", { override_backlog: true }); }, "danger"]);
  const closeWithConfirm = () => showDialog(t("close_confirm"), closeActions);
  return [
    el("h1", { text: t("officials") }),
    el("p", { text: lang === "fa" ? o.name : o.name_en }),
    notice(view.notice, true),
    el("dl", { class: "figures" },
      ...figure("polls_state", t(`state_${state}`)),
      ...figure("ballots_cast", o.cast),
      ...figure("ballots_challenged", o.challenged),
      ...(o.rejected ? figure("rejected_by_server", o.rejected) : [])),
    el("p", { class: "uplink", id: "uplink", text: t("waiting_to_send", { n: o.waiting }) }),
    el("dl", { class: "figures", id: "link-status" },
      ...figure("link_status", t(o.online ? "link_online" : "link_offline")),
      ...(o.oldest_waiting_age_s !== null ? figure("oldest_waiting", o.oldest_waiting_age_s) : []),
      ...(o.last_error ? [el("dt", { text: t("last_link_error") }), el("dd", { text: o.last_error, dir: "ltr" })] : [])),
    el("div", { class: "actions" },
      button("open_polls", () => post("officials/open"), { class: "primary", id: "open-polls", disabled: state === "not_opened" ? null : "" }),
      button("pause_polls", () => post("officials/pause"), { id: "pause-polls", disabled: state === "open" ? null : "" }),
      button("resume_polls", () => post("officials/resume"), { id: "resume-polls", disabled: state === "paused" ? null : "" }),
      button("close_polls", closeWithConfirm, { class: "danger", id: "close-polls", disabled: state === "open" || state === "paused" ? null : "" })),
    el("div", { class: "actions" }, button("exit", () => post("dismiss"), { id: "exit" })),
  ];
}

const SCREENS = {
  idle: idleScreen,
  reading_card: () => waitScreen("reading_card"),
  pin: pinScreen,
  inquiry: () => waitScreen("inquiry"),
  ballot: ballotScreen,
  review: reviewScreen,
  encrypting: () => waitScreen("encrypting"),
  tracking: trackingScreen,
  casting: () => waitScreen("casting"),
  receipt: () => finishedScreen("receipt_done", true),
  challenged: challengedScreen,
  refused: () => finishedScreen("refused_title", false),
  cancelled: () => finishedScreen("cancelled", false),
  officials: officialsScreen,
};

// --- rendering and the view loop -----------------------------------------------------

function render(keepFocus) {
  if (!view) return;
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  document.getElementById("station").textContent = name(view.station.name);
  document.getElementById("toggle-language").textContent = t("language");
  document.getElementById("toggle-contrast").textContent = t("contrast");
  document.getElementById("toggle-large").textContent = t("large_text");
  const main = screen();
  main.dataset.screen = view.state;
  main.replaceChildren(...SCREENS[view.state]().filter((node) => node));
  const target = keepFocus && main.querySelector(keepFocus);
  if (target) {
    target.focus();
    if (target.tagName === "INPUT") target.setSelectionRange(target.value.length, target.value.length);
  } else {
    focusScreen();
  }
}

function show(next) {
  const previous = view ? view.state : null;
  if (next.version === (view && view.version) && next.state === previous) return;
  view = next;
  if (view.state === "ballot" && previous !== "ballot") {
    choices = JSON.parse(JSON.stringify(view.choices || {}));
    contestIndex = 0;
    search = "";
  }
  if (view.state === "pin" && previous !== "pin") pin = "";
  if (view.state === "idle" && previous !== "idle") resetDisplay();
  render();
}

function resetDisplay() {
  lang = "fa";
  document.documentElement.classList.remove("contrast", "large");
  document.getElementById("toggle-contrast").setAttribute("aria-pressed", "false");
  document.getElementById("toggle-large").setAttribute("aria-pressed", "false");
}

async function loop() {
  for (;;) {
    try {
      const after = view ? view.version : -1;
      const response = await fetch(`/api/state?after=${after}&wait=20`);
      show(await response.json());
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function toggleClass(id, cls) {
  const on = document.documentElement.classList.toggle(cls);
  document.getElementById(id).setAttribute("aria-pressed", String(on));
}

// Typed digits then Enter confirm the PIN; Enter on Clear/Cancel still activates them.
function isControl(node) {
  return node.tagName === "BUTTON" && !node.classList.contains("key");
}

function onKey(event) {
  if (!view || !document.getElementById("dialog").hidden) return;
  if (view.state === "pin") {
    const d = "0123456789".includes(event.key) ? event.key : String(PERSIAN.indexOf(event.key));
    if (event.key.length === 1 && d !== "-1") { typeDigit(d); event.preventDefault(); }
    else if (event.key === "Backspace") { pin = pin.slice(0, -1); render(); event.preventDefault(); }
    else if (event.key === "Enter" && !isControl(document.activeElement)) { submitPin(); event.preventDefault(); }
  }
}

async function start() {
  catalogue = await (await fetch("/api/catalogue")).json();
  document.getElementById("toggle-language").addEventListener("click", () => { lang = lang === "fa" ? "en" : "fa"; render(); });
  document.getElementById("toggle-contrast").addEventListener("click", () => toggleClass("toggle-contrast", "contrast"));
  document.getElementById("toggle-large").addEventListener("click", () => toggleClass("toggle-large", "large"));
  document.addEventListener("keydown", onKey);
  loop();
}

start();
