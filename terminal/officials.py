"""Officials' mode: open, pause, resume and close the polls; reports printed as tapes.

Each action is authenticated afresh: the official's card signs a new server
challenge, so a card left in the reader cannot be replayed for another action.
The closing action declares the terminal's journal head (last sequence and
tracking-code chain head) so HQ knows when every journaled ballot has arrived,
names the poll version it ends, and the official's card then countersigns the
closing report's counts. When that countersignature is missing — the close's
answer or the countersign request was lost, or the report was reissued after
the close — the server's status says so and the screen offers "countersign
again", which fetches the latest signed report and countersigns it the same way.
"""

from __future__ import annotations

import os
from typing import Any

from crypto.errors import CryptoError
from evote import protocol
from evote.client import ServerRefused, ServerUnreachable
from evote.countersign import COUNTERSIGN, closing_counts, countersign_message
from terminal import printing
from terminal.booth import Booth
from terminal.devices.errors import DeviceError
from terminal.devices.holder import CardHolder
from terminal.errors import IllegalTransition, TerminalError
from terminal.i18n import CATALOGUE, text
from terminal.notices import Notice
from terminal.offline_roll import OfflineRefused
from terminal.session import State

REPORT_TITLES = {"open": "zero_report", "close": "closing_report"}
OFFLINE_DONE = {"enter": "offline_entered", "leave": "offline_left"}
ACTION_DONE = {
    "open": "polls_opened",
    "pause": "polls_paused_done",
    "resume": "polls_resumed",
    "close": "polls_closed_done",
}


def poll_action(booth: Booth, action: str, *, override_backlog: bool = False) -> Notice:
    """Run one poll action for the official in session; print its report if it has one.

    Closing while this terminal still has ballots waiting for the server is refused
    unless the official overrides it explicitly (the server, which knows the other
    terminals' declared journals, refuses a station-wide backlog the same way and
    audits an override)."""
    if action not in protocol.POLL_ACTIONS:
        raise TerminalError(f"unknown poll action {action!r}", code="unknown_action")
    holder = _official_in_session(booth, f"poll {action}")
    declaration = booth.journal_declaration() if action == "close" else None
    if declaration is not None and declaration.waiting and not override_backlog:
        return _notice(booth, Notice.of("backlog_waiting", n=declaration.waiting))
    try:
        challenge = booth.client.official_challenge()
        signature = booth.card_answer(challenge)
    except (ServerRefused, ServerUnreachable, DeviceError) as error:
        return _notice(booth, _failed(error))
    try:
        answer = booth.client.poll_action(
            action,
            holder.certificate.to_json(),
            signature,
            str(challenge["challenge_id"]),
            declaration,
            override_backlog=override_backlog,
            poll_version=int(challenge["poll_version"]) if action == "close" else None,
        )
    except ServerUnreachable as error:
        if action == "close":
            return _close_outcome_unknown(booth, error)
        return _notice(booth, _failed(error))
    except ServerRefused as error:
        return _notice(booth, _failed(error))
    booth.set_polls_state(str(answer.get("state", booth.polls_state)))
    unsigned = None
    if action == "close":
        answer, unsigned = _countersign_closed(booth, holder, answer)
    report = answer.get("report")
    problem = None
    if action in REPORT_TITLES:
        problem = booth.print_document(
            printing.poll_tape(
                REPORT_TITLES[action],
                booth.station,
                booth.config.terminal_id,
                report if isinstance(report, dict) else None,
                report_lines(booth, None if declaration is None else declaration.journal_head),
            )
        )
    if unsigned is not None:
        notice = _closed_not_countersigned(unsigned)
    elif problem:
        done = Notice.of(ACTION_DONE[action])
        reason = Notice.of(f"report_{problem}" if f"report_{problem}" in CATALOGUE else problem)
        notice = Notice(
            "report_not_printed",
            text("report_not_printed", "fa", done=done.fa, reason=reason.fa),
            text("report_not_printed", "en", done=done.en, reason=reason.en),
        )
    else:
        notice = Notice.succeeded(ACTION_DONE[action])
    return _notice(booth, notice)


def _close_outcome_unknown(booth: Booth, error: ServerUnreachable) -> Notice:
    """The close request went out and no usable answer came back: the server may have
    closed the polls or not. Say so, and have the next status answer (asked for at
    once) tell the officials which (``_close_outcome``)."""
    notice = _notice(booth, Notice.of("close_outcome_unknown", reason=str(error)))
    booth.on_next_status(lambda status: _close_outcome(booth, status))
    if booth.uplink is not None:
        booth.uplink.kick()
    return notice


def _close_outcome(booth: Booth, status: dict[str, Any]) -> None:
    """Replace the "outcome unknown" notice, if the officials still have it, with what
    the server's status says: closed and countersigned or not, or not closed."""
    state = str(status.get("poll_state", booth.polls_state))
    if state != "closed":
        words = {lang: text(f"state_{state}", lang) for lang in ("fa", "en")}
        notice = Notice(
            "close_not_done",
            text("close_not_done", "fa", state=words["fa"]),
            text("close_not_done", "en", state=words["en"]),
        )
    elif status.get("countersigned") is False:
        notice = _closed_not_countersigned(Notice.of("close_answer_lost"))
    else:
        notice = Notice.succeeded("polls_closed_confirmed")
    with booth.session.lock:
        if booth.data.notice is not None and booth.data.notice.code == "close_outcome_unknown":
            booth.data.notice = notice
            booth.session.touch()


def _closed_not_countersigned(reason: Notice) -> Notice:
    """The polls are closed and the closing report lacks a countersignature, because of
    ``reason``: the screen offers "countersign again"."""
    return Notice(
        "closed_not_countersigned",
        text("closed_not_countersigned", "fa", reason=reason.fa),
        text("closed_not_countersigned", "en", reason=reason.en),
    )


def countersign(
    booth: Booth, certificate: dict[str, Any], report: dict[str, Any]
) -> dict[str, Any]:
    """The official's card signs the counts of a closing report's payload (which names
    its poll version and revision), over a fresh server challenge; the server adds the
    signature to the report if it is still the latest (the verifier holds the board to
    these counts, ``evote/countersign.py``)."""
    counts = closing_counts(report)
    challenge = booth.client.official_challenge()
    message = countersign_message(bytes.fromhex(str(challenge["challenge"])), counts)
    answer = booth.client.poll_action(
        COUNTERSIGN,
        certificate,
        booth.authenticate(message),
        str(challenge["challenge_id"]),
        counts=counts,
    )
    booth.set_countersign_needed(False)
    return answer


def _countersign_closed(
    booth: Booth, holder: CardHolder, answer: dict[str, Any]
) -> tuple[dict[str, Any], Notice | None]:
    """Right after the close: countersign the report it issued. The polls are closed
    whatever happens here; a failure is the notice's reason, and the screen then
    offers "countersign again"."""
    try:
        report = protocol.parse_poll_report(answer.get("report"), booth.client.server_key)
        return countersign(booth, holder.certificate.to_json(), report), None
    except (CryptoError, ServerUnreachable) as error:  # the close was done: not "nothing was"
        failure = Notice.of("server_no_answer", reason=str(error))
    except (ServerRefused, DeviceError) as error:
        failure = _failed(error)
    booth.set_countersign_needed(True)
    return answer, failure


def countersign_again(booth: Booth) -> Notice:
    """Countersign the station's latest closing report (fetched, its server signature
    checked) with the card of the official in session: after a lost close answer, a
    failed countersignature or a reissue, the path to a record that verifies."""
    holder = _official_in_session(booth, "countersign again")
    try:
        report = booth.client.closing_report(booth.station.station_id)
        countersign(booth, holder.certificate.to_json(), report)
    except (ServerRefused, ServerUnreachable, DeviceError) as error:
        return _notice(booth, _failed(error))
    return _notice(booth, Notice.succeeded("countersigned_done"))


def _official_in_session(booth: Booth, what: str) -> CardHolder:
    """The signed-in official's card holder; refused outside officials' mode."""
    with booth.session.lock:
        if booth.state is not State.OFFICIALS or booth.data.holder is None:
            raise IllegalTransition(booth.state.value, what)
        booth.note_activity()
        return booth.data.holder


def _failed(error: ServerRefused | ServerUnreachable | DeviceError) -> Notice:
    """Why an officials' action that needed the server and the card failed: the server's
    refusal, the URL that did not answer and why, or the card's fault."""
    if isinstance(error, ServerRefused):
        return Notice.from_refusal(error)
    if isinstance(error, ServerUnreachable):
        return Notice.of("officials_unreachable", reason=str(error))
    return Notice.of(error.code)


def offline_action(booth: Booth, action: str) -> Notice:
    """Enter or leave offline mode for the official in session (docs/offline.md): the
    card signs a fresh challenge of the terminal's own, no server needed."""
    if action not in OFFLINE_DONE:
        raise TerminalError(f"unknown offline action {action!r}", code="unknown_action")
    if booth.offline is None:
        raise TerminalError("no roll snapshot was loaded", code="offline_unavailable")
    holder = _official_in_session(booth, f"offline {action}")
    challenge = os.urandom(32)
    try:
        signature = booth.authenticate(challenge)
        if action == "enter":
            down_since = booth.uplink.down_since if booth.uplink is not None else None
            booth.offline.enter(holder, challenge, signature, down_since)
        else:
            booth.offline.leave(holder, challenge, signature)
    except OfflineRefused as error:
        return _notice(booth, Notice.refusal(error.code))
    except DeviceError as error:
        return _notice(booth, Notice.of(error.code))
    return _notice(booth, Notice.succeeded(OFFLINE_DONE[action]))


def report_lines(booth: Booth, head: tuple[int, bytes] | None) -> list[tuple[str, str, str]]:
    """This terminal's own figures for the tape; the server's signed report is in the QR."""
    counts = booth.journal.counts()
    sequence, chain_head = head if head is not None else booth.journal.head()
    state_key = f"state_{booth.polls_state}"
    return [
        ("polls_state", text(state_key, "fa"), text(state_key, "en")),
        ("ballots_cast", str(counts.cast), str(counts.cast)),
        ("ballots_challenged", str(counts.challenged), str(counts.challenged)),
        ("last_sequence", str(sequence), str(sequence)),
        ("chain_head", "", printing.short_code(chain_head.hex())),
    ]


def link_status(booth: Booth) -> dict[str, Any]:
    """The uplink's health (``GET /api/status``, officials' screen); docs/terminal.md."""
    assert booth.uplink is not None, "the runner starts the uplink with the booth"
    return {
        "terminal_id": booth.config.terminal_id,
        "polls_state": booth.polls_state,
        **booth.uplink.status().to_json(),
    }


def officials_view(booth: Booth) -> dict[str, Any]:
    """Counts and uplink state: shown to officials only, never on a voter's screen."""
    counts = booth.journal.counts()
    return {
        "name": booth.data.holder.name_fa if booth.data.holder else "",
        "name_en": booth.data.holder.name_en if booth.data.holder else "",
        "cast": counts.cast,
        "challenged": counts.challenged,
        "offline_available": booth.offline is not None,
        "countersign_needed": booth.countersign_needed,
        **link_status(booth),
    }


def _notice(booth: Booth, notice: Notice) -> Notice:
    with booth.session.lock:
        booth.data.notice = notice
        booth.session.touch()
    return notice
