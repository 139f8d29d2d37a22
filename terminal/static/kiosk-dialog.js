// The one dialog: modal (the rest of the page is inert), focus trapped inside, Escape
// takes its safe way out, and it belongs to the screen that opened it: when the booth
// moves to another state (card pulled, session cancelled, next voter) it disappears.
"use strict";

import { button, el, ui } from "./kiosk-ui.js";

let owner = null;
let safeAction = null;

const dialogNode = () => document.getElementById("dialog");

export function dialogOpen() {
  return !dialogNode().hidden;
}

function setInert(on) {
  for (const id of ["bar", "screen"]) document.getElementById(id).inert = on;
}

// actions: [[key, handler, cls], ...]; the first is the safe one (Escape, default focus),
// so it must never be destructive.
export function showDialog(message, actions) {
  const dialog = dialogNode();
  const box = el("div", { class: "box" }, el("p", { id: "dialog-message", text: message }));
  const row = el("div", { class: "dialog-actions" });
  for (const [key, handler, cls] of actions) row.append(button(key, handler, { class: cls || "" }));
  box.append(row);
  dialog.replaceChildren(box);
  dialog.setAttribute("aria-labelledby", "dialog-message");
  dialog.hidden = false;
  owner = ui.view ? ui.view.state : null;
  safeAction = actions[0][1];
  setInert(true);
  row.querySelector("button").focus();
}

// Closes the dialog; the caller decides where focus goes next.
export function hideDialog() {
  dialogNode().hidden = true;
  dialogNode().replaceChildren();
  owner = null;
  safeAction = null;
  setInert(false);
}

// A new view arrived: a dialog opened on another screen is stale and goes.
export function dropStaleDialog(state) {
  if (dialogOpen() && owner !== state) hideDialog();
}

// Keys while the dialog is open: Escape = the safe action; Tab cycles inside it.
export function dialogKey(event) {
  if (event.key === "Escape") {
    event.preventDefault();
    safeAction();
    return;
  }
  if (event.key !== "Tab") return;
  const buttons = [...dialogNode().querySelectorAll("button:not(:disabled)")];
  const at = buttons.indexOf(document.activeElement);
  const step = event.shiftKey ? -1 : 1;
  buttons[(at + step + buttons.length) % buttons.length].focus();
  event.preventDefault();
}
