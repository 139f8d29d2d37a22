"""The ballot as the kiosk shows it, the voter's choices, and their encryption.

The kiosk enforces contest limits for comfort; this module enforces them for
real, because whatever the browser sends is input from outside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crypto.ballot import (
    BallotSecrets,
    ElectionContext,
    EncryptedBallot,
    encrypt_ballot,
    tracking_code,
)
from evote.challenge_slip import slip_for
from evote.manifest import Contest, Manifest
from terminal.errors import InvalidChoices

Choices = dict[str, list[str]]


def contest_view(contest: Contest) -> dict[str, Any]:
    """The JSON the kiosk renders for one contest."""
    return {
        "contest_id": contest.contest_id,
        "name": contest.name.to_json(),
        "votes_allowed": contest.votes_allowed,
        "candidates": [
            {"selection_id": c.selection_id, "code": c.code, "name": c.name.to_json()}
            for c in contest.candidates
        ],
    }


def ballot_view(manifest: Manifest, ballot_style_id: str) -> list[dict[str, Any]]:
    return [contest_view(contest) for contest in manifest.contests_of_style(ballot_style_id)]


def validate_choices(manifest: Manifest, ballot_style_id: str, raw: object) -> Choices:
    """Check choices from the kiosk against the ballot style; return them in ballot order."""
    if not isinstance(raw, dict):
        raise InvalidChoices("choices must be an object of contest id to selection ids")
    contests = manifest.contests_of_style(ballot_style_id)
    known = {contest.contest_id for contest in contests}
    unknown = set(raw) - known
    if unknown:
        raise InvalidChoices(f"contests not on this ballot: {sorted(unknown)}")
    result: Choices = {}
    for contest in contests:
        chosen = raw.get(contest.contest_id, [])
        if not isinstance(chosen, list) or not all(isinstance(item, str) for item in chosen):
            raise InvalidChoices(f"{contest.contest_id}: expected a list of selection ids")
        valid = [c.selection_id for c in contest.candidates]
        if len(set(chosen)) != len(chosen) or not set(chosen) <= set(valid):
            raise InvalidChoices(f"{contest.contest_id}: unknown or repeated selections")
        if len(chosen) > contest.votes_allowed:
            raise InvalidChoices(
                f"{contest.contest_id}: {len(chosen)} chosen, at most {contest.votes_allowed}"
            )
        result[contest.contest_id] = [sid for sid in valid if sid in chosen]
    return result


@dataclass(frozen=True)
class PreparedBallot:
    """An encrypted ballot ready to cast or challenge, chained after ``previous``."""

    choices: Choices
    ballot: EncryptedBallot
    secrets: BallotSecrets
    previous_tracking_code: bytes
    tracking_code: bytes


def prepare_ballot(
    context: ElectionContext,
    manifest: Manifest,
    ballot_style_id: str,
    choices: Mapping[str, Sequence[str]],
    previous_tracking_code: bytes,
) -> PreparedBallot:
    """Encrypt with all proofs and compute the tracking code; the slow part of a vote."""
    ballot, secrets = encrypt_ballot(
        context, ballot_style_id, manifest.contest_specs(ballot_style_id), choices
    )
    return PreparedBallot(
        {key: list(value) for key, value in choices.items()},
        ballot,
        secrets,
        previous_tracking_code,
        tracking_code(ballot, previous_tracking_code),
    )


def challenge_qr_payload(prepared: PreparedBallot, check_base_url: str) -> str:
    """The challenge slip's QR: a link to the board's check page for this slip, which
    names the tracking code and a digest of the revealed secrets.

    The secrets themselves go on the board with the challenged ballot; see
    ``evote.challenge_slip`` for the format and how a slip is checked.
    """
    return slip_for(prepared.tracking_code, prepared.secrets).url(check_base_url)
