"""lrspeech.text.overlap: held-out sentences kept out of the LM text."""

from lrspeech.text.overlap import OverlapRules, find_overlap, jaccard, shingles


def test_exact_contained_and_near_duplicates_are_found_and_others_kept():
    held = ["Habari za asubuhi, rafiki yangu!", "Mvua kubwa ilinyesha jana usiku kijijini."]
    text = {
        "exact": "habari za ASUBUHI rafiki yangu",  # case and punctuation do not hide it
        "contains": "Yesu akasema: mvua kubwa ilinyesha jana usiku kijijini, wakaogopa.",
        "near": "Mvua kubwa ilinyesha jana usiku vijijini.",  # one letter differs
        "other": "Wanafunzi walikwenda shuleni asubuhi na mapema.",
        "short": "Habari",  # shorter than either held-out sentence: not an overlap
    }
    found = find_overlap(text, held)
    assert found == {"exact": "exact", "contains": "contains", "near": "near"}
    # The near-duplicate test has a threshold: stricter rules keep the near one.
    strict = find_overlap(text, held, rules=OverlapRules(near=0.95))
    assert "near" not in strict and strict["exact"] == "exact"
    # A held-out sentence too short to count as "contained" is matched only exactly.
    assert find_overlap({"a": "habari za asubuhi ndugu"}, ["habari za"]) == {}


def test_jaccard_of_character_shingles():
    a, b = shingles("mvua kubwa"), shingles("mvua kubwa")
    assert jaccard(a, b) == 1.0
    assert 0.0 < jaccard(a, shingles("mvua ndogo")) < 0.6
    assert jaccard(a, shingles("xyz")) == 0.0
