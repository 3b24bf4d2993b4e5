"""How the teacher is called: its vendor's API and the model id that API expects.

The price book (data/teachers.toml) names models the way price pages do ("claude-sonnet-4"); the batch
request files and the router config need the id the vendor's API takes. The Anthropic ids are the dated
snapshots SDK integrations list for these models (e.g. LangChain4j's AnthropicChatModelName; read
2026-11-28); `[teacher].api_model` in distill.toml wins (a newer snapshot, a deployment name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from distillplan.catalogs.api_ids import API_MODEL_IDS
from distillplan.catalogs.prices import PriceBook, is_dated, strip_prefix, teacher_prices

__all__ = ["API_KEY_ENV", "API_MODEL_IDS", "TeacherApi", "teacher_api"]

Api = Literal["openai", "anthropic", "gemini"]
VENDOR_API: dict[str, Api] = {"OpenAI": "openai", "Anthropic": "anthropic", "Google": "gemini"}
#: The environment variable holding each API's key (LiteLLM's names).
API_KEY_ENV: dict[Api, str] = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}


@dataclass(frozen=True)
class TeacherApi:
    api: Api | None  # None: neither the spec nor the price book says
    model: str | None
    reasoning: bool = False  # the price book marks the model as a reasoning model (no temperature)

    @property
    def known(self) -> bool:
        return self.api is not None and self.model is not None


def teacher_api(model: str | None, api: Api | None, api_model: str | None, book: PriceBook | None = None) -> TeacherApi:
    """The spec's [teacher] api / api_model, else what the price-book entry of ``model`` implies
    (``book``: the price book in use, default the bundled one). A dated snapshot id is kept as
    written (the user pinned that snapshot); any other alias calls the vendor id of the book's row;
    a router prefix (``openai/``) is never part of the id."""
    entry = (book if book is not None else teacher_prices()).get(model) if model is not None else None
    if api is None and entry is not None:
        api = VENDOR_API.get(entry.vendor)
    if api_model is None and model is not None:
        if (is_dated(model) and not model.endswith("@default")) or entry is None:
            api_model = API_MODEL_IDS.get(strip_prefix(model), strip_prefix(model))
        else:
            api_model = API_MODEL_IDS.get(entry.name, entry.name)
    return TeacherApi(api, api_model, entry.reasoning if entry is not None else False)
