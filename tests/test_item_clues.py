"""No item's stimulus gives away another item's key on the same form (review finding A8).

A learner's form mixes items of one unit, so the title, scenario, prompt and visible choices of
one item must not state the key of another, unless the pair is marked `not_with` (the form
builder never puts them together). The search is a normalised phrase match:

- text is case-folded, punctuation becomes space, common function words are dropped and a
  plural "s" is trimmed, so "the scripted greeting and the call-recording notice" and
  "scripted greeting and call-recording notice" compare equal;
- key text is an item's correct options, its ordering steps, its matching pairs' responses and
  its short-text accepted answers;
- a hit is a run of four content words of key text found in another item's stimulus, unless the
  run is not distinctive: it is in the keyed item's own stem or distractors (so it tells the
  learner nothing), it is part of the title of an Act or regulation, or it is shared vocabulary
  that three or more items of the bank show learners (such as "short-term right to reject");
- a short-text answer of two or more words is a hit when it appears whole;
- a matching item whose used responses are all named in another stimulus, while some of its
  responses go unused, is given away (the learner learns which responses to ignore).

Guidance (assessors only) and feedback (shown after submission) are not stimulus: a learner
never sees them while another item on the form is open.
"""

from __future__ import annotations

import collections
import re
import unicodedata

import pytest
import yaml

from service.bank import LEARNER_SCENARIO
from service.grading.forms import build_form
from service.item_keys import item_key
from tests.conftest import CONTENT_DIR
from tests.seeds import UNIT_SEEDS

UNITS = sorted(UNIT_SEEDS)
RUN = 4  # content words in a matched run
COMMON = 3  # a run shown by this many items is shared vocabulary, not a clue
FUNCTION_WORDS = frozenset(
    """a an the and or of to in on for with by at as is are be been it its this that these
    those from your you their they he she his her him them we our us i me my not no if
    can will would should could may must has have had was were do does did so than then
    there here what which who whom when how why all any each every some one up out about
    into over after before also only just more most very own same such under
    """.split()  # noqa: SIM905
)

# The review's A8 table: (item whose stimulus gives the clue, item given away). Each pair is
# marked not_with; the pairs the phrase match must still find when that mark is removed are
# those whose stimulus states the key in words (CLUE_TEXT_PAIRS); the others leak by meaning
# (for example "larger amounts escalated to a team leader" against the key "escalate it"),
# which only a reviewer can judge, so their not_with is the safeguard.
A8_PAIRS = (
    ("CSC-01-Q025", "CSC-01-Q010"),
    ("CSC-01-Q025", "CSC-01-Q021"),
    ("CSC-01-Q025", "CSC-01-Q022"),
    ("CSC-01-Q026", "CSC-01-Q013"),
    ("CSC-02-Q017", "CSC-02-Q004"),
    ("CSC-02-Q017", "CSC-02-Q007"),
    ("CSC-03-Q026", "CSC-03-Q013"),
    ("CSC-03-Q026", "CSC-03-Q014"),
    ("CSC-03-Q027", "CSC-03-Q002"),
    ("CSC-02-Q018", "CSC-02-Q011"),
    ("CSC-04-Q013", "CSC-04-Q003"),
    ("CSC-05-Q026", "CSC-05-Q021"),
    ("CSC-05-Q028", "CSC-05-Q010"),
    ("CSC-05-Q028", "CSC-05-Q012"),
    ("CSC-05-Q028", "CSC-05-Q013"),
)
CLUE_TEXT_PAIRS = (
    ("CSC-01-Q024", "CSC-01-Q002"),
    ("CSC-03-Q026", "CSC-03-Q013"),
    ("CSC-03-Q027", "CSC-03-Q002"),
    ("CSC-05-Q026", "CSC-05-Q022"),
)


# Titles of Acts and regulations ("the Consumer Rights Act 2015", "UK GDPR") are the unit's
# legal vocabulary: naming one gives nothing away (items asking for a title are short-text
# items, whose answers are matched whole).
ACT_TITLE = re.compile(
    r"\b(?:[A-Z][\w'’-]*\s+(?:\((?:[^)]*)\)\s+)?(?:of\s+|and\s+|for\s+)?){1,9}"
    r"(?:Act|Regulations?)\b(?:\s+(?:of\s+)?\(?\d{4}\)?)?|\bUK GDPR\b"
)
# A period of time ("30 days", "within a month") recurs in unrelated rules, so it counts only
# next to a word of the item's own question; other answers (names, titles) count anywhere.
PERIOD = re.compile(r"\b(?:hours?|days?|weeks?|months?|years?)\b", re.IGNORECASE)
TOPIC_WINDOW = 8  # content words either side


def _words(text: str) -> list[str]:
    text = re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text).casefold())
    out = []
    for word in text.split():
        if word in FUNCTION_WORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def _runs(text: str) -> set[tuple[str, ...]]:
    words = _words(ACT_TITLE.sub(" | ", text))
    return {tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}


def _stem(item: dict) -> str:
    scenario = item["scenario"]
    return "\n".join(
        [item["title"], item["prompt"], *(scenario[k] for k in LEARNER_SCENARIO if k in scenario)]
    )


def _stimulus(item: dict) -> str:
    """Everything a learner reads of the item before answering."""
    choices = [
        c["text"]
        for key in ("options", "steps", "premises", "responses")
        for c in item.get(key, [])
    ]
    return "\n".join([_stem(item), *choices])


def _used_responses(item: dict) -> list[dict]:
    used = {p["match"] for p in item["premises"]}
    return [r for r in item["responses"] if r["id"] in used]


def _key_texts(item: dict) -> list[str]:
    kind = item["type"]
    if kind in ("single_choice", "multiple_response"):
        return [o["text"] for o in item["options"] if o["correct"]]
    if kind == "ordering":
        return [s["text"] for s in item["steps"]]
    if kind == "matching":
        return [r["text"] for r in _used_responses(item)]
    if kind == "short_text":
        return list(item["accepted_answers"])
    return []


def _wrong_texts(item: dict) -> list[str]:
    if item["type"] in ("single_choice", "multiple_response"):
        return [o["text"] for o in item["options"] if not o["correct"]]
    if item["type"] == "matching":
        used = {r["id"] for r in _used_responses(item)}
        return [r["text"] for r in item["responses"] if r["id"] not in used]
    return []


def _answers_in(item: dict, words: list[str]) -> set[str]:
    """Accepted answers of two or more words found whole in `words`; a period of time only
    next to a word of the item's own title or question (so "cancel within a month" does not
    give away a subject access request's "within a month")."""
    topic = set(_words(item["title"] + " " + item["prompt"]))
    found = set()
    for answer in item["accepted_answers"]:
        target = _words(answer)
        if len(target) < 2:
            continue
        for i in range(len(words) - len(target) + 1):
            if words[i : i + len(target)] != target:
                continue
            if not PERIOD.search(answer):
                found.add(answer)
                continue
            near = (
                words[max(0, i - TOPIC_WINDOW) : i]
                + words[i + len(target) : i + len(target) + TOPIC_WINDOW]
            )
            if topic.difference(target) & set(near):
                found.add(answer)
    return found


def _phrase(text: str) -> str:
    return " " + " ".join(_words(text)) + " "


def _load_items(unit: str) -> list[dict]:
    path = CONTENT_DIR / "items" / f"{unit}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["items"]


def _shared_vocabulary() -> set[tuple[str, ...]]:
    counts = collections.Counter(
        run for unit in UNITS for item in _load_items(unit) for run in _runs(_stimulus(item))
    )
    return {run for run, n in counts.items() if n >= COMMON}


def clues(items: list[dict], shared: set[tuple[str, ...]]) -> dict[tuple[str, str], set[str]]:
    """(clue item, item given away) -> the matched phrases, for every pair in `items`."""
    found: dict[tuple[str, str], set[str]] = {}
    for given in items:
        if given["type"] == "extended_response":
            continue
        ignore = _runs(_stem(given)) | shared
        for text in _wrong_texts(given):
            ignore |= _runs(text)
        key_runs = set().union(*(_runs(t) for t in _key_texts(given))) - ignore
        for clue in items:
            if clue is given:
                continue
            stimulus = _stimulus(clue)
            phrase = _phrase(stimulus)
            hits = {" ".join(run) for run in key_runs & _runs(stimulus)}
            if given["type"] == "short_text":
                hits |= _answers_in(given, _words(stimulus))
            if given["type"] == "matching":
                used = _used_responses(given)
                if len(used) < len({r["id"] for r in given["responses"]}) and all(
                    _phrase(r["text"]) in phrase for r in used
                ):
                    hits.add("every used response: " + ", ".join(r["text"] for r in used))
            if hits:
                found[(clue["id"], given["id"])] = hits
    return found


def _apart(items: list[dict]) -> set[frozenset[str]]:
    return {frozenset((i["id"], other)) for i in items for other in i.get("not_with", [])}


@pytest.fixture(scope="module")
def shared():
    return _shared_vocabulary()


@pytest.mark.parametrize("unit", UNITS)
def test_no_stimulus_gives_away_a_key_on_the_same_form(unit, shared):
    items = _load_items(unit)
    apart = _apart(items)
    leaks = {
        pair: sorted(hits)
        for pair, hits in clues(items, shared).items()
        if frozenset(pair) not in apart
    }
    assert not leaks, f"mark these not_with or reword the clue: {leaks}"


@pytest.mark.parametrize(("clue", "given"), A8_PAIRS + CLUE_TEXT_PAIRS[-1:])
def test_every_review_pairing_is_marked_not_with(clue, given):
    items = {i["id"]: i for i in _load_items(clue[:6])}
    assert given in items[clue].get("not_with", []), (clue, given)


@pytest.mark.parametrize(("clue", "given"), CLUE_TEXT_PAIRS)
def test_the_search_finds_review_pairings_once_not_with_is_removed(clue, given, shared):
    items = [{k: v for k, v in i.items() if k != "not_with"} for i in _load_items(clue[:6])]
    assert (clue, given) in clues(items, shared)


def test_the_search_finds_a_planted_key_and_ignores_shared_vocabulary(shared):
    items = _load_items("CSC-05")
    by_id = {i["id"]: i for i in items}
    quiet = clues(items, shared)
    keyed = next(o["text"] for o in by_id["CSC-05-Q010"]["options"] if o["correct"])
    planted = dict(by_id["CSC-05-Q027"])  # an unrelated briefing
    planted["prompt"] = planted["prompt"] + " Remember: " + keyed.lower()
    found = clues([planted if i is by_id["CSC-05-Q027"] else i for i in items], shared)
    assert ("CSC-05-Q027", "CSC-05-Q010") in found and ("CSC-05-Q027", "CSC-05-Q010") not in quiet
    # Naming an Act is shared vocabulary, not a clue.
    named = dict(by_id["CSC-05-Q027"])
    named["prompt"] += " The Consumer Rights Act 2015 and UK GDPR apply."
    assert clues([named if i is by_id["CSC-05-Q027"] else i for i in items], shared) == quiet


def test_not_with_pairs_never_share_a_generated_form():
    """Marked on one side only (the extended response), a pair still never shares a form: the
    form builder reads not_with in both directions (also tested in test_grading.py)."""
    for unit in UNITS:
        items = _load_items(unit)
        rubric_max = {
            f"{unit}.{c}": 1
            for i in items
            if i["type"] == "extended_response"
            for c in i["criteria"]
        }
        keys = [item_key(unit, i, rubric_max) for i in items]
        criteria = sorted({c for k in keys for c in k.criteria})
        pairs = [p for p in _apart(items) if len(p) == 2]
        for n in range(60):
            form = set(build_form(criteria, keys, 1, 1, seed=f"clue-{n}"))
            assert not [p for p in pairs if p <= form], (unit, n)
