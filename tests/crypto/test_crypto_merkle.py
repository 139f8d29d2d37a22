"""crypto.merkle reproduces the RFC 6962 / 9162 reference tree and its published
proofs, every honest proof verifies, and every altered one is refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import InvalidMerkleProof
from crypto.merkle import (
    EMPTY_ROOT,
    Frontier,
    PerfectSubtree,
    Span,
    consistency_path,
    consistency_proof,
    inclusion_path,
    inclusion_proof,
    leaf_hash,
    node_hash,
    path_proof,
    path_subtrees,
    perfect_root,
    perfect_subtrees,
    root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "rfc6962-merkle.json").read_text()
)
LEAVES = [leaf_hash(bytes.fromhex(data)) for data in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(value) for value in VECTORS["roots"]]
MANY = [leaf_hash(index.to_bytes(4, "big")) for index in range(40)]
SEVENTY = [leaf_hash(index.to_bytes(4, "big")) for index in range(70)]


def _rfc_subtree(leaves: list[bytes], span: Span) -> bytes:
    """MTH over a span by the RFC's own recursion: the oracle the stored-node
    proofs are held to."""
    start, end = span
    if end - start == 1:
        return leaves[start]
    middle = start + (1 << ((end - start - 1).bit_length() - 1))
    return node_hash(_rfc_subtree(leaves, (start, middle)), _rfc_subtree(leaves, (middle, end)))


def _stored_nodes(leaves: list[bytes]) -> dict[PerfectSubtree, bytes]:
    """What a log that keeps every node its frontier completes holds."""
    frontier, nodes = Frontier(), {}
    for leaf in leaves:
        for level, index, value in frontier.append(leaf):
            nodes[PerfectSubtree(level, index)] = value
    return nodes


def test_roots_of_every_size_match_the_reference_tree() -> None:
    assert [root(LEAVES[:size]) for size in range(len(LEAVES) + 1)] == ROOTS


@pytest.mark.parametrize("vector", VECTORS["inclusion"], ids=lambda v: f"{v['index']}-{v['size']}")
def test_inclusion_proofs_match_the_published_ones(vector: dict[str, object]) -> None:
    index, size, proof = vector["index"], vector["size"], vector["proof"]
    assert isinstance(index, int) and isinstance(size, int) and isinstance(proof, list)
    assert [p.hex() for p in inclusion_proof(LEAVES[:size], index)] == proof
    verify_inclusion(LEAVES[index], index, size, [bytes.fromhex(p) for p in proof], ROOTS[size])


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"], ids=lambda v: f"{v['first']}-{v['second']}"
)
def test_consistency_proofs_match_the_published_ones(vector: dict[str, object]) -> None:
    first, second, proof = vector["first"], vector["second"], vector["proof"]
    assert isinstance(first, int) and isinstance(second, int) and isinstance(proof, list)
    assert [p.hex() for p in consistency_proof(LEAVES[:second], first)] == proof
    verify_consistency(
        first, second, ROOTS[first], ROOTS[second], [bytes.fromhex(p) for p in proof]
    )


def test_every_inclusion_proof_verifies_and_no_altered_one_does() -> None:
    """(The tree size is not varied: it is bound to the root by the signed tree
    head, and the RFC's path walk can coincide for two sizes.)"""
    for size in range(1, len(MANY) + 1):
        tree, tree_root = MANY[:size], root(MANY[:size])
        for index in range(size):
            proof = inclusion_proof(tree, index)
            verify_inclusion(tree[index], index, size, proof, tree_root)
            forgeries = [
                (tree[index], (index + 1) % size, size, proof),
                (leaf_hash(b"not in the tree"), index, size, proof),
                (tree[index], index, size, [*proof, MANY[0]]),
            ]
            if proof:
                forgeries.append((tree[index], index, size, proof[:-1]))
                flipped = bytes([proof[0][0] ^ 1]) + proof[0][1:]
                forgeries.append((tree[index], index, size, [flipped, *proof[1:]]))
            for leaf, wrong_index, wrong_size, wrong_proof in forgeries:
                if (wrong_index, wrong_size, wrong_proof, leaf) == (
                    index,
                    size,
                    proof,
                    tree[index],
                ):
                    continue
                with pytest.raises(InvalidMerkleProof):
                    verify_inclusion(leaf, wrong_index, wrong_size, wrong_proof, tree_root)


def test_every_consistency_proof_verifies_and_no_forked_tree_passes() -> None:
    roots = [root(MANY[:size]) for size in range(len(MANY) + 1)]
    for second in range(1, len(MANY) + 1):
        for first in range(second + 1):
            proof = consistency_proof(MANY[:second], first)
            verify_consistency(first, second, roots[first], roots[second], proof)
            if first in (0, second):
                continue
            forked = [*MANY[: first - 1], leaf_hash(b"rewritten"), *MANY[first:second]]
            with pytest.raises(InvalidMerkleProof):
                verify_consistency(first, second, roots[first], root(forked), proof)
            with pytest.raises(InvalidMerkleProof):
                verify_consistency(
                    first, second, roots[first], root(forked), consistency_proof(forked, first)
                )
            with pytest.raises(InvalidMerkleProof):
                verify_consistency(first, second, roots[first], roots[second], proof[:-1])


def test_degenerate_consistency_cases_are_strict() -> None:
    verify_consistency(0, 5, EMPTY_ROOT, root(MANY[:5]), [])
    verify_consistency(4, 4, root(MANY[:4]), root(MANY[:4]), [])
    with pytest.raises(InvalidMerkleProof):
        verify_consistency(4, 4, root(MANY[:4]), root(MANY[:5]), [])
    with pytest.raises(InvalidMerkleProof):
        verify_consistency(5, 4, root(MANY[:5]), root(MANY[:4]), [])
    with pytest.raises(InvalidMerkleProof):
        verify_consistency(0, 5, root(MANY[:1]), root(MANY[:5]), [])


@given(st.lists(st.binary(max_size=8), max_size=70))
def test_frontier_root_equals_the_tree_hash_at_every_size(data: list[bytes]) -> None:
    frontier = Frontier()
    leaves: list[bytes] = []
    for item in data:
        leaves.append(leaf_hash(item))
        frontier.append(leaves[-1])
        assert frontier.root() == root(leaves)
    assert Frontier.from_json(frontier.to_json()) == frontier


def test_frontier_completes_exactly_the_perfect_subtrees_of_the_leaves() -> None:
    nodes = _stored_nodes(SEVENTY)
    expected = {
        PerfectSubtree(level, index): perfect_root(SEVENTY, PerfectSubtree(level, index))
        for level in range(len(SEVENTY).bit_length())
        for index in range(len(SEVENTY) >> level)
    }
    assert nodes == expected
    assert nodes[PerfectSubtree(6, 0)] == root(SEVENTY[:64])


def test_proofs_from_stored_nodes_equal_the_rfc_proofs_at_every_size_and_index() -> None:
    nodes = _stored_nodes(SEVENTY)
    for size in range(1, len(SEVENTY) + 1):
        tree = SEVENTY[:size]
        for index in range(size):
            path = inclusion_path(size, index)
            expected = [_rfc_subtree(tree, span) for span in path]
            assert path_proof(path, nodes) == inclusion_proof(tree, index) == expected
            verify_inclusion(tree[index], index, size, expected, root(tree))
        for first in range(size + 1):
            path = consistency_path(first, size)
            expected = [_rfc_subtree(tree, span) for span in path]
            assert path_proof(path, nodes) == consistency_proof(tree, first) == expected
            verify_consistency(first, size, root(SEVENTY[:first]), root(tree), expected)


@given(st.integers(min_value=1, max_value=1 << 40), st.data())
def test_a_proof_needs_at_most_two_nodes_per_level(size: int, data: st.DataObject) -> None:
    """log₂ n + 1 levels: the path's own spans, plus the perfect pieces of the one
    right sibling that is not perfect, so ≤ 2·(log₂ n + 1) stored nodes."""
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    first = data.draw(st.integers(min_value=0, max_value=size))
    for path in (inclusion_path(size, index), consistency_path(first, size)):
        needed = path_subtrees(path)
        assert len(needed) <= 2 * (math.log2(size) + 1)
        assert all(part.end <= size for part in needed)
        assert [part for span in path for part in perfect_subtrees(span)] == needed


def test_a_span_that_is_no_rfc_subtree_is_refused() -> None:
    with pytest.raises(ValueError, match="not a subtree"):
        perfect_subtrees((1, 3))
    with pytest.raises(ValueError, match="not a range"):
        perfect_subtrees((3, 3))
