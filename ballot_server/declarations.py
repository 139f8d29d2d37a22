"""Terminals' signed journal heads: what each terminal says it journaled, kept as it said it.

A terminal declares its journal head (last sequence, chain head, ballots still
waiting, ballots the server refused) in its signed status requests while idle
and in the closing request. The server keeps the newest declaration of each
terminal — the signed request itself, so anyone can check it against the
terminal's key without trusting the server — and compares it with the board:
a declared sequence beyond the terminal's last board entry is a backlog. A
backlog blocks closing unless an official overrides it (audited), and the
closing report names the missing sequences and is not ``reconciled``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ballot_server.models import Terminal
from crypto.canonical import canonical_json
from crypto.signing import SignedEnvelope
from evote.protocol import DECLARATION_FIELDS, JournalDeclaration


def record_declaration(
    session: Session, terminal_id: str, declaration: JournalDeclaration, envelope: SignedEnvelope
) -> bool:
    """Keep ``envelope`` as the terminal's declaration unless a later one is stored (a
    journal and the offline check-ins only grow, so a lower sequence, or the same one
    with fewer offline check-ins, is an older message arriving late).
    True when what is declared changed (head, waiting, refused, offline check-ins): a
    terminal signs a fresh request every few seconds while idle, and only a change of
    what it declares may reissue a closing report (each reissue sums every ballot of
    the station)."""
    sequence, chain_head = declaration.journal_head
    row = session.execute(
        select(Terminal.declared_sequence, Terminal.declaration)
        .where(Terminal.terminal_id == terminal_id)
        .with_for_update()
    ).one()
    text = canonical_json(envelope.to_json()).decode("utf-8")
    if row.declared_sequence is not None and row.declared_sequence > sequence:
        return False
    if row.declared_sequence == sequence and offline_check_ins(row.declaration) > (
        declaration.offline_check_ins
    ):
        return False
    if row.declaration == text:
        return False
    session.execute(
        update(Terminal)
        .where(Terminal.terminal_id == terminal_id)
        .values(declared_sequence=sequence, declared_chain_head=chain_head.hex(), declaration=text)
    )
    return row.declaration is None or _declared(json.loads(row.declaration)) != _declared(
        envelope.to_json()
    )


def _declared(request: Any) -> dict[str, Any]:
    """What a signed terminal request declares about its journal, apart from its nonce
    and time (and, for a poll action, the action itself)."""
    body = request["payload"]["body"]
    return {key: body[key] for key in DECLARATION_FIELDS if key in body}


def offline_check_ins(declaration: str | None) -> int:
    """The offline check-ins a stored declaration names (0 without one)."""
    if declaration is None:
        return 0
    return int(json.loads(declaration)["payload"]["body"].get("offline_check_ins", 0))


def reconciliation(terminal: Terminal) -> dict[str, Any]:
    """One terminal's board head against its declaration, for the closing report."""
    declared = terminal.declared_sequence
    missing = None
    if declared is not None and declared > terminal.last_sequence:
        missing = {
            "first": terminal.last_sequence + 1,
            "last": declared,
            "count": declared - terminal.last_sequence,
        }
    head_differs = (
        declared is not None
        and declared == terminal.last_sequence
        and terminal.declared_chain_head != terminal.chain_head
    )
    declaration = None if terminal.declaration is None else json.loads(terminal.declaration)
    body = {} if declaration is None else declaration["payload"]["body"]
    return {
        "declared_sequence": declared,
        "declared_chain_head": terminal.declared_chain_head,
        "declaration": declaration,
        "declared_rejected": body.get("rejected", []),
        "declared_offline_check_ins": offline_check_ins(terminal.declaration),
        "missing_sequences": missing,
        "reconciled": missing is None and not head_differs,
    }


def backlog(terminals: list[Terminal]) -> list[dict[str, Any]]:
    """Terminals whose declared journal goes beyond the board: ``{terminal_id, first, last}``."""
    result = []
    for terminal in terminals:
        missing = reconciliation(terminal)["missing_sequences"]
        if missing is not None:
            result.append({"terminal_id": terminal.terminal_id, **missing})
    return result


def hold_declared_at_close(session: Session, station_id: str) -> None:
    """Keep, as the station closes, what each of its terminals had declared: a ballot
    within it was journaled before the close, so it is a late ballot of the closed
    period even when its terminal's clock put it after the close (``intake.py``). A
    declaration received after the close proves nothing of the kind and does not move
    it; the next close takes it anew."""
    session.execute(
        update(Terminal)
        .where(Terminal.station_id == station_id)
        .values(sequence_at_close=Terminal.declared_sequence)
    )
