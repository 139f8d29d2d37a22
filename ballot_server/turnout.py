"""Live turnout for HQ: check-ins and cast ballots per station, county and province."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ballot_server.models import BoardEntry, Station
from ballot_server.registry_models import CheckIn, RollEntry
from ballot_server.state import ServerState


def turnout(state: ServerState) -> dict[str, Any]:
    manifest = state.election().manifest
    with Session(state.registry_engine) as registry:
        check_ins = Counter(
            dict(
                registry.execute(
                    select(CheckIn.station_id, func.count()).group_by(CheckIn.station_id)
                ).all()
            )
        )
        on_roll = int(registry.execute(select(func.count()).select_from(RollEntry)).scalar_one())
    with Session(state.engine) as session:
        cast = Counter(
            dict(
                session.execute(
                    select(BoardEntry.station_id, func.count())
                    .where(BoardEntry.kind == "ballot")
                    .group_by(BoardEntry.station_id)
                ).all()
            )
        )
        poll_states = dict(session.execute(select(Station.station_id, Station.poll_state)).all())

    def figures(station_ids: list[str]) -> dict[str, int]:
        return {
            "check_ins": sum(check_ins[s] for s in station_ids),
            "ballots_cast": sum(cast[s] for s in station_ids),
        }

    stations = [
        {
            "station_id": s.station_id,
            "name": s.name.to_json(),
            "county_id": s.county_id,
            "poll_state": poll_states.get(s.station_id),
            **figures([s.station_id]),
        }
        for s in manifest.stations
    ]
    counties = [
        {
            "county_id": c.county_id,
            "name": c.name.to_json(),
            "province_id": c.province_id,
            **figures([s.station_id for s in manifest.stations if s.county_id == c.county_id]),
        }
        for c in manifest.counties
    ]
    provinces = [
        {
            "province_id": p.province_id,
            "name": p.name.to_json(),
            **figures([s.station_id for s in manifest.stations if s.province_id == p.province_id]),
        }
        for p in manifest.provinces
    ]
    total = figures([s.station_id for s in manifest.stations])
    return {
        "election_id": manifest.election_id,
        "stations": stations,
        "counties": counties,
        "provinces": provinces,
        "total": {**total, "on_roll": on_roll},
    }
