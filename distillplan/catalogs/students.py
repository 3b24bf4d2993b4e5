"""The bundled student architectures (``data/architectures/*.json``), by hub id.

A new student is one ``config.json`` under ``data/architectures`` plus one entry here and in
``data/architectures/SOURCES.toml`` (published parameter count, source, date).
"""

from __future__ import annotations

__all__ = ["STUDENT_FILES", "is_student_name"]

#: Bundled student architectures: hub id -> file under data/architectures (without .json).
STUDENT_FILES: dict[str, str] = {
    "meta-llama/Llama-2-7b-hf": "llama-2-7b-hf",
    "meta-llama/Llama-2-13b-hf": "llama-2-13b-hf",
    "meta-llama/Llama-3.1-8B": "llama-3.1-8b",
    "mistralai/Mistral-7B-v0.3": "mistral-7b-v0.3",
    "Qwen/Qwen2.5-7B": "qwen2.5-7b",
    "Qwen/Qwen2.5-14B": "qwen2.5-14b",
    "google/gemma-2-9b": "gemma-2-9b",
    "microsoft/Phi-3-medium-4k-instruct": "phi-3-medium-4k-instruct",
}
_STUDENTS_LOWER = {name.lower(): name for name in STUDENT_FILES}


def is_student_name(name: str) -> bool:
    """True when ``name`` is a bundled student hub id (case-insensitive). Reads no file."""
    return name.lower() in _STUDENTS_LOWER
