"""Text across the Slack boundary: Markdown out as Slack mrkdwn, Slack markup in as a plain question."""

from __future__ import annotations

import pytest

from assistant.slack.mrkdwn import escape, link, question_from_slack, to_mrkdwn, to_plain


@pytest.mark.parametrize(("markdown", "mrkdwn"), [
    ("**Bold** words", "*Bold* words"),
    ("## Heading", "*Heading*"),
    ("- one\n- two", "• one\n• two"),
    ("[the trial](https://doi.org/10.1/x)", "<https://doi.org/10.1/x|the trial>"),
    ("[bad](javascript:alert(1))", "[bad](javascript:alert(1))"),
    ("5 < 6 & 7 > 3", "5 &lt; 6 &amp; 7 &gt; 3"),
    ("<!here> <@U123>", "&lt;!here&gt; &lt;@U123&gt;"),
])
def test_markdown_becomes_slack_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert to_mrkdwn(markdown) == mrkdwn


def test_plain_text_drops_markup_but_stays_escaped() -> None:
    assert to_plain("**Call 988** & see [help](https://988lifeline.org)") == (
        "Call 988 &amp; see help (https://988lifeline.org)")


def test_links_are_escaped_and_only_for_web_addresses() -> None:
    assert link("https://doi.org/10.1002/(SICI)1<2>3", "A | B") == "<https://doi.org/10.1002/(SICI)1%3C2%3E3|A ¦ B>"
    assert link("ftp://example.org/x", "Label") == "Label"
    assert escape("a&b") == "a&amp;b"


@pytest.mark.parametrize(("slack_text", "question"), [
    ("<@U0BOT> Does ketamine help?", "Does ketamine help?"),
    ("<@U0BOT|evidence>   does   it\nwork?", "does it work?"),
    ("compare <https://doi.org/10.1/x|Zarate 2006> and <https://example.org>", "compare Zarate 2006 and https://example.org"),
    ("ask <#C123|general> about <!here>", "ask #general about"),
    ("is 0.5 mg/kg &lt; 1 mg/kg &amp; safe?", "is 0.5 mg/kg < 1 mg/kg & safe?"),
    ("<@U0BOT>", ""),
])
def test_slack_markup_becomes_the_question_a_person_reads(slack_text: str, question: str) -> None:
    assert question_from_slack(slack_text) == question
