// The candidate grid: as many candidates per page as the screen holds (measured, so it
// fits 800×480 with large text as well as 1280×800), and arrow keys that move through
// it the way it looks: left and right swap in right-to-left Persian.
"use strict";

import { ui } from "./kiosk-ui.js";

// How many whole candidate buttons fit in the grid's box as laid out now.
export function measureCapacity(list) {
  const first = list && list.querySelector(".candidate");
  if (!first) return 0;
  const style = getComputedStyle(list);
  const columns = style.gridTemplateColumns.split(" ").filter((part) => part).length;
  const gap = parseFloat(style.rowGap) || 0;
  const rows = Math.floor((list.clientHeight + gap) / (first.offsetHeight + gap));
  return Math.max(1, columns) * Math.max(1, rows);
}

export function columnCount(list) {
  return getComputedStyle(list).gridTemplateColumns.split(" ").filter((part) => part).length || 1;
}

// The index (in the whole filtered list) an arrow key moves to, or null for other keys.
export function arrowTarget(key, index, columns, count) {
  const forward = ui.lang === "fa" ? "ArrowLeft" : "ArrowRight";
  const backward = ui.lang === "fa" ? "ArrowRight" : "ArrowLeft";
  const step = { ArrowDown: columns, ArrowUp: -columns, [forward]: 1, [backward]: -1 }[key];
  if (step === undefined) return null;
  return Math.min(count - 1, Math.max(0, index + step));
}
