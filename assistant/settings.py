"""One settings tree for the whole service, read from the environment in one place.

Every module receives the object it needs from here instead of reading ``os.environ``,
so a test or a deployment changes behaviour by building a different ``Settings``.
Variables use the ``ASSISTANT_`` prefix and ``__`` for nesting
(``ASSISTANT_INDEX__CHROMA_URL``); Slack keeps its conventional ``SLACK_*`` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: Any) -> Any:
    """Accept ``a,b`` as well as a JSON list, because operators type lists both ways."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndexSettings(_Group):
    collection: str = Field("evidence", description="Base name of the Chroma collection that holds the chunks.")
    embedding_model: Literal["minilm-int8"] = Field(
        "minilm-int8", description="Embedding model; the default ships its weights in a Python package."
    )
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (chroma run). Unset: an embedded database under data_dir."
    )
    chunk_size: int = Field(900, ge=200, le=4000, description="Maximum characters per chunk.")
    chunk_overlap: int = Field(120, ge=0, le=1000, description="Characters shared by neighbouring chunks.")
    embed_batch_size: int = Field(32, ge=1, le=512, description="Texts embedded per model call.")
    onnx_threads: int = Field(0, ge=0, le=64, description="ONNX Runtime intra-op threads; 0 lets it choose.")
    reload_interval_s: float = Field(
        5.0, ge=0, description="How often a serving process checks whether ingest switched to a new index."
    )


class RetrievalSettings(_Group):
    top_k: int = Field(6, ge=1, le=50, description="Chunks handed to the answer engine.")
    candidates: int = Field(40, ge=5, le=500, description="Candidates taken from each of dense and BM25 search.")
    per_doc_cap: int = Field(2, ge=1, le=20, description="At most this many chunks of one document in the result.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in the fusion.")
    bm25_weight: float = Field(1.7, ge=0, description="Weight of the BM25 ranking in the fusion.")
    sentence_weight: float = Field(0.4, ge=0, description=(
        "Weight of the sentence-index ranking (passages by their best sentence) in the hybrid fusion; 0 turns it off."))
    rrf_k: int = Field(10, ge=1, le=1000, description="Reciprocal-rank-fusion constant.")
    topic_weight: float = Field(0.2, ge=0, le=1, description=(
        "How much less a document counts per share of its topics the question does not ask about "
        "(prompts/retrieval.yaml)."))
    subgroup_weight: float = Field(0.2, ge=0, le=1, description=(
        "How much less a study whose title names a subgroup counts for a question that does not name it."))
    second_hit_weight: float = Field(
        0.2, ge=0, le=1, description="Share of a document's second-best chunk score added to its best chunk's."
    )
    relevance_floor: float = Field(
        0.30, ge=-1, le=1, description="Best dense cosine similarity below which evidence counts as too weak."
    )


class AnswerSettings(_Group):
    engine: Literal["extractive", "llm"] = Field("extractive", description="Answer engine; extractive runs offline.")
    max_sentences: int = Field(6, ge=1, le=20, description="Supporting sentences in an extractive answer.")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint for the LLM engine.")
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the OpenAI-compatible endpoint.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the endpoint; never logged.")
    llm_timeout_s: float = Field(30.0, gt=0, le=600, description=(
        "Longest one LLM call may take, a streamed draft included; past it the draft ends there."))
    llm_read_timeout_s: float = Field(10.0, gt=0, le=600, description=(
        "Longest wait for the next piece of a streamed draft; a stalled stream ends the draft."))
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature for the LLM engine.")
    llm_extra_rules: str = Field("", description="Extra lines appended to the system prompt (deployment policy).")


class WebSettings(_Group):
    host: str = Field("127.0.0.1", description="Address that `assistant serve` binds.")
    port: int = Field(8000, ge=1, le=65535, description="Port that `assistant serve` binds.")
    workers: int = Field(2, ge=1, le=64, description="gunicorn worker processes.")
    threads: int = Field(4, ge=1, le=64, description="Threads per gunicorn worker.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser (comma-separated)."
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Accepted bearer keys (comma-separated); empty means no key needed."
    )
    rate_limit: str = Field("60/minute", description="flask-limiter limit per API key or client address.")
    rate_limit_storage: str = Field("memory://", description="flask-limiter storage URI, e.g. redis://host:6379.")
    max_message_chars: int = Field(2000, ge=10, le=100_000, description="Longest accepted user message.")
    max_body_bytes: int = Field(65_536, ge=1024, description="Largest accepted request body.")
    conversations_url: str | None = Field(
        None, description="SQLAlchemy URL of the conversation store; unset: SQLite under data_dir."
    )
    trusted_proxies: int = Field(
        0, ge=0, le=5, description="Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust."
    )
    history_turns: int = Field(6, ge=0, le=50, description="Earlier turns of a conversation handed to the answer "
                               "service, on every channel (HTTP API, OpenAI and AI SDK endpoints, Slack, replay).")

    _csv = field_validator("cors_origins", "api_keys", mode="before")(_split_csv)


class SlackSettings(BaseSettings):
    """Slack's conventional variable names, so the app's setup guide matches Slack's own docs."""

    model_config = SettingsConfigDict(env_prefix="SLACK_", extra="forbid", frozen=True)

    signing_secret: SecretStr | None = Field(None, description="Signing secret; unset turns the bot off.")
    bot_token: SecretStr | None = Field(None, description="Bot user OAuth token (xoxb-...).")
    client_id: str | None = Field(None, description="App client id; with the client secret: OAuth installs.")
    client_secret: SecretStr | None = Field(None, description="App client secret (Basic Information).")
    redirect_url: str | None = Field(None, description="OAuth redirect URL, if Slack has more than one on file.")
    socket_mode: bool = Field(False, description="Receive events over Socket Mode instead of a public URL.")
    app_token: SecretStr | None = Field(None, description="App-level token (xapp-...) for Socket Mode.")
    api_base_url: str = Field("https://slack.com/api/", description="Slack Web API base URL.")
    slash_command: str = Field("/evidence", description="Name of the slash command.")
    workers: int = Field(
        4, ge=1, le=64, description="Threads per process that answer Slack questions after the 3-second ack."
    )
    api_timeout_s: float = Field(10.0, gt=0, le=120, description="Timeout of one Slack Web API call.")
    dm_context_window_s: float = Field(
        1800.0, ge=0, le=7 * 86400,
        description="A direct message continues the DM's latest conversation if it was active this recently; 0: never.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Field(Path("data"), description="Where the index and the conversation store live.")
    corpus_dir: Path = Field(Path("corpus"), description="Folder of source documents to ingest.")
    prompts_dir: Path = Field(Path("prompts"), description="Folder of prompts, caveats and crisis texts.")
    log_level: str = Field("INFO", description="Log level of the service's structured logs.")
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment; the one place that reads it."""
    return Settings(**overrides)


def to_env(settings: Settings) -> dict[str, str]:
    """The variables that rebuild ``settings`` in another process (``assistant serve`` started by a
    benchmark or a test), so the child runs with exactly the configuration the parent resolved."""
    import json

    def text(value: Any) -> str:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, list):
            return json.dumps([text(item) for item in value])
        return str(value)

    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if name == "slack":
            for field_name in SlackSettings.model_fields:
                if (item := getattr(value, field_name)) is not None:
                    env[f"SLACK_{field_name.upper()}"] = text(item)
        elif isinstance(value, BaseModel):
            for field_name in type(value).model_fields:
                if (item := getattr(value, field_name)) is not None:
                    env[f"ASSISTANT_{name.upper()}__{field_name.upper()}"] = text(item)
        elif value is not None:
            env[f"ASSISTANT_{name.upper()}"] = text(value.resolve() if isinstance(value, Path) else value)
    return env
