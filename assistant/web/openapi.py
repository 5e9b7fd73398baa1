"""GET /openapi.json: the contract, written next to the routes it describes.

Paths are spelled out here by hand (they are few, and their prose matters); every body schema
is generated from the pydantic models in ``assistant.web.schemas`` that the views themselves use, so
a field cannot change in one place only. Limits that come from settings are patched in, and a
test checks both the document (openapi-spec-validator) and real responses against it.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from assistant.protocols import openai_chat, ui_stream
from assistant.protocols.conversation import MAX_CONTEXT_CHARS
from assistant.settings import Settings
from assistant.web import context, schemas

bp = Blueprint("openapi", __name__)

REQUEST_MODELS: list[type[BaseModel]] = [schemas.ChatRequest, schemas.FeedbackRequest,
                                          openai_chat.ChatCompletionRequest, ui_stream.UIChatRequest]
RESPONSE_MODELS: list[type[BaseModel]] = [
    schemas.ChatResponse, schemas.ConversationRecord, schemas.FeedbackResponse, schemas.SourceList,
    schemas.SourceRecord, schemas.Health, schemas.Readiness, schemas.ErrorResponse, schemas.MetaEvent,
    schemas.DeltaEvent, schemas.CitationsEvent, schemas.CaveatsEvent, schemas.DoneEvent,
    openai_chat.ChatCompletion, openai_chat.ChatCompletionChunk, openai_chat.ModelList,
    openai_chat.OpenAIErrorResponse, *ui_stream.CHUNKS,
]
COMPLETION_STREAM_DESCRIPTION = (
    "Server-Sent Events without names, as OpenAI sends them: `chat.completion.chunk` objects (the first has "
    "`delta.role`, the following ones `delta.content`: concatenate them; the last has `finish_reason` and the "
    "extension fields), then `data: [DONE]`. A failure after the stream started is one OpenAIErrorResponse "
    "event before `[DONE]`."
)
UI_STREAM_DESCRIPTION = (
    "The AI SDK UI message stream (header `x-vercel-ai-ui-message-stream: v1`): one chunk per `data:` line, in "
    "this order: `start`, `text-start`, `text-delta`..., `text-end`, one `source-url` (or `source-document`) per "
    "citation, `data-caveats`, `data-safety`, `finish`; then `data: [DONE]`. A failure after the stream started is "
    "an `error` chunk before `[DONE]`."
)
STREAM_DESCRIPTION = (
    "Server-Sent Events, in this order: `meta` (MetaEvent: ids, safety category, crisis message to show "
    "first), one or more `delta` (DeltaEvent: concatenate their `text`), `citations` (CitationsEvent), "
    "`caveats` (CaveatsEvent), `done` (DoneEvent: follow-up questions). A failure after the stream started "
    "is sent as one `error` event (StreamError: an ErrorResponse with an extra `status` field); the stream "
    "then ends. Each event's `data:` line is one JSON object; this schema describes one event."
)
# Typed text as ``schemas.clean_text`` accepts it: after str.strip's whitespace is trimmed, at
# least one character, and no control character other than tab, newline and carriage return.
# Spelled with explicit classes, not \s, because \s differs between ECMA-262 and Python regexes.
_CONTROLS = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F"
_SPACES = r"\t\n\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_TRIMMED = r"\t\n\u000B\u000C\r\u001C-\u001F \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_EDGE = f"[^{_CONTROLS}{_SPACES}]"
TYPED_TEXT_PATTERN = f"^[{_TRIMMED}]*{_EDGE}(?:[^{_CONTROLS}]*{_EDGE})?[{_TRIMMED}]*$"
# Event name -> component schema of its JSON data, in the order the events are sent.
STREAM_EVENTS = {"meta": "MetaEvent", "delta": "DeltaEvent", "citations": "CitationsEvent",
                 "caveats": "CaveatsEvent", "done": "DoneEvent", "error": "StreamError"}


@bp.get("/openapi.json")
def document() -> Response:
    cached = current_app.extensions.get("assistant.openapi")
    if cached is None:
        cached = current_app.extensions["assistant.openapi"] = build(context.services().settings)
    return jsonify(cached)


def build(settings: Settings) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ketamine Evidence Assistant API",
            "version": "1.0.0",
            "description": "Answers questions about ketamine and esketamine in depression from a cited evidence "
                           "corpus. Every error is `{\"error\": {\"code\", \"message\", \"request_id\"}}` and "
                           "every response carries `X-Request-ID`.",
        },
        "paths": _paths(),
        "components": {
            "schemas": _component_schemas(settings),
            "responses": _error_responses(),
            "headers": {
                "X-Request-ID": {"description": "Echo of the client's id, or a new one.",
                                 "schema": {"type": "string"}},
                "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}},
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "Required on /v1 and /api only when the server is configured with "
                                              "API keys."},
            },
        },
    }


def _component_schemas(settings: Settings) -> dict[str, Any]:
    models = [(m, "validation") for m in REQUEST_MODELS] + [(m, "serialization") for m in RESPONSE_MODELS]
    _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    found: dict[str, Any] = copy.deepcopy(top["$defs"])
    _write_in_checks_made_in_code(found, settings)
    found["StreamError"] = {
        "title": "StreamError", "type": "object", "additionalProperties": False, "required": ["error", "status"],
        "description": "Data of the `error` event: an ErrorResponse plus the status the failure would have had.",
        "properties": {"error": _ref("ErrorDetail"),
                       "status": {"type": "integer", "minimum": 400, "maximum": 599}},
    }
    return found


def _write_in_checks_made_in_code(found: dict[str, Any], settings: Settings) -> None:
    """Put into the schemas the rules the models check in code, so "valid" means the same on both sides.

    Without them a client (or a fuzzer) following the document sends whitespace-only messages
    or unknown study designs, and the server's 422 looks like a broken promise. Only year_min
    after year_max is left to the description: JSON Schema cannot compare two fields.
    """
    message = found["ChatRequest"]["properties"]["message"]
    message["maxLength"] = settings.web.max_message_chars
    message["pattern"] = TYPED_TEXT_PATTERN
    history = found["HistoryTurn"]["properties"]
    history["user"]["maxLength"] = settings.web.max_message_chars
    for name in ("user", "assistant"):
        history[name]["pattern"] = TYPED_TEXT_PATTERN
    # Sent history replaces the store: only with "store": false, never beside a conversation_id.
    found["ChatRequest"]["dependentSchemas"] = {"history": {
        "required": ["store"], "properties": {"store": {"const": False}}, "not": {"required": ["conversation_id"]}}}
    _branch(found["FeedbackRequest"]["properties"]["comment"], "string")["pattern"] = TYPED_TEXT_PATTERN
    _write_in_message_rules(found, settings.web.max_message_chars)


# Context texts (system, developer and assistant messages) may be blank but hold no control characters.
CONTEXT_TEXT = {"type": "string", "maxLength": MAX_CONTEXT_CHARS,
                "pattern": f"^[^{_CONTROLS}]*$"}


def _write_in_message_rules(found: dict[str, Any], limit: int) -> None:
    """Each role's content rules, one schema per role: a user message is typed text, other roles are context.

    Left to the descriptions (JSON Schema cannot state them): the last message must be the user's,
    and a user message's text parts count together towards the limit.
    """
    typed = {"type": "string", "maxLength": limit, "pattern": TYPED_TEXT_PATTERN}

    def parts(text: dict[str, Any], min_items: int = 0) -> dict[str, Any]:
        part = {"type": "object", "required": ["type", "text"],
                "properties": {"type": {"const": "text"}, "text": text}}
        return {"type": "array", "items": part, "minItems": min_items}

    def message(roles: list[str], content: list[dict[str, Any]]) -> dict[str, Any]:
        return {"type": "object", "required": ["role", "content"], "properties": {
            "role": {"enum": roles}, "content": {"anyOf": content}, "name": {"type": ["string", "null"]}}}

    user = message(["user"], [typed, parts(typed, 1)])
    completions = found["ChatCompletionRequest"]["properties"]["messages"]
    completions["items"] = {"oneOf": [user, message(["assistant"], [CONTEXT_TEXT, parts(CONTEXT_TEXT),
                                                                   {"type": "null"}]),
                                      message(["system", "developer"], [CONTEXT_TEXT, parts(CONTEXT_TEXT)])]}
    completions["contains"] = {"properties": {"role": {"const": "user"}}, "required": ["role"]}
    ui_part = found["UIPart"]["properties"]
    ui_part["text"] = {"anyOf": [CONTEXT_TEXT, {"type": "null"}]}
    found["UIUserMessage"] = {
        "type": "object", "required": ["role", "parts"], "description": "A user message: text parts only.",
        "properties": {"id": {"type": ["string", "null"]}, "role": {"const": "user"}, "parts": parts(typed, 1),
                       "metadata": {}}}
    ui = found["UIChatRequest"]["properties"]["messages"]
    ui["items"] = {"oneOf": [_ref("UIUserMessage"), {"allOf": [
        _ref("UIMessage"), {"properties": {"role": {"enum": ["system", "assistant"]}}}]}]}
    ui["contains"] = {"properties": {"role": {"const": "user"}}, "required": ["role"]}


def _data_stream_schema(description: str, payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Unnamed events (``event`` reads as ``message``) whose data is one of ``payloads`` or ``[DONE]``."""
    return {"description": description, "type": "object", "required": ["event", "data"], "properties": {
        "event": {"const": "message"},
        "data": {"type": "string", "anyOf": [
            {"const": ui_stream.DONE},
            {"contentMediaType": "application/json", "contentSchema": {"oneOf": payloads}}]}}}


def _branch(schema: dict[str, Any], json_type: str) -> dict[str, Any]:
    """The part of a (possibly nullable, i.e. ``anyOf``) property schema that has ``json_type``."""
    for candidate in [schema, *schema.get("anyOf", [])]:
        if candidate.get("type") == json_type:
            return candidate
    raise KeyError(f"no {json_type} branch in {schema}")


def _stream_event_schema() -> dict[str, Any]:
    """One Server-Sent Event as a client's parser sees it: its name and its ``data`` (a JSON text).

    Before OpenAPI 3.2 (``itemSchema``) the ``schema`` of ``text/event-stream`` is read as the
    schema of each event (so schemathesis reads it); describing the stream as one opaque string
    would make every real event a mismatch and tell a generated client nothing.
    """
    return {"description": STREAM_DESCRIPTION, "oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["event", "data"], "properties": {
            "event": {"const": name},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": _ref(model)}}}
        for name, model in STREAM_EVENTS.items()
    ]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}, **(headers or {})},
        "content": {"application/json": {"schema": _ref(name)}},
    }
    return response


ERRORS = {
    "400": "The body is not valid JSON (or not UTF-8).",
    "401": "API keys are configured and none valid was sent.",
    "404": "No such conversation, answer or source.",
    "405": "Method not allowed on this path.",
    "413": "The body is larger than the configured limit.",
    "415": "The body is not application/json.",
    "422": "The JSON does not fit the schema; `field` names the culprit.",
    "429": "Rate limit reached.",
    "503": "The evidence index is not available; retry later.",
}
OPENAI_ERRORS = {
    "400": "Not JSON, or the JSON does not fit (OpenAI's status for both); `param` names the field.",
    "401": "API keys are configured and none valid was sent (`code`: invalid_api_key).",
    "405": "Method not allowed on this path.",
    "413": "The body is larger than the configured limit.",
    "415": "The body is not application/json.",
    "429": "Rate limit reached (`type`: requests).",
    "503": "The evidence index is not available; retry later.",
}


def _error_responses() -> dict[str, Any]:
    responses = {}
    for status, description in ERRORS.items():
        headers = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}} if status in {"429", "503"} else None
        responses[f"Error{status}"] = _json("ErrorResponse", description, headers)
    for status, description in OPENAI_ERRORS.items():
        headers = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}} if status in {"429", "503"} else None
        responses[f"OpenAIError{status}"] = _json("OpenAIErrorResponse", description, headers)
    return responses


def _errors(*statuses: int, kind: str = "Error") -> dict[str, Any]:
    return {str(s): {"$ref": f"#/components/responses/{kind}{s}"} for s in statuses}


API_SECURITY = [{"bearerAuth": []}, {}]


def _paths() -> dict[str, Any]:
    conversation_id = {"name": "conversation_id", "in": "path", "required": True, "schema": {"type": "string"}}
    doc_id = {"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"}}
    body_errors = (400, 401, 413, 415, 422, 429)
    return {
        "/v1/chat": {"post": {
            "operationId": "chat",
            "summary": "Ask a question; answer as JSON, or as Server-Sent Events when `stream` is true or the "
                       "client sends `Accept: text/event-stream`.",
            "security": API_SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ChatRequest")}}},
            "responses": {
                "200": {
                    "description": "The answer, stored as a new turn of the conversation.",
                    "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
                    "content": {
                        "application/json": {"schema": _ref("ChatResponse")},
                        "text/event-stream": {"schema": _stream_event_schema()},
                    },
                },
                **_errors(*body_errors, 404, 503),
            },
        }},
        "/v1/chat/completions": {"post": {
            "operationId": "createChatCompletion",
            "summary": "OpenAI-compatible chat completion: the last user message is the question, the earlier "
                       "messages its history; `stream: true` for chunks.",
            "security": API_SECURITY,
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref("ChatCompletionRequest")}}},
            "responses": {
                "200": {
                    "description": "The answer as a chat completion (not stored: the API is stateless).",
                    "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
                    "content": {
                        "application/json": {"schema": _ref("ChatCompletion")},
                        "text/event-stream": {"schema": _data_stream_schema(COMPLETION_STREAM_DESCRIPTION, [
                            _ref("ChatCompletionChunk"), _ref("OpenAIErrorResponse")])},
                    },
                },
                **_errors(400, 401, 413, 415, 429, 503, kind="OpenAIError"),
            },
        }},
        "/v1/models": {"get": {
            "operationId": "listModels", "summary": "The one model this service answers as (OpenAI's model list).",
            "security": API_SECURITY,
            "responses": {"200": _json("ModelList", "The model list."), **_errors(401, 429, kind="OpenAIError")},
        }},
        "/api/chat": {"post": {
            "operationId": "uiChat",
            "summary": "The AI SDK UI message stream, as `useChat` posts and reads it; stateless like "
                       "/v1/chat/completions.",
            "security": API_SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("UIChatRequest")}}},
            "responses": {
                "200": {
                    "description": "The answer as UI message chunks.",
                    "headers": {
                        "X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"},
                        ui_stream.HEADER: {"description": "Always `v1`.", "schema": {"const": ui_stream.VERSION}},
                    },
                    "content": {"text/event-stream": {"schema": _data_stream_schema(
                        UI_STREAM_DESCRIPTION, [_ref(model.__name__) for model in ui_stream.CHUNKS])}},
                },
                **_errors(400, 401, 413, 415, 422, 429),
            },
        }},
        "/v1/conversations/{conversation_id}": {
            "parameters": [conversation_id],
            "get": {
                "operationId": "getConversation", "summary": "All turns of a conversation, with their citations.",
                "security": API_SECURITY,
                "responses": {"200": _json("ConversationRecord", "The conversation."), **_errors(401, 404, 429)},
            },
            "delete": {
                "operationId": "deleteConversation", "summary": "Forget a conversation and its feedback.",
                "security": API_SECURITY,
                "responses": {
                    "204": {"description": "Deleted.",
                            "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}},
                    **_errors(401, 404, 429),
                },
            },
        },
        "/v1/feedback": {"post": {
            "operationId": "feedback", "summary": "Rate one answer up or down.",
            "security": API_SECURITY,
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref("FeedbackRequest")}}},
            "responses": {"201": _json("FeedbackResponse", "Recorded."), **_errors(*body_errors, 404)},
        }},
        "/v1/sources": {"get": {
            "operationId": "listSources", "summary": "Every indexed source, oldest first.",
            "security": API_SECURITY,
            "responses": {"200": _json("SourceList", "The bibliography."), **_errors(401, 429, 503)},
        }},
        "/v1/sources/{doc_id}": {
            "parameters": [doc_id],
            "get": {
                "operationId": "getSource", "summary": "One source's bibliographic record and link.",
                "security": API_SECURITY,
                "responses": {"200": _json("SourceRecord", "The record."), **_errors(401, 404, 429, 503)},
            },
        },
        "/healthz": {"get": {
            "operationId": "healthz", "summary": "The process is alive.",
            "responses": {"200": _json("Health", "Alive.")},
        }},
        "/readyz": {"get": {
            "operationId": "readyz", "summary": "The index is loaded and the stores answer.",
            "responses": {"200": _json("Readiness", "Ready."),
                          "503": _json("Readiness", "Not ready; `reason` says why.")},
        }},
        "/metrics": {"get": {
            "operationId": "metrics", "summary": "Prometheus metrics of this worker.",
            "responses": {"200": {"description": "Prometheus text format.",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }},
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document.",
            "responses": {"200": {"description": "OpenAPI 3.1.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
        "/": {"get": {
            "operationId": "demo", "summary": "Demo page with the chat widget.",
            "responses": {"200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}}},
        }},
        "/widget.js": {"get": {
            "operationId": "widgetScript",
            "summary": "The embeddable widget: `<script src=\".../widget.js\" data-target=\"#chat\"></script>`.",
            "responses": {"200": {"description": "JavaScript.",
                                  "content": {"text/javascript": {"schema": {"type": "string"}}}}},
        }},
        "/demo.css": {"get": {
            "operationId": "demoStyles", "summary": "Styles of the demo page.",
            "responses": {"200": {"description": "CSS.", "content": {"text/css": {"schema": {"type": "string"}}}}},
        }},
        "/favicon.svg": {"get": {
            "operationId": "favicon", "summary": "The demo page's icon.",
            "responses": {"200": {"description": "SVG.",
                                  "content": {"image/svg+xml": {"schema": {"type": "string"}}}}},
        }},
        "/widget.css": {"get": {
            "operationId": "widgetStyles", "summary": "The widget's styles (loaded by widget.js itself).",
            "responses": {"200": {"description": "CSS.", "content": {"text/css": {"schema": {"type": "string"}}}}},
        }},
    }
