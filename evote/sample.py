"""A sample election for the demo and the tests, deterministic from a seed.

One province with two counties, one Majlis district ("up to 3 of 10") whose
ballot also carries an Assembly of Experts contest ("1 of 8"), three polling
stations, and a voter roll of a few hundred people, among them deceased and
underage people, plus people who hold a card but are not on this roll.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from evote.jalali import format_jalali
from evote.manifest import MANIFEST_FORMAT
from evote.national_code import complete_national_code

FIRST_NAMES = [
    ("علی", "Ali"),
    ("زهرا", "Zahra"),
    ("محمد", "Mohammad"),
    ("فاطمه", "Fatemeh"),
    ("حسین", "Hossein"),
    ("مریم", "Maryam"),
    ("رضا", "Reza"),
    ("سارا", "Sara"),
    ("مهدی", "Mahdi"),
    ("نرگس", "Narges"),
    ("امیر", "Amir"),
    ("لیلا", "Leila"),
]
LAST_NAMES = [
    ("احمدی", "Ahmadi"),
    ("رضایی", "Rezaei"),
    ("محمدی", "Mohammadi"),
    ("حسینی", "Hosseini"),
    ("کریمی", "Karimi"),
    ("موسوی", "Mousavi"),
    ("جعفری", "Jafari"),
    ("صادقی", "Sadeghi"),
    ("نوری", "Nouri"),
    ("کاظمی", "Kazemi"),
    ("اکبری", "Akbari"),
    ("تهرانی", "Tehrani"),
]


@dataclass(frozen=True)
class Person:
    """Someone who holds a national card; ``on_roll`` says whether the roll lists them."""

    national_code: str
    name_fa: str
    name_en: str
    birth_date: str
    alive: bool
    district_id: str
    on_roll: bool
    pin: str

    def roll_row(self) -> dict[str, str]:
        return {
            "national_code": self.national_code,
            "name_fa": self.name_fa,
            "name_en": self.name_en,
            "birth_date": self.birth_date,
            "alive": "1" if self.alive else "0",
            "district_id": self.district_id,
        }


@dataclass(frozen=True)
class Official:
    national_code: str
    name_fa: str
    name_en: str
    birth_date: str
    station_id: str
    pin: str


def _candidates(first_code: int, count: int, rng: random.Random) -> list[dict[str, Any]]:
    result = []
    for offset in range(count):
        first_fa, first_en = rng.choice(FIRST_NAMES)
        last_fa, last_en = rng.choice(LAST_NAMES)
        result.append(
            {
                "code": first_code + offset,
                "name": {"fa": f"{first_fa} {last_fa}", "en": f"{first_en} {last_en}"},
            }
        )
    return result


def sample_manifest(election_date: date, seed: int = 1404) -> dict[str, Any]:
    rng = random.Random(seed)

    def station(station_id: str, fa: str, en: str) -> dict[str, Any]:
        return {"id": station_id, "name": {"fa": fa, "en": en}, "district_id": "tehran-1"}

    return {
        "format": MANIFEST_FORMAT,
        "election_id": "majlis-12",
        "name": {
            "fa": "انتخابات دوازدهمین دوره مجلس و مجلس خبرگان",
            "en": "12th Majlis and Assembly of Experts elections",
        },
        "election_date": election_date.isoformat(),
        "provinces": [
            {
                "id": "tehran",
                "name": {"fa": "استان تهران", "en": "Tehran province"},
                "counties": [
                    {
                        "id": "tehran-city",
                        "name": {"fa": "فرمانداری تهران", "en": "Tehran county"},
                        "stations": [
                            station("S-101", "شعبه ۱۰۱ مسجد جامع", "Branch 101, Jame mosque"),
                            station(
                                "S-102", "شعبه ۱۰۲ مدرسه فردوسی", "Branch 102, Ferdowsi school"
                            ),
                        ],
                    },
                    {
                        "id": "rey",
                        "name": {"fa": "فرمانداری ری", "en": "Rey county"},
                        "stations": [
                            station("S-201", "شعبه ۲۰۱ حسینیه ری", "Branch 201, Rey hall")
                        ],
                    },
                ],
            }
        ],
        "districts": [
            {
                "id": "tehran-1",
                "name": {"fa": "حوزه انتخابیه تهران، ری", "en": "Tehran and Rey constituency"},
                "ballot_style_id": "tehran-1",
            }
        ],
        "contests": [
            {
                "id": "majlis",
                "name": {"fa": "مجلس شورای اسلامی", "en": "Islamic Consultative Assembly"},
                "rule": "majlis",
                "seats": 3,
                "votes_allowed": 3,
                "threshold_percent": 20,
                "candidates": _candidates(1101, 10, rng),
            },
            {
                "id": "experts",
                "name": {"fa": "مجلس خبرگان رهبری", "en": "Assembly of Experts"},
                "rule": "plurality",
                "seats": 1,
                "votes_allowed": 1,
                "candidates": _candidates(2201, 8, rng),
            },
        ],
        "ballot_styles": [{"id": "tehran-1", "contest_ids": ["majlis", "experts"]}],
        "trustees": {"count": 3, "quorum": 2},
    }


def _national_code(rng: random.Random, used: set[str]) -> str:
    while True:
        code = complete_national_code(f"{rng.randrange(10**9):09d}")
        if code not in used and len(set(code)) > 1:
            used.add(code)
            return code


def sample_people(
    election_date: date, size: int = 300, seed: int = 1404
) -> tuple[list[Person], list[Official]]:
    """Voters (most eligible; some deceased, underage, or not on the roll) and officials."""
    rng = random.Random(seed)
    used: set[str] = set()
    people = []
    for number in range(size):
        first_fa, first_en = rng.choice(FIRST_NAMES)
        last_fa, last_en = rng.choice(LAST_NAMES)
        if number % 50 == 7:
            age_days = rng.randrange(15 * 365, 18 * 365 - 2)
        else:
            age_days = rng.randrange(18 * 365 + 5, 85 * 365)
        people.append(
            Person(
                national_code=_national_code(rng, used),
                name_fa=f"{first_fa} {last_fa}",
                name_en=f"{first_en} {last_en}",
                birth_date=format_jalali(election_date - timedelta(days=age_days)),
                alive=number % 60 != 11,
                district_id="tehran-1",
                on_roll=number % 45 != 23,
                pin=f"{rng.randrange(10**4):04d}",
            )
        )
    officials = [
        Official(
            national_code=_national_code(rng, used),
            name_fa=f"مسئول شعبه {station_id}",
            name_en=f"Official of {station_id}",
            birth_date=format_jalali(election_date - timedelta(days=40 * 365)),
            station_id=station_id,
            pin=f"{rng.randrange(10**6):06d}",
        )
        for station_id in ("S-101", "S-102", "S-201")
    ]
    return people, officials


ROLL_COLUMNS = ("national_code", "name_fa", "name_en", "birth_date", "alive", "district_id")


def roll_csv(people: list[Person]) -> str:
    """The registry's roll as CSV: everyone listed on it (people off the roll are left out)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, ROLL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for person in people:
        if person.on_roll:
            writer.writerow(person.roll_row())
    return out.getvalue()


CARD_ROLL_COLUMNS = (
    "national_code",
    "name_fa",
    "name_en",
    "birth_date",
    "role",
    "station_id",
    "pin",
)


def card_roll_csv(people: list[Person], officials: list[Official]) -> str:
    """Everyone who gets a card, with the PIN the card is issued with (for the card issuer).

    Unlike the registry's roll this includes people who are not on the roll:
    they hold a card like anyone else, and the inquiry is what refuses them.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, CARD_ROLL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for person in people:
        row = {k: v for k, v in person.roll_row().items() if k in CARD_ROLL_COLUMNS}
        writer.writerow({**row, "role": "voter", "station_id": "", "pin": person.pin})
    for official in officials:
        writer.writerow(
            {
                "national_code": official.national_code,
                "name_fa": official.name_fa,
                "name_en": official.name_en,
                "birth_date": official.birth_date,
                "role": "official",
                "station_id": official.station_id,
                "pin": official.pin,
            }
        )
    return out.getvalue()
