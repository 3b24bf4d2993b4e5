"""How the teacher is called: its vendor's API and the model id that API expects.

The price book (data/teachers.toml) names models the way price pages do ("claude-sonnet-4"); the batch
request files and the router config need the id the vendor's API takes. The Anthropic ids are the dated
snapshots SDK integrations list for these models (e.g. LangChain4j's AnthropicChatModelName; read
2026-11-28); `[teacher].api_model` in distill.toml wins (a newer snapshot, a deployment name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from distillplan.catalogs.prices import teacher_prices

__all__ = ["API_KEY_ENV", "TeacherApi", "teacher_api"]

Api = Literal["openai", "anthropic", "gemini"]
VENDOR_API: dict[str, Api] = {"OpenAI": "openai", "Anthropic": "anthropic", "Google": "gemini"}
#: Price-book name -> the vendor API's model id, where the two differ (OpenAI and Google take the name).
API_MODEL_IDS = {
    "claude-sonnet-4": "claude-sonnet-4-20250514",
    "claude-opus-4": "claude-opus-4-20250514",
    "claude-3.5-haiku": "claude-3-5-haiku-20241022",
    # The Claude 4.5+ ids drop the dots (platform.claude.com model pages: "Model ID: claude-sonnet-5").
    "claude-sonnet-5.5": "claude-sonnet-5-5",
    "claude-sonnet-5": "claude-sonnet-5",
    "claude-opus-5.5": "claude-opus-5-5",
    "claude-opus-5": "claude-opus-5",
    "claude-haiku-4.5": "claude-haiku-4-5",
    "claude-haiku-5.5": "claude-haiku-5-5",
    "claude-fable-5.1": "claude-fable-5-1",
    "claude-fable-5.2": "claude-fable-5-2",
}
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


def teacher_api(model: str | None, api: Api | None, api_model: str | None) -> TeacherApi:
    """The spec's [teacher] api / api_model, else what the price-book entry of ``model`` implies."""
    entry = teacher_prices().get(model) if model is not None else None
    if api is None and entry is not None:
        api = VENDOR_API.get(entry.vendor)
    if api_model is None and model is not None:
        api_model = API_MODEL_IDS.get(model, model)
    return TeacherApi(api, api_model, entry.reasoning if entry is not None else False)
