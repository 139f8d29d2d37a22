"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0, same tree as RFC 6962).

SHA-256 as the RFC fixes it, so that any CT tooling can check our tree heads:
a leaf hashes as ``SHA-256(0x00 || data)``, an inner node as
``SHA-256(0x01 || left || right)``, the empty tree as ``SHA-256("")``, and a
tree of ``n`` leaves splits at ``k``, the largest power of two below ``n``.

A proof (§2.1.3.1, §2.1.4.1) is a list of subtree hashes; ``inclusion_path``
and ``consistency_path`` name those subtrees as spans of leaves without
touching any hash, and every span is made of at most log₂ n + 1 perfect
subtrees (``PerfectSubtree``), whose hashes never change once their leaves
are in. A log that stores its perfect subtrees (``Frontier.append`` hands
over each one it completes) serves a proof from O(log n) stored nodes;
``inclusion_proof`` and ``consistency_proof`` do the same from the leaves.
Proofs are checked with the RFC's verification algorithms (§2.1.3.2,
§2.1.4.2), which never need the leaves. ``Frontier`` is the compact form of
a growing tree (one hash per set bit of its size), so a log's head advances
in O(new leaves + log n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crypto.errors import InvalidMerkleProof

HASH_BYTES = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly below ``size`` (size ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


Span = tuple[int, int]
"""A range of leaves ``[start, end)`` that is a subtree of some RFC 9162 tree."""


@dataclass(frozen=True, slots=True)
class PerfectSubtree:
    """The node over leaves ``[index·2^level, (index+1)·2^level)``: once those
    leaves are in the log its hash never changes, so it can be stored."""

    level: int
    index: int

    @property
    def start(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


def perfect_subtrees(span: Span) -> list[PerfectSubtree]:
    """The perfect subtrees ``span`` is made of, largest first: one per set bit
    of its width, since an RFC 9162 subtree's left children are all perfect."""
    start, end = span
    if not 0 <= start < end:
        raise ValueError(f"[{start}, {end}) is not a range of leaves")
    parts: list[PerfectSubtree] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start & ((1 << level) - 1):
            raise ValueError(f"[{span[0]}, {span[1]}) is not a subtree of an RFC 9162 tree")
        parts.append(PerfectSubtree(level, start >> level))
        start += 1 << level
    return parts


def subtree_root(span: Span, nodes: Mapping[PerfectSubtree, bytes]) -> bytes:
    """MTH over ``span`` from the hashes of its perfect subtrees (folded from the
    right, as the RFC's recursion splits)."""
    parts = perfect_subtrees(span)
    result = nodes[parts[-1]]
    for part in reversed(parts[:-1]):
        result = node_hash(nodes[part], result)
    return result


def perfect_root(leaves: Sequence[bytes], subtree: PerfectSubtree) -> bytes:
    """MTH over the perfect subtree's leaves, from the leaves themselves."""
    if subtree.end > len(leaves):
        raise ValueError(f"{subtree} ends beyond a tree of {len(leaves)}")
    level = list(leaves[subtree.start : subtree.end])
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def inclusion_path(size: int, index: int) -> list[Span]:
    """The spans whose hashes make PATH(index, D[size]) (§2.1.3.1), the leaf's
    sibling first. At most one is not perfect: the first right sibling on the
    way down, below which every subtree is perfect."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is outside a tree of {size}")
    path: list[Span] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            path.append((middle, end))
            end = middle
        else:
            path.append((start, middle))
            start = middle
    path.reverse()
    return path


def consistency_path(first: int, size: int) -> list[Span]:
    """The spans whose hashes make PROOF(first, D[size]) (§2.1.4.1), deepest first."""
    if not 0 <= first <= size:
        raise ValueError(f"a tree of {first} is not a prefix of a tree of {size}")
    if first in (0, size):
        return []
    path: list[Span] = []
    start, end, complete = 0, size, True
    while first != end:
        middle = start + _split(end - start)
        if first <= middle:
            path.append((middle, end))
            end = middle
        else:
            path.append((start, middle))
            start, complete = middle, False
    if not complete:
        path.append((start, end))
    path.reverse()
    return path


def path_subtrees(path: Sequence[Span]) -> list[PerfectSubtree]:
    """Every perfect subtree the spans of ``path`` are made of, once each: the
    nodes a store must hand over for the proof."""
    return list(dict.fromkeys(part for span in path for part in perfect_subtrees(span)))


def path_proof(path: Sequence[Span], nodes: Mapping[PerfectSubtree, bytes]) -> list[bytes]:
    """The proof whose spans are ``path``, from the hashes of their perfect subtrees."""
    return [subtree_root(span, nodes) for span in path]


def _proof_from_leaves(leaves: Sequence[bytes], path: Sequence[Span]) -> list[bytes]:
    return path_proof(path, {part: perfect_root(leaves, part) for part in path_subtrees(path)})


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over ``leaves`` (already leaf hashes)."""
    return _proof_from_leaves(leaves, [(0, len(leaves))])[0] if leaves else EMPTY_ROOT


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) for the tree over all of ``leaves``, leaf's sibling first."""
    return _proof_from_leaves(leaves, inclusion_path(len(leaves), index))


def consistency_proof(leaves: Sequence[bytes], first: int) -> list[bytes]:
    """PROOF(first, D[n]) that the tree of the first ``first`` leaves is a prefix."""
    return _proof_from_leaves(leaves, consistency_path(first, len(leaves)))


def _check_hash(value: bytes, name: str) -> None:
    if len(value) != HASH_BYTES:
        raise InvalidMerkleProof(f"{name} is {len(value)} bytes, not {HASH_BYTES}")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise InvalidMerkleProof unless ``proof`` leads ``leaf`` at
    ``index`` to ``expected_root`` of a tree of ``size`` leaves."""
    for name, value in (("leaf", leaf), ("root", expected_root), *(("proof", p) for p in proof)):
        _check_hash(value, name)
    if not 0 <= index < size:
        raise InvalidMerkleProof(f"leaf {index} is outside a tree of {size}")
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise InvalidMerkleProof("proof longer than the path to the root")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidMerkleProof("proof shorter than the path to the root")
    if result != expected_root:
        raise InvalidMerkleProof(f"leaf {index} does not lead to this root of {size}")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise InvalidMerkleProof unless the tree of ``first`` leaves
    with ``first_root`` is a prefix of the tree of ``second`` leaves with ``second_root``."""
    for name, value in (("first root", first_root), ("second root", second_root)):
        _check_hash(value, name)
    for value in proof:
        _check_hash(value, "proof")
    if not 0 <= first <= second:
        raise InvalidMerkleProof(f"a tree of {first} cannot be a prefix of one of {second}")
    if first == second or first == 0:
        if proof:
            raise InvalidMerkleProof("a trivial consistency proof must be empty")
        if first == second and first_root != second_root:
            raise InvalidMerkleProof(f"two different roots for one tree of {first}")
        if first == 0 and first_root != EMPTY_ROOT:
            raise InvalidMerkleProof("the empty tree has another root")
        return
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        raise InvalidMerkleProof("empty consistency proof")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first_result = second_result = path[0]
    for node in path[1:]:
        if sn == 0:
            raise InvalidMerkleProof("consistency proof too long")
        if fn & 1 or fn == sn:
            first_result = node_hash(node, first_result)
            second_result = node_hash(node, second_result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            second_result = node_hash(second_result, node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidMerkleProof("consistency proof too short")
    if first_result != first_root or second_result != second_root:
        raise InvalidMerkleProof(f"the tree of {second} does not extend the tree of {first}")


@dataclass
class Frontier:
    """A growing tree kept as the roots of its perfect subtrees, largest first.

    Holds one hash per set bit of ``size``; appending merges equal-sized
    neighbours, and the root folds them from the right, which is MTH exactly
    because every left subtree of an RFC 9162 tree is perfect.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add ``leaf``; the perfect subtrees it completed, as (level, index, hash),
        the leaf itself first: exactly the nodes a proof store needs."""
        _check_hash(leaf, "leaf")
        merged, carries, index = leaf, self.size, self.size
        completed = [(0, index, leaf)]
        while carries & 1:
            merged = node_hash(self.hashes.pop(), merged)
            carries, index = carries >> 1, index >> 1
            completed.append((len(completed), index, merged))
        self.hashes.append(merged)
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            result = node_hash(left, result)
        return result

    def to_json(self) -> dict[str, object]:
        return {"size": self.size, "hashes": [value.hex() for value in self.hashes]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Frontier:
        size, hashes = data["size"], data["hashes"]
        if not isinstance(size, int) or not isinstance(hashes, list):
            raise InvalidMerkleProof("a frontier is {size, hashes}")
        if len(hashes) != size.bit_count():
            raise InvalidMerkleProof(f"a frontier of {size} leaves has {size.bit_count()} hashes")
        return cls(size, [bytes.fromhex(value) for value in hashes])
