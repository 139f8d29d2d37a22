// HQ's front page: per station the poll state (once closed, whether officials countersigned
// its latest closing report), turnout, each booth's and desk's last contact, ballots
// waiting, QR passes and refusals by reason; refreshes itself every few seconds. Persian first, an English toggle;
// no remote assets (the server's Content-Security-Policy allows only its own files).
"use strict";

const PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
const REFRESH_MS = 5000;
const STALE_S = 60;
let lang = "fa";
let data = null;
let failure = null;

const WORDS = {
  title: ["ستاد انتخابات — وضعیت شعبه‌ها", "Election HQ — stations"],
  language: ["English", "فارسی"],
  station: ["شعبه", "Station"],
  polls: ["وضعیت رأی‌گیری", "Polls"],
  check_ins: ["پذیرش", "Check-ins"],
  ballots_cast: ["آرای ثبت‌شده", "Ballots cast"],
  turnout: ["مشارکت", "Turnout"],
  terminals: ["دستگاه‌های رأی: آخرین تماس", "Booths: last seen"],
  desks: ["میزهای پذیرش", "Check-in desks"],
  passes: ["برگهٔ ورود: {issued} صادر، {redeemed} استفاده‌شده", "QR passes: {issued} issued, {redeemed} redeemed"],
  waiting: ["در انتظار ارسال", "Waiting to send"],
  refused: ["ردشده", "Refused"],
  on_roll: ["واجدان در فهرست", "On the roll"],
  updated: ["به‌روزشده", "Updated"],
  never: ["هنوز تماسی نیست", "not yet seen"],
  ago: ["{n} ثانیه پیش", "{n} s ago"],
  unknown: ["نامعلوم", "unknown"],
  no_answer: ["سرور پاسخ نمی‌دهد؛ دوباره تلاش می‌شود", "The server does not answer; retrying"],
  state_open: ["باز", "open"],
  state_paused: ["متوقف", "paused"],
  state_closed: ["بسته", "closed"],
  state_not_opened: ["آغاز نشده", "not opened"],
  not_countersigned: ["شعبه‌های بسته بی‌امضا", "Closed, not countersigned"],
  report_countersigned: ["گزارش پایانی امضا شده", "closing report countersigned"],
  report_not_countersigned: ["گزارش پایانی امضای مسئول ندارد", "closing report not countersigned"],
  report_reissued_not_countersigned: ["گزارش پایانی دوباره صادر شد (نسخهٔ {n}) و امضای مسئول ندارد",
    "closing report reissued (revision {n}), not countersigned"],
};

function digits(text) {
  return lang === "fa" ? String(text).replace(/[0-9]/g, (d) => PERSIAN[d]) : String(text);
}

function w(key, values) {
  let text = (WORDS[key] || [key, key])[lang === "fa" ? 0 : 1];
  for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, value);
  return digits(text);
}

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "text") node.textContent = value;
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function percent(part, whole) {
  if (!whole) return "—";
  const value = (100 * part / whole).toFixed(1);
  return lang === "fa" ? `${digits(value).replace(".", "٫")}٪` : `${value}%`;
}

function terminalLine(terminal, now) {
  const age = terminal.last_seen === null ? null : Math.max(0, now - terminal.last_seen);
  const seen = age === null ? w("never") : w("ago", { n: age });
  const waiting = terminal.waiting ? el("span", { class: "waiting", text: ` · ${w("waiting")}: ${digits(terminal.waiting)}` }) : null;
  return el("span", { class: "terminal", "data-terminal": terminal.terminal_id },
    el("bdi", { dir: "ltr", text: terminal.terminal_id }), ": ",
    el("span", { class: age === null || age > STALE_S ? "stale" : "", text: seen }), waiting);
}

function refusalList(station) {
  const codes = Object.keys(station.refusals).sort((a, b) => station.refusals[b] - station.refusals[a]);
  return el("ul", { class: "refusals" }, ...codes.map((code) => {
    const message = data.refusal_messages[code] || { fa: code, en: code };
    return el("li", { "data-refusal": code },
      el("strong", { text: digits(station.refusals[code]) }), " ", message[lang] || message.fa);
  }));
}

// A closed station's latest closing report: countersigned by its officials, or not yet
// (its record fails verification until they countersign, again after a reissue).
function countersignLine(station) {
  if (station.countersigned === null || station.countersigned === undefined) return null;
  if (station.countersigned) return el("span", { class: "countersign ok", text: w("report_countersigned") });
  const text = station.closing_revision > 1
    ? w("report_reissued_not_countersigned", { n: station.closing_revision })
    : w("report_not_countersigned");
  return el("span", { class: "countersign missing", "data-countersign": "missing", text });
}

const COLUMNS = ["station", "polls", "check_ins", "ballots_cast", "waiting", "refused", "terminals", "desks"];

// Each column's cell for one station: [extra class, ...children].
function cells(station, now) {
  const booths = station.terminals.filter((terminal) => terminal.role !== "desk");
  const desks = station.terminals.filter((terminal) => terminal.role === "desk");
  return {
    station: ["", station.name[lang] || station.name.fa, el("br"), el("bdi", { class: "muted", dir: "ltr", text: station.station_id })],
    polls: [`state ${station.poll_state}`, w(`state_${station.poll_state}`), countersignLine(station)],
    check_ins: ["", digits(station.check_ins)],
    ballots_cast: ["", digits(station.ballots_cast)],
    waiting: [station.ballots_waiting ? "waiting" : "", digits(station.ballots_waiting)],
    refused: ["", digits(station.refused), station.refused ? refusalList(station) : null],
    terminals: ["", ...booths.map((terminal) => terminalLine(terminal, now))],
    desks: ["", ...desks.map((terminal) => terminalLine(terminal, now)), el("span", { class: "passes", text: w("passes", station.passes) })],
  };
}

function render() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  document.getElementById("title").textContent = w("title");
  document.getElementById("toggle-language").textContent = w("language");
  const problem = document.getElementById("problem");
  problem.hidden = !failure;
  problem.textContent = failure ? `${w("no_answer")} (${failure})` : "";
  if (!data) return;
  const now = data.generated_at;
  const total = data.total;
  document.getElementById("updated").textContent = `${w("updated")}: ${digits(new Date(now * 1000).toLocaleTimeString(lang === "fa" ? "fa-IR" : "en-GB"))}`;
  const figures = [["check_ins", total.check_ins], ["ballots_cast", total.ballots_cast], ["on_roll", total.on_roll], ["turnout", null], ["refused", total.refused]];
  // Shown once a closed station lacks its officials' countersignature, in the warning colour.
  if (total.not_countersigned) figures.push(["not_countersigned", total.not_countersigned, "missing"]);
  document.getElementById("totals").replaceChildren(
    ...figures.map(([key, value, extra]) => el("div", { class: `figure ${extra || ""}`.trim(), id: `total-${key}` }, w(key),
      el("strong", { text: value === null ? percent(total.ballots_cast, total.on_roll) : digits(value) }))));
  document.getElementById("head").replaceChildren(...COLUMNS.map((key) => el("th", { text: w(key) })));
  document.getElementById("rows").replaceChildren(...data.stations.map((station) => {
    const parts = cells(station, now);
    return el("tr", { "data-station": station.station_id }, ...COLUMNS.map((key) => {
      const [extra, ...children] = parts[key];
      return el("td", { class: `col-${key} ${extra}`.trim(), "data-label": w(key) }, ...children);
    }));
  }));
}

async function refresh() {
  try {
    const response = await fetch("/api/v1/hq", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    data = await response.json();
    failure = null;
  } catch (error) {
    failure = error.message;
  }
  render();
  setTimeout(refresh, REFRESH_MS);
}

document.getElementById("toggle-language").addEventListener("click", () => { lang = lang === "fa" ? "en" : "fa"; render(); });
refresh();
