"""Who comes to which station in the demo, what they do, and the plaintext count.

The plan is drawn from a seed before anything runs, so the demo can compare
the decrypted tally with a count of what its simulated voters actually chose
(checked, not assumed): only visits that ended with a receipt are counted.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from evote.jalali import age_on, parse_jalali
from evote.manifest import Manifest
from evote.sample import Person


@dataclass
class Visit:
    """One person at one terminal. ``expect`` is "cast" or the expected refusal."""

    person: Person
    station_id: str
    choices: dict[str, list[str]]
    expect: str
    wrong_pin_first: bool = False
    challenge_first: bool = False
    during_outage: bool = False
    offline: bool = False
    """At the station cut off, in offline mode: a provisional ballot (docs/offline.md)."""
    excluded: str | None = None
    """The reason reconciliation must exclude this provisional ballot, if it must."""
    note: str = ""


@dataclass
class OfflinePlan:
    """The part of the day one station is cut off: who votes there offline, and the
    voter who also votes online at another station meanwhile (a double vote)."""

    station_id: str
    visits: list[Visit]
    double_vote: Visit


@dataclass
class PlaintextCount:
    """What the voters who got a receipt chose, per station."""

    ballots: Counter[str] = field(default_factory=Counter)
    votes: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def add(self, station_id: str, choices: dict[str, list[str]], contest_ids: list[str]) -> None:
        self.ballots[station_id] += 1
        for contest_id in contest_ids:
            chosen = choices.get(contest_id, [])
            for selection_id in chosen:
                self.votes[(station_id, contest_id, selection_id)] += 1
            if not chosen:
                self.votes[(station_id, contest_id, "blank")] += 1

    def national(self) -> Counter[tuple[str, str]]:
        total: Counter[tuple[str, str]] = Counter()
        for (_, contest_id, selection_id), count in self.votes.items():
            total[(contest_id, selection_id)] += count
        return total


def eligibility(person: Person, election_day: date) -> str:
    """The refusal the inquiry must give this person, or "cast"."""
    if not person.on_roll:
        return "not_on_roll"
    if not person.alive:
        return "deceased"
    if age_on(parse_jalali(person.birth_date), election_day) < 18:
        return "underage"
    return "cast"


def random_choices(manifest: Manifest, style_id: str, rng: random.Random) -> dict[str, list[str]]:
    choices = {}
    for contest in manifest.contests_of_style(style_id):
        codes = [c.selection_id for c in contest.candidates]
        weights = [len(codes) - index for index in range(len(codes))]
        count = rng.choice(
            [0] + [contest.votes_allowed] * 6 + list(range(1, contest.votes_allowed + 1))
        )
        chosen: list[str] = []
        while len(chosen) < count:
            pick = rng.choices(codes, weights)[0]
            if pick not in chosen:
                chosen.append(pick)
        choices[contest.contest_id] = sorted(chosen, key=codes.index)
    return choices


def plan_visits(
    manifest: Manifest, people: list[Person], turnout: float, seed: int = 7
) -> list[Visit]:
    """Visits in arrival order, with each scenario the demo must show at least once."""
    rng = random.Random(seed)
    station_ids = [s.station_id for s in manifest.stations]
    visits: list[Visit] = []
    voters = []
    for index, person in enumerate(people):
        station_id = station_ids[index % len(station_ids)]
        style_id = manifest.station(station_id).ballot_style_id
        expect = eligibility(person, manifest.election_date)
        if expect == "cast" and rng.random() > turnout:
            continue
        visit = Visit(person, station_id, random_choices(manifest, style_id, rng), expect)
        visits.append(visit)
        if expect == "cast":
            voters.append(visit)
    voters[0].wrong_pin_first = True
    voters[0].note = "wrong PIN first, then the right one"
    voters[1].challenge_first = True
    voters[1].note = "challenges the encryption once, then votes again and casts"
    outage_voters = [v for v in voters if v.station_id == station_ids[-1]][2:4]
    for visit in outage_voters:
        visit.during_outage = True
        visit.note = "casts while the station's network link is down"
    first = voters[2]
    other_station = next(s for s in station_ids if s != first.station_id)
    visits.append(
        Visit(
            first.person,
            other_station,
            first.choices,
            "already_voted",
            note=f"tries to vote again at {other_station}",
        )
    )
    return visits


def plan_offline(manifest: Manifest, visits: list[Visit], size: int = 3) -> OfflinePlan:
    """Take the last ``size`` plain voters of the middle station out of the plan: they
    come while it is cut off. The last of them then votes online at the first station
    too, so reconciliation must exclude that provisional ballot (``voted_online``)."""
    station_ids = [s.station_id for s in manifest.stations]
    offline_id, elsewhere = station_ids[1], station_ids[0]
    returning = {v.person.national_code for v in visits if v.expect == "already_voted"}
    plain = [
        v
        for v in visits
        if v.station_id == offline_id
        and v.expect == "cast"
        and not (v.note or v.during_outage)
        and v.person.national_code not in returning
    ]
    if len(plain) < size:
        raise ValueError(
            f"{offline_id} has {len(plain)} plain voters; the offline part needs {size}"
        )
    chosen = plain[-size:]
    for visit in chosen:
        visits.remove(visit)
        visit.offline = True
        visit.note = "votes while the station is cut off (provisional ballot)"
    double = chosen[-1]
    double.excluded = "voted_online"
    double.note = f"votes offline here, then online at {elsewhere}: this ballot is excluded"
    style = manifest.station(elsewhere).ballot_style_id
    again = Visit(
        double.person,
        elsewhere,
        random_choices(manifest, style, random.Random(double.person.national_code)),
        "cast",
        note=f"votes here too while {offline_id} is cut off (its provisional ballot is excluded)",
    )
    return OfflinePlan(offline_id, chosen, again)
