// Words, digits and DOM building for the kiosk: the one place that knows the language.
// `ui` holds what every part of the page reads: the catalogue, the view and the language.
"use strict";

export const PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
export const ui = { catalogue: {}, view: null, lang: "fa" };

export function digits(text) {
  return ui.lang === "fa" ? String(text).replace(/[0-9]/g, (d) => PERSIAN[d]) : String(text);
}

// A digit typed on either keyboard layout, as a Latin digit; "" for any other key.
export function latinDigit(key) {
  if (key.length !== 1) return "";
  if ("0123456789".includes(key)) return key;
  const index = PERSIAN.indexOf(key);
  return index < 0 ? "" : String(index);
}

export function t(key, values) {
  const entry = ui.catalogue[key] || ui.catalogue.terminal_error || { fa: key, en: key };
  let text = entry[ui.lang];
  for (const [name, value] of Object.entries(values || {})) {
    text = text.replace(`{${name}}`, value);
  }
  return digits(text);
}

export function name(pair) {
  return pair ? pair[ui.lang] || pair.fa : "";
}

export function el(tag, attributes, ...children) {
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

export function button(key, handler, attributes) {
  return el("button", { type: "button", onclick: handler, ...(attributes || {}) }, t(key));
}
