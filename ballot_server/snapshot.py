"""The registry's side of the roll snapshot: which voters a station may check in
while offline, signed with the registry key (format: ``evote/roll_snapshot.py``).

A voter is listed when the online inquiry would admit them at this station now
(``eligibility.roll_refusal``) and they have not checked in anywhere yet. The
roll records districts, not home stations, so a station's snapshot holds every
voter entitled to its ballot style: in the sample election a Majlis district
spans two counties and both counties' voters are listed.
"""

from __future__ import annotations

from sqlalchemy import select

from ballot_server.eligibility import roll_refusal
from ballot_server.errors import SetupError
from ballot_server.keys import MissingKey
from ballot_server.registry_models import CheckIn, InquiryTerminal, RevokedCard, RollEntry
from ballot_server.state import ServerState
from crypto.signing import VerifyKey
from evote.roll_snapshot import build_snapshot


def station_snapshot(state: ServerState, station_id: str) -> tuple[bytes, int]:
    """The signed snapshot file for ``station_id`` and how many voters it lists; its
    tag key sealed to every terminal registered to the station (register them first)."""
    registry = state.config.keys.registry
    if registry is None:
        raise MissingKey("registry")
    manifest = state.inquiry_manifest()
    try:
        station = manifest.station(station_id)
    except KeyError as error:
        raise SetupError(f"{station_id}: not a station of the election") from error
    districts = [
        district.district_id
        for district in manifest.districts
        if district.ballot_style_id == station.ballot_style_id
    ]
    with state.registry_engine.connect() as connection:
        rows = connection.execute(
            select(
                RollEntry.national_code,
                RollEntry.birth_date,
                RollEntry.alive,
                RollEntry.district_id,
            )
            .outerjoin(CheckIn, CheckIn.national_code == RollEntry.national_code)
            .where(RollEntry.district_id.in_(districts), CheckIn.national_code.is_(None))
        ).all()
        revoked = connection.execute(select(RevokedCard.card_id)).scalars().all()
        terminals = connection.execute(
            select(InquiryTerminal.terminal_id, InquiryTerminal.public_key).where(
                InquiryTerminal.station_id == station_id
            )
        ).all()
    if not terminals:
        raise SetupError(f"{station_id}: no terminal registered; a snapshot is sealed to them")
    voters = [
        (row.national_code, row.birth_date)
        for row in rows
        if roll_refusal(manifest, station, row.birth_date, row.alive, row.district_id) is None
    ]
    data = build_snapshot(
        registry,
        election_id=manifest.election_id,
        station_id=station_id,
        ballot_style_id=station.ballot_style_id,
        as_of=state.now(),
        voters=voters,
        revoked_card_ids=revoked,
        terminal_keys={row.terminal_id: VerifyKey.from_hex(row.public_key) for row in terminals},
    )
    return data, len(voters)
