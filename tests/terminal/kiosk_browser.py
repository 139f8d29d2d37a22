"""Headless Debian Chromium for the kiosk tests, and the checks every screen must pass.

``actions_out_of_reach`` is the small-screen guarantee in one place: every
button and input a voter can use right now is inside the window (not below the
fold, not clipped by the candidate grid, not covered), at least 70 px each way,
with its label inside it, and the page itself never scrolls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TOUCH_TARGET_PX = 70


def launched_chromium() -> Iterator[Any]:
    """Headless Chromium, launched once for a module's pages (a launch costs about a
    second; a fresh context, a quarter of that). Skips without Chromium."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def chromium_page(browser: Any, width: int, height: int) -> Iterator[Any]:
    """A page with a ``width``×``height`` window in a fresh context of ``browser``: its
    own cookies, storage and cache, as a fresh profile had."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


def wait_screen(page: Any, state: str) -> None:
    page.wait_for_selector(f'main[data-screen="{state}"]', timeout=15000)


_PROBLEMS_JS = """
([minimum, scope]) => {
  const problems = [];
  const width = window.innerWidth, height = window.innerHeight;
  const root = document.scrollingElement;
  if (root.scrollHeight > height || root.scrollWidth > width) {
    problems.push(`page is ${root.scrollWidth}x${root.scrollHeight}, window ${width}x${height}`);
  }
  const content = document.getElementById("content") || document.querySelector("main");
  if (content && content.scrollWidth > content.clientWidth + 1) {
    problems.push("content is too wide");
  }
  for (const alert of document.querySelectorAll("main [role=alert]")) {
    const box = alert.getBoundingClientRect();
    const frame = content.getBoundingClientRect();
    if (box.top < frame.top - 1 || box.bottom > frame.bottom + 1) {
      problems.push(`${alert.id}: a notice is out of sight`);
    }
  }
  const dialog = document.getElementById("dialog");
  const within = scope || (dialog && !dialog.hidden ? "#dialog" : "#bar, main");
  const controls = [...document.querySelectorAll(within)].flatMap(
    (part) => [...part.querySelectorAll("button, input")]);
  for (const node of controls) {
    const label = node.id || node.dataset.selection || node.dataset.digit || node.textContent;
    const box = node.getBoundingClientRect();
    if (box.left < 0 || box.top < 0 || box.right > width || box.bottom > height) {
      problems.push(`${label}: outside the window at ${JSON.stringify(box)}`);
      continue;
    }
    if (box.width < minimum || box.height < minimum) {
      problems.push(`${label}: ${box.width}x${box.height} px, under ${minimum}`);
    }
    if (node.scrollWidth > node.clientWidth + 1) {
      problems.push(`${label}: label wider than its button`);
    }
    if (node.tagName === "BUTTON") {
      // Noto's Arabic ascent and descent make every text box taller than its line, so the
      // label's height is counted in lines of the button's own line height.
      const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
      let tallest = 0;
      for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        const range = document.createRange();
        range.selectNodeContents(text);
        const tops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
        const lineHeight = parseFloat(getComputedStyle(text.parentElement).lineHeight);
        tallest = Math.max(tallest, tops.size * lineHeight);
      }
      if (tallest > node.clientHeight + 1) problems.push(`${label}: label taller than its button`);
    }
    const clip = node.closest(".candidates, .content");
    if (clip) {
      const frame = clip.getBoundingClientRect();
      if (box.top < frame.top - 1 || box.bottom > frame.bottom + 1) {
        problems.push(`${label}: cut off by its scrolling box`);
      }
    }
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    if (!node.contains(hit)) {
      problems.push(`${label}: covered by ${hit && hit.outerHTML.slice(0, 60)}`);
    }
  }
  return problems;
}
"""


def actions_out_of_reach(
    page: Any, scope: str | None = None, minimum_px: int = TOUCH_TARGET_PX
) -> list[str]:
    """What on the current screen a voter cannot reach without scrolling (empty = all fine).
    ``scope``: the parts whose buttons and inputs count (the kiosk's bar and main, or its
    dialog when one is open); ``minimum_px``: the smallest a control may be each way."""
    problems: list[str] = page.evaluate(_PROBLEMS_JS, [minimum_px, scope])
    return problems
