"""The rule-based head finder for category titles."""

import pytest

from classifier.category_titles import (
    head_candidates,
    head_forms,
    head_key,
    head_phrase,
    is_medium_head,
    is_null_head,
    plural,
    singular,
    split_root,
)


@pytest.mark.parametrize(
    ("title", "head"),
    [
        ("Churches in Kent", "Churches"),
        ("Steam locomotives of Hungary", "Steam locomotives"),
        ("Ships built in Massachusetts", "Ships"),
        ("Paintings by Rembrandt", "Paintings"),
        ("Hyde Terrace, Leeds", "Hyde Terrace"),
        ("History of Washington (state)", "History"),
        ("Monuments and memorials in Kent", "Monuments and memorials"),
        ("Churches", "Churches"),
    ],
)
def test_head_phrase_splits_on_prepositions_commas_and_participles(title, head):
    assert head_phrase(title) == head


def test_candidates_go_from_specific_to_general_with_both_numbers():
    assert head_candidates("Steam locomotives of Hungary") == (
        "Steam locomotives",
        "Steam locomotive",
        "Locomotives",
        "Locomotive",
    )
    assert head_candidates("Flag of France") == ("Flag", "Flags")


def test_a_bare_head_has_no_candidates_so_no_sideways_jump():
    assert head_candidates("Churches") == ()
    assert head_candidates("Temple") == ()


def test_conjunctions_do_not_start_a_candidate():
    assert "And memorials" not in head_candidates("Monuments and memorials in Kent")


@pytest.mark.parametrize(
    ("word", "one"),
    [("Churches", "Church"), ("Temples", "Temple"), ("Cities", "City"), ("Glass", "Glass")],
)
def test_singular_and_plural(word, one):
    assert singular(word) == one


def test_plural_inverts_singular():
    assert plural("Church") == "Churches" and plural("City") == "Cities"
    assert plural("Temple") == "Temples"
    assert head_key("Temple") == head_key("Temples")


@pytest.mark.parametrize(
    "title",
    [
        "1922 in the United States",
        "April 2009 in Monmouthshire",
        "20th century",
        "Categories by country",
        "1990s",
    ],
)
def test_null_heads(title):
    assert is_null_head(title)


@pytest.mark.parametrize("title", ["18th-century portraits", "Churches in Kent", "History"])
def test_subject_heads_are_not_null(title):
    assert not is_null_head(title)


def test_medium_heads():
    assert is_medium_head("Featured pictures of Haiti")
    assert is_medium_head("Photographs")
    assert not is_medium_head("Paintings of Paris")


def test_head_forms_keep_the_own_head_and_its_endings():
    assert head_forms("War memorials by Edwin Lutyens") == ("War memorials", "Memorials")
    assert head_forms("Monuments and memorials in Kent") == ("Monuments and memorials", "Memorials")


def test_split_root_is_what_a_by_split_divides():
    assert split_root("People by occupation") == "People"
    assert split_root("Art by country by medium") == "Art"
    assert split_root("Photographs by Hans Peters") == "Photographs"
    assert split_root("Churches in Kent") == "Churches in Kent"
