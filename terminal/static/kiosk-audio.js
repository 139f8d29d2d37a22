// The audio ballot: every screen, item and choice spoken (espeak-ng through the terminal's
// /api/speech), driven by a small keypad like an accessible controller, with the screen
// dark for privacy. The keypad sends ordinary keys:
//   a  audio on/off      ArrowUp / ArrowDown  previous / next item     Enter  select
//   Backspace  back      r  repeat            + / -  faster / slower    ] / [  louder / quieter
//   d  screen dark / lit
"use strict";

import { digits, t, ui } from "./kiosk-ui.js";

export const audio = { on: false, dark: false, rate: 160, volume: 0.8 };
const RATE = [80, 320];
let queue = [];
let player = null;
let lastSaid = [];

function playNext() {
  const text = queue.shift();
  if (!text) { player = null; return; }
  const query = new URLSearchParams({ lang: ui.lang, rate: String(audio.rate), text: text.slice(0, 590) });
  player = new Audio(`/api/speech?${query}`);
  player.volume = audio.volume;
  player.addEventListener("ended", playNext);
  player.addEventListener("error", playNext);
  player.play().catch(() => {});
}

// Lines joined into as few clips as the speech service takes (one per screen, mostly),
// so a screen starts speaking after one round trip.
function chunks(lines) {
  const out = [];
  for (const line of lines) {
    const last = out.length - 1;
    if (last >= 0 && out[last].length + line.length < 500) out[last] += `. ${line}`;
    else out.push(line);
  }
  return out;
}

// Says the lines in order, cutting off whatever was being said.
export function say(...lines) {
  if (!audio.on) return;
  const spoken = lines.filter((line) => line && line.trim());
  if (!spoken.length) return;
  lastSaid = spoken;
  if (player) { player.pause(); player = null; }
  queue = chunks(spoken);
  playNext();
}

// A tracking code letter by letter, so a listener can write it down.
function spelled(code) {
  return digits(code.replace(/\s+/g, "").split("").join(" "));
}

// What a control says: a candidate's code, name and state; any other button its label.
export function describe(node) {
  if (!node || node.tagName === "H1") return "";
  if (node.classList.contains("candidate")) {
    const state = node.getAttribute("aria-pressed") === "true" ? t("selected")
      : node.getAttribute("aria-disabled") === "true" ? t("not_selectable") : "";
    return [node.querySelector(".code").textContent, node.querySelector(".name").textContent, state].join("، ");
  }
  return node.getAttribute("aria-label") || node.textContent;
}

// The screen in words: its headings, lines and notices, the tracking code spelled out;
// candidates are left to the up/down keys.
export function summary() {
  const dialog = document.getElementById("dialog");
  if (!dialog.hidden) return [dialog.querySelector("p").textContent];
  const parts = [];
  for (const node of document.querySelectorAll("#content h1, #content h2, #content p, #content li, #content .tracking, #content dt, #content dd")) {
    if (node.closest(".candidates")) continue;
    parts.push(node.classList.contains("tracking") ? spelled(node.textContent) : node.textContent);
  }
  const page = document.getElementById("page-of");
  if (page) parts.push(page.textContent);
  return parts;
}

// The controls the keypad steps through, in reading order (the search box is for typing
// and is left out: keypad keys would land in it).
function items() {
  const dialog = document.getElementById("dialog");
  const scope = dialog.hidden ? "#content button, #actions button" : "#dialog button";
  return [...document.querySelectorAll(scope)].filter((node) => !node.disabled);
}

function step(direction) {
  const list = items();
  if (!list.length) return;
  const at = list.indexOf(document.activeElement);
  const next = at < 0 ? (direction > 0 ? 0 : list.length - 1) : (at + direction + list.length) % list.length;
  list[next].focus();
  say(describe(list[next]));
}

function setDark(on) {
  audio.dark = on;
  document.documentElement.classList.toggle("dark", on);
}

export function resetAudio() {
  audio.on = false;
  setDark(false);
  queue = [];
  if (player) { player.pause(); player = null; }
}

// Handles a keypad key; true when it was one (the caller then stops there).
export function audioKey(event, back) {
  if (event.key === "a") {
    audio.on = !audio.on;
    if (audio.on) say(t("audio_on"), ...summary());
    else resetAudio();
  } else if (!audio.on) {
    return false;
  } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    step(event.key === "ArrowDown" ? 1 : -1);
  } else if (event.key === "r") {
    say(...lastSaid);
  } else if (event.key === "+" || event.key === "-") {
    audio.rate = Math.min(RATE[1], Math.max(RATE[0], audio.rate + (event.key === "+" ? 30 : -30)));
    say(...lastSaid);
  } else if (event.key === "]" || event.key === "[") {
    audio.volume = Math.min(1, Math.max(0.1, audio.volume + (event.key === "]" ? 0.1 : -0.1)));
    say(...lastSaid);
  } else if (event.key === "d") {
    setDark(!audio.dark);
    say(t(audio.dark ? "screen_dark" : "screen_lit"));
  } else if (event.key === "Backspace" && back) {
    back();
  } else {
    return false;
  }
  event.preventDefault();
  return true;
}
