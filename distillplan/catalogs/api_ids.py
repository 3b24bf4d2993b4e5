"""Price-book name -> the model id its vendor's API takes, where the two differ (OpenAI and Google
take the book's name). The Anthropic ids are the dated snapshots SDK integrations list for these
models (e.g. LangChain4j's AnthropicChatModelName; read 2026-11-28). These ids are also aliases the
price book finds the model by (catalogs/prices.py). Its own module: the price book reads it and
``teacher_api`` reads the book."""

from __future__ import annotations

__all__ = ["API_MODEL_IDS"]

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
    "claude-opus-4.8": "claude-opus-4-8",
    "claude-opus-4.7": "claude-opus-4-7",
    "claude-opus-4.6": "claude-opus-4-6",
    "claude-opus-4.5": "claude-opus-4-5",
}
