"""The bibliography: every indexed document with its record and a link a reader can follow.

Read from the live index snapshot, so the list always matches what answers can cite.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from assistant.errors import NotFound
from assistant.web import context
from assistant.web.errors import no_such
from assistant.web.schemas import SourceList, SourceRecord

bp = Blueprint("sources", __name__)


@bp.get("/sources")
def index() -> Response:
    documents = context.services().index.snapshot().documents
    records = sorted((SourceRecord.from_metadata(meta) for meta in documents.values()),
                     key=lambda r: (r.year or 0, r.doc_id))
    return jsonify(SourceList(count=len(records), sources=records).model_dump(mode="json"))


@bp.get("/sources/<doc_id>")
def show(doc_id: str) -> Response:
    meta = context.services().index.snapshot().documents.get(doc_id)
    if meta is None:
        raise NotFound(no_such("source", doc_id))
    return jsonify(SourceRecord.from_metadata(meta).model_dump(mode="json"))
