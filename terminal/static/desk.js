// The check-in desk page: renders the desk's view (GET /api/state) and sends the PIN.
// Everything that matters lives in the desk service; the page keeps only the language.
// No remote assets. When the service does not answer (restarting, page lost) the page
// says so and keeps retrying by itself.
"use strict";

const PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
let catalogue = {};
let view = null;
let lang = "fa";

const fallback = {
  connection_lost: { fa: "ارتباط با میز پذیرش قطع است؛ دوباره تلاش می‌شود…", en: "The desk service does not answer; retrying…" },
};

function digits(text) {
  return lang === "fa" ? String(text).replace(/[0-9]/g, (d) => PERSIAN[d]) : String(text);
}

function t(key, values) {
  const entry = catalogue[key] || fallback[key] || catalogue.terminal_error || { fa: key, en: key };
  let text = entry[lang];
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return digits(text);
}

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "onclick") node.addEventListener("click", value);
    else if (key === "text") node.textContent = value;
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function notice(data, ok) {
  if (!data) return null;
  return el("div", { class: ok ? "notice ok" : "notice", role: "alert", id: "notice" },
    el("p", { text: data[lang] || data.fa }));
}

async function post(path, body) {
  const response = await fetch(`/api/${path}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
  });
  const answer = await response.json();
  if (response.ok) show(answer);
  else render(notice({ fa: answer.message_fa, en: answer.message_en }, false));
}

function pinForm() {
  const input = el("input", { type: "password", inputmode: "numeric", autocomplete: "off",
    maxlength: "8", id: "pin", "aria-label": t("enter_pin") });
  const form = el("form", { id: "pin-form" }, input,
    el("button", { type: "submit", class: "primary", id: "pin-ok", text: t("confirm") }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.replace(/[۰-۹]/g, (d) => PERSIAN.indexOf(d));
    input.value = "";
    post("pin", { pin: value });
  });
  return form;
}

function nextButton() {
  return el("button", { type: "button", class: "primary", id: "next", text: t("desk_next"), onclick: () => post("dismiss") });
}

const SCREENS = {
  idle: () => [el("h1", { text: t("desk_insert_card") })],
  reading_card: () => [el("div", { class: "spinner", role: "progressbar" }), el("h1", { text: t("reading_card") })],
  pin: () => [
    el("h1", { text: t("desk_enter_pin") }),
    view.holder_name ? el("p", { id: "holder", text: view.holder_name[lang] || view.holder_name.fa }) : null,
    view.tries_left !== null && view.tries_left < 3 ? notice({ fa: t("tries_left", { n: view.tries_left }), en: t("tries_left", { n: view.tries_left }) }, false) : null,
    pinForm(),
  ],
  issuing: () => [el("div", { class: "spinner", role: "progressbar" }), el("h1", { text: t("desk_issuing") })],
  issued: () => [
    el("h1", { text: t("pass_title") }),
    notice(view.notice, view.notice && view.notice.code === "pass_printed"),
    view.pass ? el("p", { id: "pass-id", dir: "ltr", text: view.pass.pass_id }) : null,
    view.card_in ? el("p", { id: "take-card", text: t("desk_take_card") }) : nextButton(),
  ],
  refused: () => [
    el("h1", { text: t("desk_refused") }),
    notice(view.notice, false),
    view.card_in ? el("p", { id: "take-card", text: t("desk_take_card") }) : nextButton(),
  ],
};

function render(extra) {
  if (!view) return;
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  document.getElementById("title").textContent = t("desk_title");
  document.getElementById("station").textContent = view.station.name[lang] || view.station.name.fa;
  document.getElementById("toggle-language").textContent = t("language");
  document.getElementById("foot").replaceChildren(`${t("passes_issued")}: ${digits(view.passes_issued)} · `,
    el("bdi", { dir: "ltr", text: view.terminal_id }));
  const main = document.getElementById("screen");
  main.dataset.screen = view.state;
  main.replaceChildren(...SCREENS[view.state]().filter((node) => node), ...(extra ? [extra] : []));
  const target = main.querySelector("input, button");
  (target || main).focus();
}

function show(next) {
  if (view && next.version === view.version) return;
  view = next;
  render();
}

function connection(lost) {
  const bar = document.getElementById("connection");
  bar.textContent = t("connection_lost");
  bar.hidden = !lost;
}

async function loop() {
  for (;;) {
    try {
      const after = view ? view.version : -1;
      const response = await fetch(`/api/state?after=${after}&wait=20`);
      show(await response.json());
      connection(false);
    } catch (error) {
      connection(true);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function start() {
  for (;;) {
    try {
      catalogue = await (await fetch("/api/catalogue")).json();
      break;
    } catch (error) {
      connection(true);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  document.getElementById("toggle-language").addEventListener("click", () => { lang = lang === "fa" ? "en" : "fa"; render(); });
  loop();
}

start();
