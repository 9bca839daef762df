"""Tests of lrspeech.eval.align: edit-distance alignment with backtrace."""

from lrspeech.eval.align import AlignedPair, ErrorCounts, align, count


def ops(ref: str, hyp: str) -> str:
    return "".join(p.op for p in align(ref.split(), hyp.split()))


def test_identical_sequences_are_all_correct():
    assert ops("a b c", "a b c") == "CCC"


def test_substitution_deletion_insertion_counts():
    # ref: the cat sat on the mat / hyp: the bat sat the mat down
    pairs = align("the cat sat on the mat".split(), "the bat sat the mat down".split())
    assert [p.op for p in pairs] == ["C", "S", "C", "D", "C", "C", "I"]
    c = count(pairs)
    assert (c.cor, c.sub, c.dels, c.ins) == (4, 1, 1, 1)
    assert c.ref_len == 6 and c.hyp_len == 6 and c.errors == 3
    assert c.rate == 3 / 6
    assert pairs[1] == AlignedPair("S", "cat", "bat")
    assert pairs[3] == AlignedPair("D", "on", None)
    assert pairs[6] == AlignedPair("I", None, "down")


def test_empty_hypothesis_is_all_deletions():
    c = count(align(["a", "b"], []))
    assert (c.cor, c.sub, c.dels, c.ins) == (0, 0, 2, 0)
    assert c.rate == 1.0


def test_empty_reference_is_all_insertions_and_rate_undefined():
    c = count(align([], ["x", "y", "z"]))
    assert (c.cor, c.sub, c.dels, c.ins) == (0, 0, 0, 3)
    assert c.ref_len == 0 and c.rate is None


def test_both_empty():
    assert align([], []) == []
    assert count([]).rate is None


def test_ties_prefer_more_correct_tokens():
    # "b a" vs "a b": two substitutions or delete+correct+insert both cost 2
    c = count(align(["a", "b"], ["b", "a"]))
    assert c.errors == 2 and c.cor == 1


def test_counts_add():
    total = ErrorCounts(1, 2, 3, 4) + ErrorCounts(10, 0, 1, 0)
    assert total == ErrorCounts(11, 2, 4, 4)
    assert total.to_dict() == {
        "ref_len": 17,
        "cor": 11,
        "sub": 2,
        "del": 4,
        "ins": 4,
        "err": 10,
        "rate": 10 / 17,
    }


def test_alignment_cost_is_levenshtein_distance():
    import editdistance

    for ref, hyp in [("kitten", "sitting"), ("flaw", "lawn"), ("abcdef", "azced"), ("", "abc")]:
        c = count(align(list(ref), list(hyp)))
        assert c.errors == editdistance.eval(ref, hyp)
