// The officials' screen: the link to the server always in sight, each action's result in a
// box at the top (green when done, red with the reason when not), actions in the bottom row.
// Focus lands on the heading, never on an action: a second tap cannot pause what was just
// opened. Figures come from the view's `officials` object (docs/terminal.md, link status).
"use strict";

import { hideDialog, showDialog } from "./kiosk-dialog.js";
import { button, digits, el, t, ui } from "./kiosk-ui.js";

function resultBox(data) {
  if (!data) return null;
  const cls = data.ok ? "notice ok result" : "notice result";
  return el("div", { class: cls, role: "alert", id: "notice", "data-ok": String(Boolean(data.ok)) },
    el("p", { text: data[ui.lang] || data.fa }));
}

// Always visible, and short enough that the result under it stays on the 800×480 screen:
// online or not, ballots waiting (and the oldest), and the last error, which may be of any
// length (`uplink_error: <type>`), cut with an ellipsis (kiosk.css); the whole of it is
// the element's title and its text for a screen reader.
function linkBar(o) {
  const parts = [
    el("strong", { id: "link-online", text: t(o.online ? "link_online" : "link_offline") }),
    el("span", { id: "link-waiting", text: t("waiting_to_send", { n: o.waiting }) }),
  ];
  if (o.oldest_waiting_age_s !== null && o.oldest_waiting_age_s !== undefined) {
    parts.push(el("span", { id: "link-oldest", text: `${t("oldest_waiting")}: ${digits(o.oldest_waiting_age_s)}` }));
  }
  if (o.last_error) {
    parts.push(el("span", { id: "link-error", title: `${t("last_link_error")}: ${o.last_error}` },
      el("span", { text: `${t("last_link_error")}:` }), el("bdi", { dir: "ltr", text: o.last_error })));
  }
  const state = o.online && !o.waiting ? "good" : o.online ? "busy" : "down";
  return el("div", { class: `link-bar ${state}`, id: "link-status", role: "status" }, ...parts);
}

export function officialsScreen(post, closeDialog, heading) {
  const o = ui.view.officials;
  const state = ui.view.polls_state;
  const figure = (key, value) => [el("dt", { text: t(key) }), el("dd", { text: digits(value) })];
  const backlog = o.waiting > 0 || (ui.view.notice && ui.view.notice.code === "backlog_waiting");
  const closeActions = [["cancel", closeDialog], ["close_polls", () => { hideDialog(); post("officials/close"); }, "danger"]];
  if (backlog) closeActions.push(["close_anyway", () => { hideDialog(); post("officials/close", { override_backlog: true }); }, "danger"]);
  const closeWithConfirm = () => showDialog(t("close_confirm"), closeActions);
  // The station's latest closing report lacks an official's countersignature (lost
  // answer, failed request, reissued report): the card signs it again from here.
  const countersign = state === "closed" && o.countersign_needed;
  return {
    content: [
      heading(t("officials")),
      linkBar(o),
      resultBox(ui.view.notice),
      ...(countersign ? [el("p", { class: "notice", role: "status", id: "countersign-needed", text: t("countersign_needed") })] : []),
      el("p", { text: ui.lang === "fa" ? o.name : o.name_en }),
      el("dl", { class: "figures" },
        ...figure("polls_state", t(`state_${state}`)),
        ...figure("ballots_cast", o.cast),
        ...figure("ballots_challenged", o.challenged),
        ...(o.rejected ? figure("rejected_by_server", o.rejected) : [])),
    ],
    actions: [
      button("open_polls", () => post("officials/open"), { class: "primary", id: "open-polls", disabled: state === "not_opened" ? null : "" }),
      button("pause_polls", () => post("officials/pause"), { id: "pause-polls", disabled: state === "open" ? null : "" }),
      button("resume_polls", () => post("officials/resume"), { id: "resume-polls", disabled: state === "paused" ? null : "" }),
      button("close_polls", closeWithConfirm, { class: "danger", id: "close-polls", disabled: state === "open" || state === "paused" ? null : "" }),
      ...(countersign ? [button("countersign_again", () => post("officials/countersign"), { class: "primary", id: "countersign-again" })] : []),
      ...(o.offline_available
        ? [ui.view.offline_mode
          ? button("leave_offline", () => post("offline/leave"), { id: "leave-offline" })
          : button("enter_offline", () => post("offline/enter"), { class: "danger", id: "enter-offline" })]
        : []),
      button("exit", () => post("dismiss"), { id: "exit" }),
    ],
    focus: "h1",
  };
}
