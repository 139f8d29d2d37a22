// The kiosk: renders the terminal's view (GET /api/state) and sends the voter's actions.
// All state that matters lives in the terminal; this page only keeps the choices being
// made on the ballot screen and the display options. Works offline: no remote assets.
//
// Every screen is { content, actions, focus }: the actions sit in a bar pinned to the
// bottom of the window, so they are on screen at 800×480 whatever the content, and focus
// starts on `focus` (never a destructive action) or else on the screen's heading.
"use strict";

import { audio, audioKey, describe, resetAudio, say, summary } from "./kiosk-audio.js";
import { dialogKey, dialogOpen, dropStaleDialog, hideDialog, showDialog } from "./kiosk-dialog.js";
import { arrowTarget, columnCount, measureCapacity } from "./kiosk-grid.js";
import { connectionLost, fetchCatalogue, keepPageOffline, pause } from "./kiosk-connection.js";
import { officialsScreen } from "./kiosk-officials.js";
import { PERSIAN, button, digits, el, latinDigit, name, t, ui } from "./kiosk-ui.js";

let pin = "";
let pinTooShort = false;
let choices = {};
let contestIndex = 0;
let search = "";
let page = 0;
let perPage = 0;
let busyOn = null;
let deadline = null; // when the terminal cancels this idle session (view.seconds_left)
const COUNTDOWN_S = 30;

const screen = () => document.getElementById("screen");

// One request at a time per screen: a second tap on the same screen is ignored, but once
// the view has moved on (the long poll can bring it before the answer) the new screen
// answers at once.
async function post(path, body) {
  const on = ui.view.version;
  if (busyOn !== null && busyOn === on) return;
  busyOn = on;
  try {
    const response = await fetch(`/api/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const answer = await response.json();
    // An answer older than what the long poll already showed is stale.
    if (response.ok) {
      noteDeadline(answer);
      if (answer.version > ui.view.version) show(answer);
    } else ask(ui.lang === "fa" ? answer.message_fa : answer.message_en, [["finish", closeDialog, "primary"]]);
  } finally {
    if (busyOn === on) busyOn = null;
  }
}

// Cancel voids the voter's authorization: one stray tap must not do it. Back is safe.
function confirmCancel() {
  showDialog(t("cancel_confirm"), [["back", closeDialog, "primary"], ["cancel", () => { hideDialog(); post("cancel"); }, "danger"]]);
}

// The last COUNTDOWN_S seconds before an idle session is cancelled are counted down, with
// a button that tells the terminal the voter is still there.
function noteDeadline(view) {
  deadline = typeof view.seconds_left === "number" ? Date.now() + view.seconds_left * 1000 : null;
  tickCountdown();
}

function tickCountdown() {
  const box = document.getElementById("countdown");
  const left = deadline === null ? null : Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
  if (left === null || left > COUNTDOWN_S) {
    box.hidden = true;
    return;
  }
  box.replaceChildren(el("p", { text: t("session_ends_in", { seconds: left }) }),
    button("still_here", () => post("still-here"), { class: "primary" }));
  box.hidden = false;
}

function closeDialog() {
  hideDialog();
  focusDefault();
  say(...summary());
}

// A dialog, spoken in audio mode: its question, then the (safe) button focus starts on.
function ask(message, actions) {
  showDialog(message, actions);
  say(message, describe(document.activeElement));
}

function notice(data, ok, id) {
  if (!data) return null;
  return el("div", { class: ok ? "notice ok" : "notice", role: "alert", id: id || "notice" },
    el("p", { text: data[ui.lang] || data.fa }));
}

function heading(key, attributes) {
  return el("h1", { tabindex: "-1", ...(attributes || {}) }, key);
}

function printerNotice() {
  const problem = ui.view.printed && ui.view.printed.printer_problem;
  return problem ? notice({ fa: t(problem), en: t(problem) }, false, "printer-notice") : null;
}

// --- screens -------------------------------------------------------------------------

function idleScreen() {
  const closed = ui.view.polls_state !== "open";
  const key = { not_opened: "polls_not_open", paused: "polls_paused", closed: "polls_closed" };
  return {
    content: [
      el("div", { class: "card-slot", "aria-hidden": "true" }, el("div", { class: "card-picture" })),
      heading(t(ui.view.card_in ? "take_card" : "insert_card"), { class: "center" }),
      el("p", { class: "center", text: t("or_scan_pass") }),
      closed ? el("p", { class: "center status-line", id: "polls", text: t(key[ui.view.polls_state] || "polls_not_open") }) : null,
    ],
    actions: [],
  };
}

function waitScreen(key) {
  return {
    content: [el("div", { class: "spinner", role: "progressbar" }), heading(t(key), { class: "center" })],
    actions: [],
  };
}

function digitKey(d) {
  return el("button", { type: "button", class: "key", "data-digit": d, onclick: () => typeDigit(d, `[data-digit="${d}"]`) }, digits(d));
}

function pinScreen() {
  const pad = el("div", { class: "keypad", role: "group", "aria-label": t("enter_pin") });
  for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9"]) pad.append(digitKey(d));
  pad.append(button("clear", clearPin, { class: "danger", id: "pin-clear" }));
  pad.append(digitKey("0"));
  pad.append(el("button", { type: "button", class: "key", id: "pin-back", "aria-label": t("delete_digit"), onclick: () => deleteDigit("#pin-back") }, "⌫"));
  const wrong = ui.view.tries_left !== null && ui.view.tries_left < 3;
  const triesLeft = t("tries_left", { n: ui.view.tries_left });
  // What went wrong comes first, so it is on screen whatever the text size.
  const info = el("div", { class: "pin-info" },
    pinTooShort ? notice({ fa: t("invalid_pin"), en: t("invalid_pin") }, false, "pin-why") : null,
    wrong ? notice({ fa: triesLeft, en: triesLeft }) : null,
    heading(t("enter_pin")),
    el("div", { class: "pin-display", id: "pin-display", "aria-label": t("enter_pin"), text: "●".repeat(pin.length) }),
    ui.view.holder_name ? el("p", { class: "holder", text: name(ui.view.holder_name) }) : null,
    el("p", { class: "en", text: t("pin_warning") }));
  return {
    content: [el("div", { class: "pin-layout" }, info, pad)],
    actions: [
      button("cancel", confirmCancel, { class: "danger" }),
      button("confirm", submitPin, { class: "primary", id: "pin-ok" }),
    ],
  };
}

// keepFocus: the key that was touched; typed digits leave focus on the heading, where
// Enter confirms.
function typeDigit(d, keepFocus) {
  if (pin.length < 8) pin += d;
  pinTooShort = false;
  render(keepFocus);
  say(t("digits_entered", { n: pin.length }));
}

function deleteDigit(keepFocus) {
  pin = pin.slice(0, -1);
  render(keepFocus);
  say(t("digits_entered", { n: pin.length }));
}

function clearPin() {
  pin = "";
  pinTooShort = false;
  render();
}

// Fewer than four digits: say so instead of doing nothing.
function submitPin() {
  if (pin.length < 4) {
    pinTooShort = true;
    render();
    say(t("invalid_pin"));
    return;
  }
  const value = pin;
  pin = "";
  post("pin", { pin: value });
}

function chosenIn(contest) {
  return choices[contest.contest_id] || [];
}

function isFull(contest) {
  return contest.votes_allowed > 1 && chosenIn(contest).length >= contest.votes_allowed;
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
  say(describe(document.activeElement));
}

function matches(candidate) {
  if (!search) return true;
  const query = search.trim().toLowerCase().replace(/[۰-۹]/g, (d) => PERSIAN.indexOf(d));
  return String(candidate.code).includes(query) ||
    candidate.name.fa.includes(search.trim()) || candidate.name.en.toLowerCase().includes(query);
}

function shownCandidates() {
  return ui.view.contests[contestIndex].candidates.filter(matches);
}

function pageCount(count) {
  return perPage ? Math.max(1, Math.ceil(count / perPage)) : 1;
}

function turnPage(step) {
  page += step;
  render(step > 0 ? "#page-next" : "#page-previous");
}

function pager(count) {
  const pages = pageCount(count);
  if (pages < 2) return null;
  return el("div", { class: "pager", role: "group", "aria-label": t("pages") },
    el("button", { type: "button", id: "page-previous", "aria-label": t("page_previous"), disabled: page === 0 ? "" : null, onclick: () => turnPage(-1) }, "▲"),
    el("span", { id: "page-of", text: t("page_of", { k: page + 1, n: pages }) }),
    el("button", { type: "button", id: "page-next", "aria-label": t("page_next"), disabled: page >= pages - 1 ? "" : null, onclick: () => turnPage(1) }, "▼"));
}

function changeContest(step) {
  contestIndex += step;
  search = "";
  page = 0;
  render();
}

function ballotScreen() {
  const contest = ui.view.contests[contestIndex];
  const chosen = chosenIn(contest);
  const full = isFull(contest);
  const shown = shownCandidates();
  page = Math.min(page, pageCount(shown.length) - 1);
  const first = perPage ? page * perPage : 0;
  const visible = perPage ? shown.slice(first, first + perPage) : shown;
  const list = el("div", { class: "candidates", role: "group", "aria-label": name(contest.name) });
  visible.forEach((candidate, offset) => {
    const pressed = chosen.includes(candidate.selection_id);
    list.append(el("button", {
      type: "button", class: "candidate", "aria-pressed": String(pressed),
      "data-selection": candidate.selection_id, "data-index": String(first + offset),
      "aria-disabled": full && !pressed ? "true" : null,
      onclick: () => { if (!full || pressed) toggle(contest, candidate.selection_id); },
    }, el("span", { class: "name", text: name(candidate.name) }),
    el("span", { class: "code", text: digits(candidate.code) })));
  });
  const input = el("input", {
    type: "search", class: "search", id: "search", value: search,
    placeholder: t("search"), "aria-label": t("search"), inputmode: "search",
  });
  input.addEventListener("input", () => { search = input.value; page = 0; render("#search"); });
  const last = contestIndex === ui.view.contests.length - 1;
  const limit = contest.votes_allowed === 1 ? t("choose_one") : t("choose_up_to", { n: contest.votes_allowed });
  const count = t("chosen_of", { k: chosen.length, n: contest.votes_allowed }) + (full ? " — " + t("limit_reached") : "");
  return {
    content: [
      el("div", { class: "ballot-head" },
        el("div", { class: "ballot-title" },
          heading(name(contest.name)),
          el("p", {},
            el("span", { class: "status-line", id: "limit", text: limit }), " ",
            el("span", { "aria-live": "polite", id: "chosen-count", text: count }))),
        input),
      shown.length ? list : el("p", { text: t("no_match") }),
    ],
    actions: [
      contestIndex > 0 ? button("previous", () => changeContest(-1)) : button("cancel", confirmCancel, { class: "danger" }),
      pager(shown.length),
      button(last ? "review" : "next", () => (last ? toReview() : changeContest(1)), { class: "primary", id: "next" }),
    ],
  };
}

function toReview() {
  const under = ui.view.contests.filter((c) => chosenIn(c).length < c.votes_allowed);
  const send = () => { hideDialog(); post("review", { choices }); };
  if (under.length) {
    const names = under.map((c) => name(c.name)).join(ui.lang === "fa" ? "، " : ", ");
    ask(`${t("undervote_confirm")} (${names})`, [["edit", closeDialog], ["confirm", send, "primary"]]);
  } else {
    send();
  }
}

function reviewList() {
  const current = ui.view.choices || choices;
  return ui.view.contests.map((contest) => {
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
  return {
    content: [heading(t("review")), el("div", { class: "review-grid" }, ...reviewList())],
    actions: [
      button("edit", () => post("edit"), { id: "edit" }),
      button("confirm", () => post("confirm"), { class: "primary", id: "confirm" }),
    ],
  };
}

function trackingBlock(withHeading) {
  if (!ui.view.tracking) return null;
  const title = t("tracking_code");
  return el("div", { class: "tracking-block" },
    withHeading ? heading(title, { class: "center" }) : el("h2", { class: "center", text: title }),
    el("div", { class: "tracking", id: "tracking-code", text: ui.view.tracking.short }),
    el("div", { class: "tracking-full", text: ui.view.tracking.code }));
}

// Cast is final and Challenge spoils the ballot: focus starts on neither.
function trackingScreen() {
  return {
    content: [trackingBlock(true), el("p", { class: "center", text: t("cast_or_challenge") })],
    actions: [
      button("challenge", () => post("challenge"), { id: "challenge", class: "danger" }),
      button("cast", () => post("cast"), { class: "primary", id: "cast" }),
    ],
  };
}

// Until the card is out of the reader, a finished screen says so (it does not time out).
function takeCard() {
  return ui.view.card_in ? el("p", { class: "take-card center", id: "take-card", role: "status", text: t("take_card") }) : null;
}

function finishedScreen(key, ok) {
  return {
    content: [
      heading(t(key), { class: "center" }),
      notice(ui.view.notice, ok),
      key === "receipt_done" ? trackingBlock(false) : null,
      printerNotice(),
      takeCard(),
    ],
    actions: [button("finish", () => post("dismiss"), { class: "primary", id: "finish" })],
    focus: "#finish",
  };
}

function challengedScreen() {
  return {
    content: [heading(t("challenged_done"), { class: "center" }), trackingBlock(false), printerNotice()],
    actions: [
      button("cancel", confirmCancel, { class: "danger" }),
      button("vote_again", () => { contestIndex = 0; post("vote-again"); }, { class: "primary", id: "vote-again" }),
    ],
    focus: "#vote-again",
  };
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
  officials: () => officialsScreen(post, closeDialog, heading),
};

// --- rendering and the view loop -----------------------------------------------------

let defaultFocus = null;

function focusDefault() {
  const main = screen();
  const target = (defaultFocus && main.querySelector(defaultFocus)) || main.querySelector("h1") || main;
  target.focus();
}

function draw(keepFocus) {
  const main = screen();
  main.dataset.screen = ui.view.state;
  const spec = SCREENS[ui.view.state]();
  const parts = [el("div", { class: "content", id: "content" }, ...spec.content.filter((node) => node))];
  const actions = spec.actions.filter((node) => node);
  if (actions.length) parts.push(el("div", { class: "actions", id: "actions" }, ...actions));
  main.replaceChildren(...parts);
  markMore(parts[0]);
  defaultFocus = spec.focus || null;
  if (dialogOpen()) return;
  const target = keepFocus && document.querySelector(keepFocus);
  if (target) {
    target.focus();
    if (target.tagName === "INPUT") target.setSelectionRange(target.value.length, target.value.length);
  } else {
    focusDefault();
  }
}

// Content taller than its box (a long review in large text) scrolls inside the box; a
// "more below" sign stays at its bottom edge until the voter has scrolled to the end.
// The sign sits between the content and the action bar, never over either.
function markMore(content) {
  if (content.scrollHeight <= content.clientHeight + 1) return;
  const sign = el("div", { class: "more", id: "more", "aria-hidden": "true", text: `▼ ${t("more_below")}` });
  content.after(sign);
  content.addEventListener("scroll", () => {
    sign.classList.toggle("done", content.scrollTop + content.clientHeight >= content.scrollHeight - 2);
  });
}

// Page size follows the space the grid really has; redraw once if it changed, keeping
// the first candidate of the page in view.
function fitGrid(keepFocus) {
  const list = screen().querySelector(".candidates");
  if (!list) return;
  const capacity = measureCapacity(list);
  if (capacity === perPage) return;
  const firstShown = perPage ? page * perPage : 0;
  perPage = capacity;
  page = Math.floor(firstShown / perPage);
  draw(keepFocus);
}

// In audio mode a new screen (state, contest, page, language) is read out once.
let spokenScreen = "";

function speakScreen() {
  const key = [ui.view.state, contestIndex, page, ui.lang, ui.view.version].join("|");
  if (!audio.on || key === spokenScreen) return;
  spokenScreen = key;
  say(...summary());
}

function render(keepFocus) {
  if (!ui.view) return;
  document.documentElement.lang = ui.lang;
  document.documentElement.dir = ui.lang === "fa" ? "rtl" : "ltr";
  document.getElementById("station").textContent = name(ui.view.station.name);
  document.getElementById("toggle-language").textContent = t("language");
  document.getElementById("toggle-contrast").textContent = t("contrast");
  document.getElementById("toggle-large").textContent = t("large_text");
  const banner = document.getElementById("offline-banner");
  banner.hidden = !ui.view.offline_mode;
  banner.textContent = t("offline_banner");
  draw(keepFocus);
  fitGrid(keepFocus);
  speakScreen();
}

function show(next) {
  noteDeadline(next);
  const previous = ui.view ? ui.view.state : null;
  if (next.version === (ui.view && ui.view.version) && next.state === previous) return;
  ui.view = next;
  dropStaleDialog(next.state);
  if (ui.view.state === "ballot" && previous !== "ballot") {
    choices = JSON.parse(JSON.stringify(ui.view.choices || {}));
    contestIndex = 0;
    search = "";
    page = 0;
  }
  if (ui.view.state === "pin" && previous !== "pin") { pin = ""; pinTooShort = false; }
  if (ui.view.state === "idle" && previous !== "idle") resetDisplay();
  render();
}

function resetDisplay() {
  ui.lang = "fa";
  resetAudio();
  document.documentElement.classList.remove("contrast", "large");
  document.getElementById("toggle-contrast").setAttribute("aria-pressed", "false");
  document.getElementById("toggle-large").setAttribute("aria-pressed", "false");
}

async function loop() {
  let lost = false;
  for (;;) {
    try {
      const after = ui.view && !lost ? ui.view.version : -1;
      const response = await fetch(`/api/state?after=${after}&wait=20`);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const next = await response.json();
      // A restarted terminal counts versions from zero again: take its view as it is.
      if (lost && ui.view) ui.view = { ...ui.view, version: -1 };
      show(next);
      lost = false;
      connectionLost(false);
    } catch (error) {
      lost = true;
      connectionLost(true);
      await pause();
    }
  }
}

function toggleClass(id, cls) {
  const on = document.documentElement.classList.toggle(cls);
  document.getElementById(id).setAttribute("aria-pressed", String(on));
  render(`#${id}`);
}

// --- keyboard --------------------------------------------------------------------------

// Typed digits then Enter confirm the PIN; Enter on a labelled button still activates it.
function isControl(node) {
  return node.tagName === "BUTTON" && !node.classList.contains("key");
}

function pinKey(event) {
  const d = latinDigit(event.key);
  if (d) typeDigit(d);
  else if (event.key === "Backspace") deleteDigit();
  else if (event.key === "Enter" && !isControl(document.activeElement)) submitPin();
  else return;
  event.preventDefault();
}

// Arrows move through the candidates as they look on screen, turning pages at the edges.
function gridKey(event) {
  const list = screen().querySelector(".candidates");
  const active = document.activeElement;
  if (!list || !active || !active.classList.contains("candidate")) return;
  const count = shownCandidates().length;
  const target = arrowTarget(event.key, Number(active.dataset.index), columnCount(list), count);
  if (target === null) return;
  event.preventDefault();
  if (perPage) page = Math.floor(target / perPage);
  render(`[data-index="${target}"]`);
}

// Backspace on the keypad: one step back, never a destructive one.
function backAction() {
  if (dialogOpen()) return null;
  if (ui.view.state === "pin") return () => deleteDigit();
  if (ui.view.state === "ballot" && contestIndex > 0) return () => changeContest(-1);
  if (ui.view.state === "review") return () => post("edit");
  return null;
}

function onKey(event) {
  if (!ui.view) return;
  if (document.activeElement.tagName !== "INPUT" && audioKey(event, backAction())) return;
  if (dialogOpen()) dialogKey(event);
  else if (ui.view.state === "pin") pinKey(event);
  else if (ui.view.state === "ballot") gridKey(event);
}

async function start() {
  keepPageOffline();
  ui.catalogue = await fetchCatalogue();
  document.getElementById("toggle-language").addEventListener("click", () => { ui.lang = ui.lang === "fa" ? "en" : "fa"; render("#toggle-language"); });
  document.getElementById("toggle-contrast").addEventListener("click", () => toggleClass("toggle-contrast", "contrast"));
  document.getElementById("toggle-large").addEventListener("click", () => toggleClass("toggle-large", "large"));
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", () => render());
  setInterval(tickCountdown, 1000);
  loop();
}

start();
