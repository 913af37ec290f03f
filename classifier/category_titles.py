"""Lexical heads of Commons category titles, by rule.

Commons names most categories "<what> <preposition> <where/when/which>":
"Churches in Kent", "Steam locomotives of Hungary", "Ships built in Massachusetts".
The part before the preposition (the head) names a more general category that
usually exists ("Churches", "Steam locomotives", "Ships"), which is the shortcut the
topic heuristic takes up the graph. The research used a constituency parser for
this; a few rules on the title do the job in microseconds and need no model.

Heads are compared through `head_key` (lower case, singular), so "Temple" matches
"Temples" and "Church" matches "Churches".
"""

from __future__ import annotations

import functools
import re

# Title functions are pure and the same titles recur across files and levels.
_cached = functools.lru_cache(maxsize=1 << 16)

# Words that open the qualifying part of a title. "and" is deliberately absent:
# "Monuments and memorials" is one head.
PREPOSITIONS = frozenset(
    "in of by from at on with for to during under near about between without per "
    "into onto within across along around after before via".split()
)

# Participles that sit between a head and its preposition ("Ships built in ...").
PARTICIPLES = frozenset(
    "built made taken established founded published located named designed "
    "manufactured produced operated owned used shown seen drawn painted written "
    "held depicting showing featuring containing".split()
)

CONJUNCTIONS = frozenset({"and", "or", "&"})

MONTHS = frozenset(
    "January February March April May June July August September October November "
    "December".split()
)

# Head nouns that classify by time or bookkeeping, not by subject.
NULL_HEAD_WORDS = frozenset(
    "century centuries millennium millennia decade decades year years category "
    "categories".split()
)

# Head nouns that name the file itself (its medium or quality), not what it shows:
# "Photographs", "Featured pictures", "Views" sit above nearly every file and lead
# up to Art through "Art by medium".
MEDIUM_HEAD_WORDS = frozenset(
    "photograph photographs image images picture pictures view views file files "
    "media scan scans screenshot screenshots".split()
)

_YEARISH = re.compile(r"^\d+(s|st|nd|rd|th)?$|^\d+[-–]\d+$")
_PARENTHESIS = re.compile(r"\s*\([^)]*\)\s*$")


@_cached
def head_phrase(title: str) -> str:
    """The part of `title` before its first comma, preposition or trailing participle.

    "Churches in Kent" -> "Churches"; "Hyde Terrace, Leeds" -> "Hyde Terrace";
    "Ships built in Massachusetts" -> "Ships"; "Churches" -> "Churches".
    """
    title = _PARENTHESIS.sub("", title).split(",")[0].strip()
    words = title.split()
    for i, word in enumerate(words[1:], start=1):
        if word in PREPOSITIONS:
            words = words[:i]
            break
    while len(words) > 1 and words[-1] in PARTICIPLES:
        words.pop()
    return " ".join(words)


@_cached
def split_root(title: str) -> str:
    """The category a "by"-split title divides, or the title itself.

    Commons splits a category into "X by criterion" containers ("People by
    occupation", "Art by country by medium", "Photographs by Hans Peters"): whatever
    they hold is X, so X is what they say about a file. "Art by country by medium"
    -> "Art"; "Churches in Kent" -> "Churches in Kent".
    """
    return title.split(" by ")[0]


@_cached
def head_candidates(title: str) -> tuple[str, ...]:
    """Category titles the head of `title` may go by, most specific first.

    The head phrase, then the phrase without its leading modifiers one word at a time
    ("Silver BMW automobiles" -> "BMW automobiles" -> "Automobiles"), each followed
    by its other number ("Flag" -> "Flags"). Neither the title nor its other number
    is a candidate: a jump must go to something more general, never sideways.
    """
    words = head_phrase(title).split()
    own = head_key(title)
    out: list[str] = []
    for start in range(len(words)):
        phrase = " ".join(words[start:])
        if head_key(phrase) == own or words[start] in CONJUNCTIONS:
            continue
        phrase = phrase[0].upper() + phrase[1:]
        out.extend(f for f in (phrase, _other_number(phrase)) if f not in out)
    return tuple(out)


@_cached
def head_forms(title: str) -> tuple[str, ...]:
    """The head phrase of `title` and each shorter ending of it, capitalised, most
    specific first: "War memorials by Edwin Lutyens" -> ("War memorials",
    "Memorials"). Unlike `head_candidates` it keeps the title's own head, because it
    serves to find the heads that a category shares with its parents."""
    words = head_phrase(title).split()
    out: list[str] = []
    for start in range(len(words)):
        if words[start] in CONJUNCTIONS:
            continue
        phrase = " ".join(words[start:])
        out.append(phrase[0].upper() + phrase[1:])
    return tuple(out)


def other_number(phrase: str) -> str:
    """The phrase with its last word switched between singular and plural."""
    return _other_number(phrase)


@_cached
def is_null_head(title: str) -> bool:
    """True when the title's head classifies by date or bookkeeping, not by subject.

    "1922 in the United States", "April 2009 in Monmouthshire", "20th century",
    "Categories by country" and "1990s" yield no topic; "18th-century portraits" does.
    """
    words = head_phrase(title).split()
    if not words:
        return True
    last = words[-1]
    return (
        any(w in MONTHS for w in words)
        or bool(_YEARISH.match(last))
        or last.lower() in NULL_HEAD_WORDS
    )


@_cached
def is_medium_head(title: str) -> bool:
    """True when the head of `title` names the file's medium ("Featured pictures of
    Haiti", "Photographs"), so the category says nothing about the subject by itself."""
    words = head_phrase(title).split()
    return bool(words) and words[-1].lower() in MEDIUM_HEAD_WORDS


@_cached
def head_key(phrase: str) -> str:
    """A comparison key for heads: lower case, last word singular."""
    words = phrase.lower().split()
    if not words:
        return ""
    words[-1] = singular(words[-1])
    return " ".join(words)


def singular(word: str) -> str:
    """English singular of a plural noun, by suffix rules (good enough for heads)."""
    lower = word.lower()
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + ("Y" if word[-1].isupper() else "y")
    if lower.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def plural(word: str) -> str:
    """English plural of a singular noun, by suffix rules (good enough for heads)."""
    lower = word.lower()
    if lower.endswith("y") and len(word) > 2 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _other_number(phrase: str) -> str:
    """The phrase with its last word switched between singular and plural."""
    head, _, last = phrase.rpartition(" ")
    switched = singular(last)
    if switched == last:
        switched = plural(last)
    return f"{head} {switched}" if head else switched
