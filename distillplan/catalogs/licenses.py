"""The licenses of the bundled student bases (``data/students.toml`` ``license``): each one's
name, where its text is, and the clauses that bind the client who deploys a student built on
it, cited by section. The contract carries them; the proposal names the license.

Transcribed from the license texts on 2026-12-02; a clause names its section so a reader can
check it against the text at ``url``. Not legal advice: the contract says the license governs.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LICENSES", "License"]


@dataclass(frozen=True)
class License:
    name: str
    url: str
    clauses: tuple[str, ...]


LICENSES: dict[str, License] = {
    "llama2": License(
        "Llama 2 Community License Agreement",
        "https://ai.meta.com/llama/license/",
        (
            "If the client's products or services had more than 700 million monthly active users in the calendar "
            "month before 18 July 2023 (the Llama 2 release date), the client must request a license from Meta "
            "before using the student (section 2, Additional Commercial Terms).",
            "Any copy of the student's weights the client distributes carries a copy of the agreement and the notice "
            '"Llama 2 is licensed under the LLAMA 2 Community License, Copyright (c) Meta Platforms, Inc. All Rights '
            'Reserved." (section 1.b.i-ii).',
            "Use of the student complies with Meta's Acceptable Use Policy for Llama 2 (section 1.b.iv).",
            "The student and its outputs may not be used to improve any other large language model than Llama 2 or "
            "its derivatives (section 1.b.v).",
        ),
    ),
    "llama3.1": License(
        "Llama 3.1 Community License Agreement",
        "https://www.llama.com/llama3_1/license/",
        (
            "If the client's products or services had more than 700 million monthly active users in the calendar "
            "month before 23 July 2024 (the Llama 3.1 release date), the client must request a license from Meta "
            "before using the student (section 2, Additional Commercial Terms).",
            'A product or service that makes the student available displays "Built with Llama" prominently, and a '
            'distributed model created or improved with Llama 3.1 carries "Llama" at the beginning of its name '
            "(section 1.b.i).",
            "Any copy of the student's weights the client distributes carries a copy of the agreement and the notice "
            '"Llama 3.1 is licensed under the Llama 3.1 Community License, Copyright (c) Meta Platforms, Inc. All '
            'Rights Reserved." (section 1.b.i-ii).',
            "Use of the student complies with the Acceptable Use Policy for the Llama materials (section 1.b.iv).",
        ),
    ),
    "gemma": License(
        "Gemma Terms of Use",
        "https://ai.google.dev/gemma/terms",
        (
            "Use of the student (a Model Derivative of Gemma) is subject to the Gemma Prohibited Use Policy "
            "(ai.google.dev/gemma/prohibited_use_policy), which Google may update (section 3.2).",
            "If the client distributes the student, it passes the use restrictions of section 3.2 on to every "
            "recipient as an enforceable provision, gives them a copy of the Gemma Terms of Use, marks modified files "
            'and includes the notice "Gemma is provided under and subject to the Gemma Terms of Use found at '
            'ai.google.dev/gemma/terms" (section 3.1).',
            "Google may restrict (remotely or otherwise) usage of Gemma it reasonably believes violates the terms "
            "(section 3.3).",
        ),
    ),
    "apache-2.0": License(
        "Apache License 2.0",
        "https://www.apache.org/licenses/LICENSE-2.0",
        (
            "Any copy of the student's weights the client distributes carries the license text and any NOTICE file "
            "of the base, and states that the files were changed (section 4).",
            "The license grants no right to the base's trademarks or product names beyond describing the student's "
            "origin (section 6).",
            'The base is provided "as is", without warranty (section 7): the provider\'s acceptance test, not the '
            "license, stands for the student's quality.",
        ),
    ),
    "mit": License(
        "MIT License",
        "https://opensource.org/license/mit",
        (
            "Any copy of the student's weights (a substantial portion of the base) the client distributes carries the "
            "base's copyright notice and the MIT permission notice.",
            'The base is provided "as is", without warranty: the provider\'s acceptance test, not the license, '
            "stands for the student's quality.",
        ),
    ),
}
