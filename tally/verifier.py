"""``evote verify RECORD``: recompute everything from the record alone.

Order matters for the message an auditor sees: the keys everything else
rests on are checked first (the pinned or named HQ key, manifest,
election.json, trustees), then the audit log's chain (so a record exported
while polls were open fails as such), then every board entry (in parallel),
then the board as a whole, then the audit events against what they announce,
then the totals, decryption and results built on them. The first failure
stops the run and is reported with its file and line.

Memory does not grow with the board: each entry's facts go to an on-disk
``EntryStore`` and its ciphertext alphas to a ``RepeatFinder`` as the
per-entry results arrive, and the board-wide checks read them back from there.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import click

from crypto.errors import CryptoError
from crypto.group import POINT_BYTES
from crypto.signing import VerifyKey
from tally.cluster import batches, check_segment, dask_client, ordered_results
from tally.decryption import decrypt_totals
from tally.entry_checks import Deferred, SideBySide
from tally.entry_store import EntryStore, Received
from tally.errors import DecryptionError, TallyError, VerificationFailure
from tally.pipeline import load_share_envelopes, load_totals, trustee_signers
from tally.provisional import LEAVES_OPEN, stations_left_open
from tally.record import (
    ENTRIES,
    RECORD_FORMAT,
    RESULTS_JSON,
    SHARES,
    TOTALS,
    Record,
    provisional_decisions,
)
from tally.repeats import RepeatFinder, bucket_count
from tally.results import build_results
from tally.totals import roll_up
from tally.verify_anchors import check_anchored_keys
from tally.verify_audit import (
    AUDIT_LOG,
    check_audit_log,
    check_audit_matches_record,
    check_closing_subtotals,
)
from tally.verify_ballots import BallotSums, ChunkResult, EntryFacts, check_chunk, initialize
from tally.verify_board import (
    PollReports,
    ShardChains,
    Shards,
    TerminalChains,
    check_authorizations,
    check_unique_ciphertexts,
    same,
    signed_report,
)
from tally.verify_countersign import CHECK as COUNTERSIGN_CHECK
from tally.verify_countersign import check_countersignatures
from tally.verify_declarations import CHECK as DECLARATIONS_CHECK
from tally.verify_declarations import DeclaredHead, DeclaredHeadsOnBoard, declared_heads
from tally.verify_election import TerminalKey, check_election_file
from tally.verify_periods import CHECK as PERIODS_CHECK
from tally.verify_periods import PollPeriods, closing_versions, poll_openings
from tally.verify_presentation import check_presentation
from tally.verify_provisional import ProvisionalDecided
from tally.verify_receipts import ReceiptOrder, match_receipts
from tally.verify_revocations import CHECK as REVOCATIONS_CHECK
from tally.verify_revocations import Revocations
from tally.verify_roots import check_consistency, check_roots_against_shards, load_roots
from tally.verify_station_balance import CastCounts, check_station_balance
from tally.verify_trustees import check_trustees
from tally.verify_voids import CHECK as VOIDS_CHECK
from tally.verify_voids import FOR_REVOKED_CHECK, check_revoked_holder_voids, check_voids

CHUNK_LINES: Final = 25


@dataclass(frozen=True)
class Pins:
    """What the auditor already trusts, learned from HQ before election day (docs/security.md)."""

    hq_key: str | None = None
    manifest_hash: str | None = None


@dataclass(frozen=True)
class InLineOrder:
    """The board-wide checks fed each entry's facts as the ballot phase returns them
    (``entry_checks.py``); each answers, or fails, when the board phase reaches it."""

    shards: Deferred[EntryFacts, Shards]
    terminal_heads: Deferred[EntryFacts, dict[str, EntryFacts]]
    provisional: Deferred[EntryFacts, int]
    periods: Deferred[EntryFacts, int]
    cast_counts: Deferred[EntryFacts, CastCounts]

    @classmethod
    def of(cls, record: Record, audit: list[dict[str, Any]]) -> InLineOrder:
        return cls(
            Deferred(ShardChains),
            Deferred(TerminalChains),
            Deferred(lambda: ProvisionalDecided(provisional_decisions(record))),
            Deferred(lambda: PollPeriods(poll_openings(audit))),
            Deferred(CastCounts),
        )

    def side_by_side(self) -> SideBySide[EntryFacts]:
        return SideBySide(
            self.shards, self.terminal_heads, self.provisional, self.periods, self.cast_counts
        )


@dataclass(frozen=True)
class CheckResult:
    name: str
    count: int


def first_difference(expected: Any, actual: Any, path: str = "$") -> str | None:
    """The JSON path of the first place two documents differ, or None."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            found = first_difference(expected.get(key), actual.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found = first_difference(left, right, f"{path}[{index}]")
            if found:
                return found
        return None
    if same(expected, actual):
        return None
    return f"{path}: expected {expected!r}, found {actual!r}"


class Verifier:
    """One verification run over one record directory."""

    def __init__(
        self,
        root: Path,
        workers: int = 1,
        echo: Callable[[str], None] | None = None,
        progress: bool = False,
        pins: Pins | None = None,
        scheduler: str | None = None,
    ) -> None:
        self.record = Record(root)
        self.pins = pins or Pins()
        self.workers = max(1, workers)
        self.scheduler = scheduler
        self.echo = echo or (lambda _: None)
        self.progress = progress
        self.results: list[CheckResult] = []
        self.reported_stations: list[str] = []
        self.terminals: list[TerminalKey] = []

    def _passed(self, name: str, count: int) -> None:
        self.results.append(CheckResult(name, count))
        self.echo(f"ok    {name} ({count})")

    def run(self) -> list[CheckResult]:
        """All checks; raises VerificationFailure (or RecordError) at the first failure."""
        try:
            self._run()
        except (TallyError, CryptoError) as error:
            if isinstance(error, VerificationFailure):
                raise
            location = getattr(error, "location", "record")
            raise VerificationFailure("record", location, str(error), code=error.code) from error
        return self.results

    def _run(self) -> None:
        record = self.record
        self._check_root_of_trust()
        if record.read_bytes("FORMAT").decode("utf-8", "replace").strip() != RECORD_FORMAT:
            raise VerificationFailure("format", "FORMAT", f"not {RECORD_FORMAT}", code="format")
        self._passed("record format", 1)
        self._check_manifest()
        self._load_terminals()
        self._passed("election keys and terminals", len(self.terminals))
        self._check_trustees()
        audit = check_audit_log(record, self._server_key())
        self._passed("audit log chain and signatures", len(audit))
        self._passed(
            "service and terminal keys certified by HQ",
            check_anchored_keys(record, audit, self._key("hq_public_key")),
        )
        self._check_polls_closed(audit)
        in_line_order = InLineOrder.of(record, audit)
        with self._cluster() as client, self._alpha_finder() as alphas, EntryStore() as store:
            sums = self._check_ballots(alphas, store, client, in_line_order)
            self._check_board(store, audit, alphas, client, in_line_order)
        self._passed(
            "audit events match national roots, poll reports and terminals",
            check_audit_matches_record(record, audit, self.terminals),
        )
        self._check_totals_and_results(sums)

    def _load_terminals(self) -> None:
        self.terminals = check_election_file(
            self.record, {station.station_id for station in self.record.manifest.stations}
        )

    def check_entries(self) -> int:
        """Only the ballot phase: the per-entry checks, the part spread over workers,
        with the board's checks in line order fed as their answers arrive (benchmarks
        time it apart): the number of entries checked."""
        self._load_terminals()
        audit = check_audit_log(self.record, self._server_key())
        with self._cluster() as client, self._alpha_finder() as alphas, EntryStore() as store:
            self._check_ballots(alphas, store, client, InLineOrder.of(self.record, audit))
            return store.count

    def check_board_phase(self) -> tuple[int, float]:
        """The per-entry checks, then the board-wide ones as ``run`` does them (for
        the benchmarks): the number of entries, and the CPU seconds this process
        spent on the board-wide checks. Those run here, however many workers
        check the entries (only the receipts' signatures go to the cluster), so
        they bound a verification's time from below."""
        self._load_terminals()
        audit = check_audit_log(self.record, self._server_key())
        in_line_order = InLineOrder.of(self.record, audit)
        with self._cluster() as client, self._alpha_finder() as alphas, EntryStore() as store:
            self._check_ballots(alphas, store, client, in_line_order)
            began = time.process_time()
            self._check_board(store, audit, alphas, client, in_line_order)
            return store.count, time.process_time() - began

    @contextmanager
    def _cluster(self) -> Iterator[Any]:
        """The Dask client both phases share, or None to run everything here."""
        if self.workers == 1 and self.scheduler is None:
            yield None
            return
        with dask_client(self.workers, self.scheduler) as client:
            yield client

    def _alpha_finder(self) -> RepeatFinder:
        """Spill space for every ciphertext alpha, sized by an upper bound of their
        number: each takes at least its own and its beta's 64 hex digits of the board."""
        try:
            size = self.record.path(ENTRIES).stat().st_size
        except OSError:
            size = 0  # reading the board names the problem
        return RepeatFinder(POINT_BYTES, bucket_count(size // 128))

    def _server_key(self) -> VerifyKey:
        return self._key("server_public_key")

    def _key(self, name: str) -> VerifyKey:
        try:
            return VerifyKey.from_hex(self.record.election.get(name))
        except CryptoError as error:
            raise VerificationFailure(
                "keys", f"election.json:{name}", str(error), code=error.code
            ) from error

    def _check_root_of_trust(self) -> None:
        """The HQ key and manifest everything rests on: pinned, or named for the auditor.

        A record is only *the* record of an election if its HQ key is the one
        HQ published beforehand; without a pin the verifier can only say which
        key it trusted, and says so first.
        """
        hq_key = self._key("hq_public_key")
        manifest_hash = self.record.manifest.manifest_hash.hex()
        for pinned, found, name in (
            (self.pins.hq_key, hq_key.hex(), "election.json:hq_public_key"),
            (self.pins.manifest_hash, manifest_hash, "manifest.json"),
        ):
            if pinned is not None and pinned.lower() != found:
                raise VerificationFailure(
                    "root of trust", name, f"is {found}, not the pinned {pinned}", code="not_pinned"
                )
        how = "pinned" if self.pins.hq_key else "NOT PINNED (pass --hq-key)"
        self.echo(f"HQ key {hq_key.hex()} {how}; manifest {manifest_hash}")

    def _check_manifest(self) -> None:
        record, election = self.record, self.record.election
        try:
            record.read_envelope("manifest.json").verify("manifest", self._key("hq_public_key"))
        except CryptoError as error:
            raise VerificationFailure(
                "manifest", "manifest.json", str(error), code=error.code
            ) from error
        manifest = record.manifest
        claims = {
            "manifest_hash": manifest.manifest_hash.hex(),
            "election_id": manifest.election_id,
            "trustee_count": manifest.trustee_count,
            "quorum": manifest.quorum,
        }
        for key, value in claims.items():
            if election.get(key) != value:
                raise VerificationFailure(
                    "manifest",
                    f"election.json:{key}",
                    f"expected {value!r} from the manifest",
                    code="mismatch",
                )
        self._passed("manifest signature and hash", 1)

    def _check_trustees(self) -> None:
        self._passed("trustee proofs and confirmations", check_trustees(self.record))

    def _check_polls_closed(self, audit: list[dict[str, Any]]) -> None:
        """A record whose audit log leaves a station open holds only provisional results."""
        still_open = stations_left_open(
            (entry["event_id"], entry["fields"])
            for entry in audit
            if entry["event_id"] in LEAVES_OPEN and isinstance(entry["fields"], dict)
        )
        if still_open:
            raise VerificationFailure(
                "polls closed",
                AUDIT_LOG,
                f"polls still open at {', '.join(still_open)}: any results are provisional",
                code="polls_open",
            )
        self._passed("polls closed at every station", len(self.record.manifest.stations))

    def _ballot_context(self, alpha_buckets: int) -> dict[str, Any]:
        manifest, election = self.record.manifest, self.record.election
        return {
            "election_id": manifest.election_id,
            "base_hash": election["base_hash"],
            "joint_public_key": election["joint_public_key"],
            "inquiry_public_key": self._key("inquiry_public_key").hex(),
            "terminals": [terminal.to_json() for terminal in self.terminals],
            "station_styles": {s.station_id: s.ballot_style_id for s in manifest.stations},
            "counted_provisional": sorted(
                d.authorization_id for d in provisional_decisions(self.record) if d.counted
            ),
            "alpha_buckets": alpha_buckets,
            "specs": {
                style.ballot_style_id: [
                    [spec.contest_id, list(spec.selection_ids), spec.votes_allowed]
                    for spec in manifest.contest_specs(style.ballot_style_id)
                ]
                for style in manifest.ballot_styles
            },
        }

    def _chunk_results(
        self, context: dict[str, Any], client: Any
    ) -> Iterator[tuple[int, ChunkResult]]:
        """Each chunk's result with the bytes of the board it covers, in file order:
        in this process without a client; else on the Dask cluster, by station
        (``tally/cluster.py``), the same checks."""
        if client is None:
            initialize(context)
            for chunk in batches(self.record.lines(ENTRIES), CHUNK_LINES):
                yield sum(len(text.encode("utf-8")) + 1 for _, text in chunk), check_chunk(chunk)
            return
        path = self.record.path(ENTRIES)
        for segment, result in ordered_results(client, check_segment, path, context):
            yield segment.end - segment.start, result

    def _check_ballots(
        self, alphas: RepeatFinder, store: EntryStore, client: Any, in_line_order: InLineOrder
    ) -> BallotSums:
        total = self.record.size(ENTRIES)
        sums = BallotSums()
        cast = 0
        board_checks = in_line_order.side_by_side()
        with click.progressbar(
            length=total, label="ballots", file=sys.stderr if self.progress else io.StringIO()
        ) as bar:
            context = self._ballot_context(alphas.buckets)
            for checked_bytes, result in self._chunk_results(context, client):
                store.add(result.facts)
                board_checks.feed(result.facts)
                cast += sum(1 for item in result.facts if item.kind == "ballot")
                alphas.add_records(result.alphas)
                sums.merge(result.sums)
                bar.update(checked_bytes)
                if result.failure:
                    line, code, message = result.failure
                    raise VerificationFailure("ballots", f"{ENTRIES}:{line}", message, code=code)
        self._passed("ballot signatures, authorizations, proofs, tracking codes", cast)
        self._passed("challenged ballots decrypt to what they reveal", store.count - cast)
        self._passed("authorizations unexpired at the terminal's signed timestamp", store.count)
        return sums

    def _check_board(
        self,
        store: EntryStore,
        audit: list[dict[str, Any]],
        alphas: RepeatFinder,
        client: Any,
        in_line_order: InLineOrder,
    ) -> None:
        """The board-wide checks in their order. Those fed the entries in line order
        ran during the ballot phase and those that need the receipts' times run in
        one pass after the receipts are matched; each answers, or raises its
        failure, at its turn."""
        record, election = self.record, self.record.election
        server_key = self._server_key()
        shards = in_line_order.shards.outcome()
        self._passed("board shard chains", store.count)
        roots = load_roots(record, server_key)
        self._passed("consistency of successive national roots", check_consistency(record, roots))
        self._passed(
            "national roots rebuilt from the shards, every entry included",
            check_roots_against_shards(roots, store, shards),
        )
        heads = in_line_order.terminal_heads.outcome()
        self._passed("terminal tracking-code chains", len(heads))
        self._passed("one cast ballot per authorization", check_authorizations(store))
        self._passed(
            "provisional ballots: one registry decision each, only the counted summed",
            in_line_order.provisional.outcome(),
        )
        self._passed("no ciphertext on two ballots", check_unique_ciphertexts(store, alphas))
        receipts = match_receipts(
            record, store, shards, server_key, election["election_id"], client
        )
        stations = sorted(
            set(shards.lengths)
            | {
                s.station_id
                for s in record.manifest.stations
                if record.path(f"reports/{s.station_id}-opening.json").exists()
            }
        )
        terminals = {terminal.terminal_id: terminal for terminal in self.terminals}
        closed_versions = closing_versions(audit)
        hq_key = self._key("hq_public_key")
        received_order: Deferred[Received, int] = Deferred(lambda: ReceiptOrder(receipts))
        reports: Deferred[Received, int] = Deferred(
            lambda: PollReports(record, stations, heads, server_key)
        )
        declarations: Deferred[Received, int] = Deferred(
            lambda: DeclaredHeadsOnBoard(self._declared_heads(stations, terminals, closed_versions))
        )
        revocations: Deferred[Received, dict[str, int]] = Deferred(
            lambda: Revocations(record, audit, terminals, hq_key)
        )
        SideBySide(received_order, reports, declarations, revocations).feed(store.with_received())
        self._passed("receipts, received in shard order", received_order.outcome())
        self._passed("poll reports", reports.outcome())
        self.reported_stations = stations
        self._passed(DECLARATIONS_CHECK, declarations.outcome())
        self._passed(
            VOIDS_CHECK, check_voids(record, terminals, server_key, store.cast_line, stations)
        )
        self._passed(PERIODS_CHECK, in_line_order.periods.outcome())
        registry_key = self._key("registry_public_key")
        self._passed(
            COUNTERSIGN_CHECK,
            check_countersignatures(
                record, stations, store, shards, registry_key, server_key, closed_versions
            ),
        )
        revoked_at = revocations.outcome()
        self._passed(REVOCATIONS_CHECK, len(revoked_at))
        self._passed(
            FOR_REVOKED_CHECK,
            check_revoked_holder_voids(record, terminals, server_key, revoked_at, audit),
        )
        closing = {s: signed_report(record, s, "closing", server_key) for s in stations}
        self._passed(
            "stations reconciled: check-ins online + offline = ballots counted + released"
            " + unused + excluded",
            check_station_balance(
                closing, in_line_order.cast_counts.outcome(), provisional_decisions(record)
            ),
        )

    def _declared_heads(
        self, stations: list[str], terminals: dict[str, TerminalKey], closed: dict[str, int]
    ) -> list[DeclaredHead]:
        """Every journal head the stations' terminals declared in their closing reports."""
        server_key = self._server_key()
        return [
            head
            for station_id in stations
            for head in declared_heads(
                signed_report(self.record, station_id, "closing", server_key),
                f"reports/{station_id}-closing.json",
                terminals,
                closed.get(station_id),
            )
        ]

    def _check_totals_and_results(self, sums: BallotSums) -> None:
        record, manifest = self.record, self.record.manifest
        recorded = load_totals(record)
        self._passed(
            "closing reports' encrypted subtotals",
            check_closing_subtotals(
                record,
                sums.cast().station_units(manifest),
                self.reported_stations,
                self._server_key(),
            ),
        )
        station_units = sums.counted.station_units(manifest)
        recomputed = roll_up(manifest, station_units)
        if len(recorded.units) != len(recomputed):
            raise VerificationFailure("totals", TOTALS, "wrong number of units", code="mismatch")
        for index, (mine, theirs) in enumerate(zip(recomputed, recorded.units, strict=True)):
            difference = first_difference(mine.to_json(), theirs.to_json())
            if difference:
                check = "station totals" if mine.level == "station" else "hierarchy sums"
                raise VerificationFailure(
                    check,
                    f"{TOTALS}:units[{index}] ({mine.level} {mine.unit_id})",
                    difference,
                    code="totals_mismatch",
                )
        stations = sum(1 for unit in recomputed if unit.level == "station")
        self._passed("station totals from ballots", stations)
        self._passed("sums up the hierarchy", len(recomputed) - stations)
        envelopes = load_share_envelopes(record)
        try:
            decryption = decrypt_totals(
                recorded, envelopes, record.trustee_keys(), trustee_signers(record), manifest.quorum
            )
        except DecryptionError as error:
            raise VerificationFailure(
                "decryption shares", SHARES, str(error), code=error.code
            ) from error
        results = build_results(manifest, recorded, decryption, manifest.quorum)
        recorded_results = record.read_object(RESULTS_JSON)
        if results["rejected_shares"] != recorded_results.get("rejected_shares"):
            first = decryption.rejected[0] if decryption.rejected else None
            detail = (
                f"trustee {first.trustee_index}, {first.label}: {first.reason}"
                if first
                else "results.json names rejections that do not happen"
            )
            raise VerificationFailure(
                "decryption shares",
                SHARES,
                detail,
                code="bad_decryption_share",
            )
        self._passed("decryption proofs", len(decryption.counts))
        difference = first_difference(results, recorded_results)
        if difference:
            raise VerificationFailure("results", RESULTS_JSON, difference, code="results_mismatch")
        self._passed("decoded results and outcomes", len(results["units"]))
        self._passed(
            "results.csv, report.html, poll tapes drawn again",
            check_presentation(record, manifest, results),
        )


def verify_record(
    root: Path,
    workers: int = 1,
    echo: Callable[[str], None] | None = None,
    progress: bool = False,
    pins: Pins | None = None,
    scheduler: str | None = None,
) -> list[CheckResult]:
    """Verify a record; raises VerificationFailure naming the first failing item.
    ``workers`` > 1 runs the ballot checks on a Dask LocalCluster of that many
    processes, ``scheduler`` on the Dask cluster at that address."""
    return Verifier(root, workers, echo, progress, pins, scheduler).run()
