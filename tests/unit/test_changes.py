"""The word-level summary of what a correction changed."""

from __future__ import annotations

from services.api.changes import body_change


def test_no_change() -> None:
    assert body_change("a b\n\nc", "a b\n\nc").summary == "no change to the body"


def test_a_word_replaced_and_one_added_in_one_paragraph() -> None:
    change = body_change(
        "Kept as is.\n\nThe toll rose to 12.", "Kept as is.\n\nThe toll rose to 14 today."
    )
    assert (change.words_added, change.words_removed, change.paragraphs_changed) == (2, 1, 1)
    assert change.summary == "+2 / -1 words in 1 paragraph"


def test_a_paragraph_added_and_one_removed() -> None:
    change = body_change("One.\n\nTwo words.", "Two words.\n\nThree more words.")
    assert change.words_added == 3
    assert change.words_removed == 1
    assert change.paragraphs_changed == 2


def test_a_huge_paragraph_is_bounded() -> None:
    big = " ".join(str(n) for n in range(200_000))
    change = body_change(big, big.replace("7", "8"))
    assert change.paragraphs_changed == 1
    assert change.words_added == change.words_removed > 0
