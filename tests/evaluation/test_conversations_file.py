"""The conversation file: a reader that forgives what it safely can, names the line of every error,
and the shipped file itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from assistant.evaluation.conversations_file import KINDS, Case, CaseFileError, load_cases, parse_cases
from assistant.evaluation.scoring import normalise, normalise_id
from tests.conftest import SHIPPED_CORPUS
from tests.evaluation.conftest import EVAL_FILE

GOOD = '{"id": "ok", "turns": [{"user": "What did TRANSFORM-2 find?"}]}'


@pytest.mark.parametrize(("line", "expected"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "Input should be an object"),
    ('{"turns": [{"user": "q"}]}', "id: Field required"),
    ('{"id": "a", "turns": []}', "turns: List should have at least 1 item"),
    ('{"id": "a", "turns": [{"kind": "clinical"}]}', "turn 1: user: Field required"),
    ('{"id": "a", "turns": [{"user": "   "}]}', "turn 1: user: String should have at least 1 character"),
    ('{"id": "a", "turns": [{"user": "q"}, {"user": "q", "kind": "chat"}]}', "turn 2: kind: Input should be"),
    ('{"id": "a", "turns": [{"user": "q", "caveat": "true"}]}', "turn 1: caveat: Input should be a valid boolean"),
    ('{"id": "a", "turns": [{"user": "q", "gold": "10.1/x"}]}', "turn 1: gold: Input should be a valid array"),
    ('{"id": "a", "turns": [{"user": "q", "facts": ["71%"]}]}', "turn 1: facts[0]: Input should be a valid array"),
    ('{"id": "a", "turns": [{"user": "q", "facts": [[]]}]}', "turn 1: facts[0]: List should have at least 1"),
    ('{"id": "a", "turns": [{"user": "q", "facts": [[""]]}]}', "turn 1: facts[0][0]: String should have"),
    ('{"id": "a", "turns": [{"user": "q", "forbid": [""]}]}', "turn 1: forbid[0]: String should have"),
    ('{"id": "a", "turns": [{"user": "q", "fact": [["x"]]}]}', "turn 1: fact: unknown key; did you mean 'facts'?"),
    ('{"id": "a", "turns": [{"user": "q"}], "turn": []}', "turn: unknown key; did you mean 'turns'?"),
    ('{"id": "a", "turns": [{"user": "q", "golds": ["x"]}]}', "turn 1: golds: unknown key; did you mean 'gold'?"),
    ('{"id": "a", "turns": [{"user": "q", "forbidden": ["x"]}]}', "did you mean 'forbid'?"),
    ('{"id": "a", "turns": [{"user": "q"}], "meta": "x"}', "meta: Input should be an object"),
    ('{"id": "a", "turns": [{"user": "q"}], "tags": [1], "meta": {"tags": [2]}}',
     'tags: given both as a key and in "meta"'),
    ('{"id": "a", "turns": [{"user": "q", "kind": "abstain", "gold": ["10.1/x"]}]}',
     "turn 1: gold is set, but 'abstain' turns must cite nothing"),
])
def test_a_bad_line_is_reported_with_its_number(line: str, expected: str) -> None:
    with pytest.raises(CaseFileError) as caught:
        parse_cases(f"{GOOD}\n\n{line}\n", "cases.jsonl")
    assert len(caught.value.problems) >= 1
    assert all(p.startswith("cases.jsonl:3: ") for p in caught.value.problems), caught.value.problems
    assert any(expected in p for p in caught.value.problems), caught.value.problems


def test_every_bad_line_is_reported_in_one_pass_and_duplicates_name_the_first_line() -> None:
    text = "\n".join([GOOD, "{oops", GOOD.replace('"ok"', '"b"'), GOOD])
    with pytest.raises(CaseFileError) as caught:
        parse_cases(text, "f.jsonl")
    assert caught.value.problems == [
        "f.jsonl:2: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "f.jsonl:4: id 'ok' is already used on line 1",
    ]


def test_an_empty_or_unreadable_file_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="no conversations"):
        parse_cases("\n\n", "empty.jsonl")
    (tmp_path / "bad.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CaseFileError, match="cannot be read"):
        load_cases(tmp_path / "bad.jsonl")


def test_optional_fields_default_and_a_case_round_trips_through_its_line() -> None:
    [case] = parse_cases(GOOD).cases
    turn = case.turns[0]
    assert (turn.kind, turn.gold, turn.facts, turn.caveat, turn.forbid) == ("clinical", [], [], False, [])
    full = Case.model_validate({"id": "x", "turns": [
        {"user": "q", "kind": "injection", "gold": ["10.1/A"], "facts": [["a", "b"]], "caveat": True,
         "forbid": ["no risks"]}]})
    assert parse_cases(full.to_line()).cases == [full]
    assert json.loads(case.to_line()) == {"id": "ok", "turns": [{"user": "What did TRANSFORM-2 find?",
                                                                 "kind": "clinical"}]}


EXTRAS = "\n".join([
    '{"id": "a", "origin": "held-out", "notes": "from the spreadsheet", "turns": [{"user": "q", "tags": ["x"]}]}',
    '{"id": "b", "origin": "clinic", "meta": {"reviewer": "JS"}, "turns": [{"user": "q", "meta": {"tags": ["y"]}}]}',
])


def test_unknown_keys_are_kept_as_metadata_and_named_once() -> None:
    read = parse_cases(EXTRAS, "extras.jsonl")
    a, b = read.cases
    assert a.meta == {"origin": "held-out", "notes": "from the spreadsheet"} and a.turns[0].meta == {"tags": ["x"]}
    assert b.meta == {"origin": "clinic", "reviewer": "JS"} and b.turns[0].meta == {"tags": ["y"]}
    assert read.warnings == ['extras.jsonl: unknown keys kept as metadata: notes (1x), origin (2x), tags (1x); '
                             'put them under "meta" to silence this, or use --strict to refuse them']
    # Metadata survives a round trip through the line format, under "meta".
    assert json.loads(a.to_line())["meta"] == a.meta and parse_cases(a.to_line()).warnings == []


def test_strict_refuses_unknown_keys_but_not_an_explicit_meta_object() -> None:
    with pytest.raises(CaseFileError) as caught:
        parse_cases(EXTRAS, "extras.jsonl", strict=True)
    assert caught.value.problems == [
        'extras.jsonl:1: origin: unknown key (--strict; put metadata under "meta")',
        'extras.jsonl:1: notes: unknown key (--strict; put metadata under "meta")',
        'extras.jsonl:1: turn 1: tags: unknown key (--strict; put metadata under "meta")',
        'extras.jsonl:2: origin: unknown key (--strict; put metadata under "meta")',
    ]
    explicit = '{"id": "b", "meta": {"origin": "clinic"}, "turns": [{"user": "q", "meta": {"tags": ["y"]}}]}'
    assert parse_cases(explicit, strict=True).cases[0].meta == {"origin": "clinic"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_utf8_with_or_without_bom_and_utf16_with_bom_read_alike_with_lf_or_crlf(
        tmp_path: Path, encoding: str, newline: str) -> None:
    text = newline.join([GOOD, '{"id": "é", "turns": [{"user": "Quelle dose d\'eskétamine ?"}]}', ""])
    boms = {"utf-16-le-bom": ("utf-16-le", "\ufeff"), "utf-16-be-bom": ("utf-16-be", "\ufeff")}
    codec, prefix = boms.get(encoding, (encoding, ""))
    path = tmp_path / "cases.jsonl"
    path.write_bytes((prefix + text).encode(codec))
    assert load_cases(path).cases == parse_cases(GOOD + "\n" + text.split(newline)[1]).cases
    assert [c.id for c in load_cases(path).cases] == ["ok", "é"]


def test_utf16_without_a_bom_and_other_encodings_are_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_bytes(GOOD.encode("utf-16-le"))
    with pytest.raises(CaseFileError, match=r"cases.jsonl:1: not UTF-8 \(UTF-16 needs a byte-order mark\)"):
        load_cases(path)
    path.write_bytes((GOOD + "\n" + GOOD.replace("TRANSFORM", "café")).encode("latin-1"))
    with pytest.raises(CaseFileError, match=r"cases.jsonl:2: not UTF-8; save the file as UTF-8"):
        load_cases(path)


def test_a_line_separator_inside_a_string_does_not_split_the_line() -> None:
    [case] = parse_cases('{"id": "a", "turns": [{"user": "one\u2028two\u0085three"}]}').cases
    assert case.turns[0].user == "one\u2028two\u0085three"


@pytest.mark.parametrize("text", [
    json.dumps([json.loads(GOOD)]),
    json.dumps([json.loads(GOOD)], indent=2),
    "[\n" + GOOD + ",\n",
])
def test_a_json_array_gets_one_clear_message(text: str) -> None:
    with pytest.raises(CaseFileError) as caught:
        parse_cases(text, "cases.json")
    assert caught.value.problems == [
        "cases.json: the file is a JSON array; replay reads JSONL, one conversation object per line "
        "(convert it with: jq -c '.[]' cases.json)"]


def test_one_pretty_printed_object_gets_one_clear_message() -> None:
    with pytest.raises(CaseFileError) as caught:
        parse_cases(json.dumps(json.loads(GOOD), indent=2), "case.json")
    assert len(caught.value.problems) == 1 and "one JSON object spread over several lines" in caught.value.problems[0]


@pytest.fixture(scope="module")
def shipped_cases() -> list[Case]:
    return load_cases(EVAL_FILE).cases


def test_the_shipped_file_is_large_enough_and_covers_every_kind(shipped_cases: list[Case]) -> None:
    assert len(shipped_cases) >= 60
    assert sum(len(case.turns) > 1 for case in shipped_cases) >= 15
    assert {turn.kind for case in shipped_cases for turn in case.turns} == set(KINDS)


def _corpus() -> dict[str, tuple[set[str], str]]:
    docs = {}
    for path in SHIPPED_CORPUS.glob("*.md"):
        if path.name == "README.md":
            continue
        text = path.read_text(encoding="utf-8")
        meta = yaml.safe_load(text.split("---", 2)[1])
        ids = {normalise_id(meta["id"])} | {normalise_id(str(meta[k])) for k in ("doi", "pmid") if meta.get(k)}
        docs[meta["id"]] = (ids, normalise(text))
    return docs


def test_the_shipped_file_is_written_from_the_corpus(shipped_cases: list[Case]) -> None:
    """Each gold id names a corpus document, and each expected fact is in one of the turn's gold documents."""
    docs = _corpus()
    problems = []
    for case in shipped_cases:
        for number, turn in enumerate(case.turns, 1):
            gold_docs = [doc for doc, (ids, _) in docs.items() if ids & {normalise_id(g) for g in turn.gold}]
            known = set().union(*(ids for ids, _ in docs.values()))
            problems += [f"{case.id}#{number}: unknown gold {g}" for g in turn.gold if normalise_id(g) not in known]
            for alternatives in turn.facts if turn.gold else []:
                if not any(normalise(a) in docs[d][1] for d in gold_docs for a in alternatives):
                    problems.append(f"{case.id}#{number}: no gold document says any of {alternatives}")
    assert not problems, problems
