"""An ``Answer`` as Slack Block Kit: pure functions, so the layout is tested without Slack.

Order carries meaning: a crisis message comes first, under its own header, before anything
else; then the answer with its [n] markers, the numbered references as links, the caveats in a
smaller context block, suggested follow-ups, and the feedback buttons. Slack refuses a message
with a text over 3,000 characters or more than 50 blocks, so long parts are split at paragraph,
line or word boundaries, and an answer that still does not fit is shortened with a note rather
than rejected. Every message also gets a plain ``text`` for notifications and screen readers.
"""

from __future__ import annotations

from typing import Any

from assistant.domain import Answer, Caveat, Citation
from assistant.slack.mrkdwn import escape, link, to_mrkdwn, to_plain

Block = dict[str, Any]

MAX_TEXT = 3000
MAX_BLOCKS = 50
MAX_CONTEXT_ELEMENTS = 10
MAX_REFERENCE_BLOCKS = 10
MAX_TITLE = 250
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"
SHARE = "share_answer"
CRISIS_HEADER = ":sos: If you are struggling or thinking about suicide, please read this first"
SHORTENED_NOTE = "_The answer was shortened to fit in Slack._"
_SEPARATORS = ("\n\n", "\n", " ")


def answer_blocks(answer: Answer, *, message_id: str, preface: str | None = None,
                  share_value: str | None = None) -> list[Block]:
    """The whole reply. ``preface`` is mrkdwn the caller has escaped (who asked what);
    ``share_value`` adds a "Share in channel" button carrying it."""
    top = crisis_blocks(answer) + ([_context([preface])] if preface else [])
    tail = caveat_blocks(answer.caveats) + follow_up_blocks(answer.follow_up_questions)
    tail.append(actions_block(message_id, share_value))
    references = reference_blocks(answer.citations)[:MAX_REFERENCE_BLOCKS]
    body = [_section(chunk) for chunk in split_text(to_mrkdwn(answer_body(answer)))]
    room = MAX_BLOCKS - len(top) - len(references) - len(tail)
    if len(body) > room:
        body = [*body[: room - 1], _context([SHORTENED_NOTE])]
    return top + body + references + tail


def answer_body(answer: Answer) -> str:
    """The answer without the crisis text the service put in front of it: that has its own blocks."""
    text = answer.answer.strip()
    crisis = (answer.crisis_message or "").strip()
    if crisis and text.startswith(crisis):
        text = text[len(crisis):].strip()
    return text


def crisis_blocks(answer: Answer) -> list[Block]:
    if not answer.crisis_message:
        return []
    header: Block = {"type": "header", "text": {"type": "plain_text", "text": CRISIS_HEADER, "emoji": True}}
    sections = [_section(chunk) for chunk in split_text(to_mrkdwn(answer.crisis_message))]
    return [header, *sections, {"type": "divider"}]


def reference_line(citation: Citation) -> str:
    """``<url|[n] Title (year, design)>``; without a usable URL the same words, unlinked."""
    title = citation.title if len(citation.title) <= MAX_TITLE else citation.title[: MAX_TITLE - 1] + "…"
    details = ", ".join(str(part) for part in (citation.year, citation.design) if part)
    label = f"[{citation.marker}] {title}" + (f" ({details})" if details else "")
    return link(citation.url, label)


def reference_blocks(citations: list[Citation]) -> list[Block]:
    if not citations:
        return []
    text = "*References*\n" + "\n".join(reference_line(c) for c in sorted(citations, key=lambda c: c.marker))
    return [_section(chunk) for chunk in split_text(text)]


def caveat_blocks(caveats: list[Caveat]) -> list[Block]:
    if not caveats:
        return []
    texts = [f":warning: {escape(c.text)}" for c in caveats]
    if len(texts) > MAX_CONTEXT_ELEMENTS:
        texts = [*texts[: MAX_CONTEXT_ELEMENTS - 1], "\n".join(texts[MAX_CONTEXT_ELEMENTS - 1:])]
    return [_context(texts)]


def follow_up_blocks(questions: list[str]) -> list[Block]:
    if not questions:
        return []
    return [_context(["*You could also ask:*\n" + "\n".join(f"• {escape(q)}" for q in questions)])]


def actions_block(message_id: str, share_value: str | None = None) -> Block:
    elements = [
        _button(FEEDBACK_UP, ":thumbsup: Helpful", message_id),
        _button(FEEDBACK_DOWN, ":thumbsdown: Not helpful", message_id),
    ]
    if share_value:
        elements.append({**_button(SHARE, "Share in channel", share_value), "style": "primary"})
    return {"type": "actions", "block_id": "answer_actions", "elements": elements}


def fallback_text(answer: Answer) -> str:
    """Plain words for notifications: the crisis text first, then the answer and its sources."""
    parts = [answer.crisis_message.strip()] if answer.crisis_message else []
    parts.append(answer_body(answer))
    if answer.citations:
        parts.append("References:\n" + "\n".join(
            f"[{c.marker}] {c.title}" + (f" {c.url}" if c.url else "") for c in answer.citations))
    text = "\n\n".join(parts)
    return to_plain(text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…")


HOME_TEXT = (
    "*What this bot does*\nIt answers questions about ketamine and esketamine for depression from a fixed corpus "
    "of published studies and regulatory documents, and cites every claim with numbered references.",
    "*How to ask*\n• Mention it in a channel: `@evidence does IV ketamine help treatment-resistant depression?` "
    "(the answer goes into your message's thread; follow-ups in the thread keep the context)\n"
    "• Message it here, in the Messages tab\n"
    "• Use `{command} <question>`: the answer is shown only to you until you share it",
    "*Limits*\nIt summarises evidence; it does not give medical advice to individuals, doses or prescriptions. "
    "It only knows what its sources say, and says so when they do not cover a question. "
    "Questions and answers are stored to improve it; rate answers with the Helpful / Not helpful buttons.",
)


def home_view(command: str, crisis_message: str) -> dict[str, Any]:
    """The App Home tab: what the bot does, how to ask, its limits, and where crisis help is.

    The crisis help is the product's own crisis text (the English text of prompts/crisis.yaml), never a second copy.
    """
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Evidence Assistant", "emoji": True}},
        *(_section(text.replace("{command}", escape(command))) for text in HOME_TEXT),
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": CRISIS_HEADER, "emoji": True}},
        *(_section(chunk) for chunk in split_text(to_mrkdwn(crisis_message))),
    ]
    return {"type": "home", "blocks": blocks}


def notice_blocks(text: str) -> list[Block]:
    """A short message of our own (help, errors), already mrkdwn."""
    return [_section(chunk) for chunk in split_text(text)]


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at the largest boundary that fits:
    paragraph, then line, then word (never inside a ``<url|label>`` link)."""
    return [piece.strip() for piece in _split(text.strip(), limit, 0) if piece.strip()]


def _split(text: str, limit: int, level: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    if level == len(_SEPARATORS):
        return [text[i: i + limit] for i in range(0, len(text), limit)]
    separator = _SEPARATORS[level]
    pieces: list[str] = []
    current = ""
    for unit in _units(text, separator):
        for piece in _split(unit, limit, level + 1):
            candidate = f"{current}{separator}{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                pieces.append(current)
                current = piece
    return [*pieces, current] if current else pieces


def _units(text: str, separator: str) -> list[str]:
    """Split on ``separator``, re-joining the words of a link so a cut never lands inside one."""
    units: list[str] = []
    for part in text.split(separator):
        if units and units[-1].count("<") > units[-1].count(">"):
            units[-1] += separator + part
        else:
            units.append(part)
    return units


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(texts: list[str]) -> Block:
    return {"type": "context", "elements": [
        {"type": "mrkdwn", "text": t if len(t) <= MAX_TEXT else t[: MAX_TEXT - 1] + "…"} for t in texts]}


def _button(action_id: str, label: str, value: str) -> Block:
    return {"type": "button", "action_id": action_id, "value": value,
            "text": {"type": "plain_text", "text": label, "emoji": True}}
