"""Voter roll import from CSV: every row validated first, then all inserted at once.

Columns: ``national_code,name_fa,name_en,birth_date,alive,district_id`` (the
birth date Jalali ``YYYY-MM-DD``, ``alive`` 1 or 0). Problems are reported by
line number (the header is line 1) and a roll with any problem imports nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ballot_server.errors import SetupError
from ballot_server.registry_models import RollEntry
from evote.jalali import parse_jalali
from evote.national_code import is_valid_national_code

COLUMNS = ("national_code", "name_fa", "name_en", "birth_date", "alive", "district_id")


@dataclass(frozen=True)
class RollRow:
    national_code: str
    name_fa: str
    name_en: str
    birth_date: str
    alive: bool
    district_id: str


def _row_problems(row: dict[str, str | None], district_ids: set[str]) -> list[str]:
    problems = []
    if None in row.values() or None in row:
        return ["wrong number of columns"]
    code = row["national_code"] or ""
    if not is_valid_national_code(code):
        problems.append(f"national_code {code!r} is not a valid national code")
    try:
        parse_jalali(row["birth_date"] or "")
    except ValueError:
        problems.append(f"birth_date {row['birth_date']!r} is not a Jalali YYYY-MM-DD date")
    if row["alive"] not in ("1", "0"):
        problems.append(f"alive must be 1 or 0, got {row['alive']!r}")
    if row["district_id"] not in district_ids:
        problems.append(f"district_id {row['district_id']!r} is not in the manifest")
    for name in ("name_fa", "name_en"):
        value = row[name] or ""
        if not value.strip() or len(value) > 200:
            problems.append(f"{name} must be 1..200 characters")
    return problems


def parse_roll(csv_text: str, district_ids: set[str]) -> list[RollRow]:
    """Validate a whole roll; raise SetupError listing every bad line."""
    reader = csv.DictReader(io.StringIO(csv_text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise SetupError(f"line 1: expected the header {','.join(COLUMNS)}")
    rows: list[RollRow] = []
    problems: list[str] = []
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        row_problems = _row_problems(row, district_ids)
        code = row.get("national_code") or ""
        if not row_problems and code in seen:
            row_problems.append(f"national_code {code} appears twice")
        seen.add(code)
        if row_problems:
            problems.extend(f"line {line}: {problem}" for problem in row_problems)
            continue
        rows.append(
            RollRow(
                code,
                str(row["name_fa"]).strip(),
                str(row["name_en"]).strip(),
                str(row["birth_date"]),
                row["alive"] == "1",
                str(row["district_id"]),
            )
        )
    if problems:
        raise SetupError(f"the roll has {len(problems)} problem(s); nothing imported", problems)
    return rows


def insert_roll(session: Session, rows: list[RollRow]) -> None:
    """Insert rows in the caller's transaction, refusing codes already on the roll."""
    codes = [row.national_code for row in rows]
    existing: set[str] = set()
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        existing.update(
            session.execute(
                select(RollEntry.national_code).where(RollEntry.national_code.in_(chunk))
            ).scalars()
        )
    if existing:
        raise SetupError(
            "some national codes are already on the roll; nothing imported",
            [f"national_code {code} is already on the roll" for code in sorted(existing)],
        )
    if rows:
        session.execute(
            insert(RollEntry),
            [
                {
                    "national_code": row.national_code,
                    "name_fa": row.name_fa,
                    "name_en": row.name_en,
                    "birth_date": row.birth_date,
                    "alive": row.alive,
                    "district_id": row.district_id,
                }
                for row in rows
            ],
        )
