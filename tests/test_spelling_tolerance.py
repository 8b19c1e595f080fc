"""Short-text spelling tolerance (review A9): one slip in a long word is forgiven, nothing else.

Property tests over generated words; the accepted answers are built from them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.grading.scoring import (
    TOLERANT_WORD_LETTERS,
    ItemKey,
    edit_distance,
    normalise_text,
    share_for,
)

LETTERS = "abcdefghijklmnopqrstuvwxyz"
long_words = st.text(LETTERS, min_size=TOLERANT_WORD_LETTERS, max_size=14)
short_words = st.text(LETTERS, min_size=2, max_size=TOLERANT_WORD_LETTERS - 1)
other_words = st.lists(st.text(LETTERS, min_size=1, max_size=10), max_size=3)


def _item(*accepted: str, rejected: tuple[str, ...] = ()) -> ItemKey:
    return ItemKey(
        "ST1",
        "short_text",
        1,
        ("CSC-01.AC1",),
        accepted=tuple(normalise_text(a) for a in accepted),
        rejected=tuple(normalise_text(r) for r in rejected),
    )


def _one_edit(word: str, kind: int, at: int, letter: str) -> str:
    """`word` with one edit: 0 substitute, 1 delete, 2 insert, 3 swap neighbours."""
    at %= len(word)
    if kind == 0:
        return word[:at] + letter + word[at + 1 :]
    if kind == 1:
        return word[:at] + word[at + 1 :]
    if kind == 2:
        return word[:at] + letter + word[at:]
    at = min(at, len(word) - 2)
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


edits = st.tuples(st.integers(0, 3), st.integers(0, 20), st.sampled_from(LETTERS))


@given(before=other_words, word=long_words, after=other_words)
def test_exact_answers_are_always_accepted(before, word, after):
    answer = " ".join([*before, word, *after])
    assert share_for(_item(answer), answer.upper()) == 1.0


@given(before=other_words, word=long_words, after=other_words, edit=edits)
def test_one_edit_in_a_long_word_is_accepted(before, word, after, edit):
    slip = _one_edit(word, *edit)
    answer = " ".join([*before, slip, *after])
    # The edit might cancel out (a letter for itself, a swap of equal letters): still right.
    assert share_for(_item(" ".join([*before, word, *after])), answer) == 1.0


@given(word=short_words, edit=edits)
def test_one_edit_in_a_short_word_is_rejected(word, edit):
    slip = _one_edit(word, *edit)
    if slip == word:
        return  # no edit happened
    assert share_for(_item(f"the {word} act"), f"the {slip} act") == 0.0


@given(word=long_words, first=edits, second=edits)
def test_two_edits_are_rejected(word, first, second):
    slip = _one_edit(_one_edit(word, *first), *second)
    if edit_distance(slip, word) < 2:
        return  # the two edits undid each other or merged into one
    assert share_for(_item(f"{word} office"), f"{slip} office") == 0.0


@given(left=long_words, right=long_words, edit=edits)
def test_a_slip_in_each_of_two_words_is_rejected(left, right, edit):
    slipped_left, slipped_right = _one_edit(left, *edit), _one_edit(right, *edit)
    if slipped_left == left or slipped_right == right:
        return
    assert share_for(_item(f"{left} {right}"), f"{slipped_left} {slipped_right}") == 0.0


def test_the_reviews_examples():
    ico = _item("Information Commissioner's Office")
    assert share_for(ico, "Information Comissioner's Office") == 1.0  # one letter missing
    assert share_for(ico, "Infromation Commissioner's Office") == 1.0  # two letters swapped
    assert share_for(ico, "Information Comissioner's Ofice") == 0.0  # "office": 6 letters
    assert share_for(ico, "Information Comisioner's Office") == 0.0  # two edits


def test_a_listed_wrong_answer_is_never_forgiven():
    # "customer rights" is a different (wrong) answer two edits from the right one.
    item = _item("consumer rights", rejected=("customer rights",))
    assert share_for(item, "customer rights") == 0.0
    assert share_for(item, "custmer rights") == 0.0  # a slip of the wrong answer too
    assert share_for(item, "comsumer rights") == 1.0


def test_edit_distance_counts_a_transposition_as_one():
    assert edit_distance("commissioner", "commissoiner") == 1
    assert edit_distance("commissioner", "commissioner") == 0
    assert edit_distance("commissioner", "comisioner") == 2


def test_the_content_check_refuses_an_answer_both_accepted_and_rejected(tmp_path):
    import shutil

    import pytest

    from service.content_files import ContentError
    from service.content_loader import read_content
    from tests.conftest import CONTENT_DIR

    content = tmp_path / "criteria_data"
    shutil.copytree(CONTENT_DIR, content)
    items = content / "items" / "CSC-02.yaml"
    text = items.read_text(encoding="utf-8")
    assert '    accepted_answers:\n      - "30"\n' in text
    items.write_text(
        text.replace(
            '    accepted_answers:\n      - "30"\n',
            '    rejected_answers: ["Thirty days!"]\n    accepted_answers:\n      - "30"\n',
        ),
        encoding="utf-8",
    )
    with pytest.raises(ContentError, match="accepted and rejected: thirty days"):
        read_content(content)
