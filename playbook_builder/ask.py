"""The questions `playbook new` asks in a terminal, validated as you type (prompt_toolkit)."""

from __future__ import annotations

from collections.abc import Sequence

from prompt_toolkit import prompt
from prompt_toolkit.completion import WordCompleter
from prompt_toolkit.validation import ValidationError, Validator

from playbook_builder.model import MODELS, AllianceModel
from playbook_builder.scaffold import Answers, PartnerAnswer, is_slug, slugify


class _NotEmpty(Validator):
    def __init__(self, what: str) -> None:
        self.what = what

    def validate(self, document: object) -> None:
        text = getattr(document, "text", "")
        if not text.strip():
            raise ValidationError(message=f"{self.what} cannot be empty", cursor_position=0)


class _OneSentence(_NotEmpty):
    def validate(self, document: object) -> None:
        super().validate(document)
        text = getattr(document, "text", "").strip()
        if any(mark in text[:-1] for mark in (". ", "? ", "! ")):
            raise ValidationError(
                message="one sentence: every partner should be able to say it",
                cursor_position=len(text),
            )


class _Choice(Validator):
    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = choices

    def validate(self, document: object) -> None:
        text = getattr(document, "text", "").strip()
        if text not in self.choices:
            raise ValidationError(
                message=f"one of: {', '.join(self.choices)} (Tab completes)",
                cursor_position=len(text),
            )


class _Slug(Validator):
    def validate(self, document: object) -> None:
        text = getattr(document, "text", "").strip()
        if text and not is_slug(text):
            raise ValidationError(
                message="lower-case letters and digits joined by hyphens",
                cursor_position=len(text),
            )


def _ask(question: str, validator: Validator, default: str = "", **extra: object) -> str:
    answer: str = prompt(
        f"{question}: ",
        validator=validator,
        validate_while_typing=True,
        default=default,
        **extra,  # type: ignore[arg-type]
    )
    return answer.strip()


def interview(
    name: str | None,
    purpose: str | None,
    model: str | None,
    trigger: str | None,
    partners: Sequence[PartnerAnswer],
    bridge_value: str | None,
    joint_entity: str | None,
) -> Answers:
    """Ask for what the flags left out."""
    name = name or _ask("Coalition name", _NotEmpty("The name"))
    purpose = purpose or _ask("Shared goal, in one sentence", _OneSentence("The goal"))
    if not model:
        model = _ask(
            f"Model ({', '.join(MODELS)})",
            _Choice(MODELS),
            completer=WordCompleter(list(MODELS)),
        )
    chosen: AllianceModel = model  # type: ignore[assignment]
    triggers = ("cross-sector-threat", "resource-gap", "stale-dynamic")
    if not trigger:
        trigger = _ask(
            f"Why now ({', '.join(triggers)})",
            _Choice(triggers),
            completer=WordCompleter(list(triggers)),
        )
    extra: dict[str, str] = {}
    if chosen == "values-bridge":
        extra["bridge_value"] = bridge_value or _ask(
            "The value both sides share", _NotEmpty("The bridge value")
        )
    if chosen == "structural":
        extra["joint_entity"] = joint_entity or _ask(
            "What the partners create together", _NotEmpty("The joint entity")
        )
    found = list(partners)
    while len(found) < 2 or (
        len(found) < 20 and _ask("Add another partner? (y/n)", _Choice(["y", "n"]), "n") == "y"
    ):
        number = len(found) + 1
        org = _ask(f"Partner {number}: organisation", _NotEmpty("The organisation"))
        pid = _ask(f"Partner {number}: id", _Slug(), default=slugify(org)) or slugify(org)
        person = _ask(f"Partner {number}: who signs for it", _NotEmpty("The decision maker"))
        title = _ask(f"Partner {number}: their title", _NotEmpty("The title"))
        found.append(PartnerAnswer(org, person, title, pid))
    return Answers(
        name=name,
        purpose=purpose,
        model=chosen,
        trigger=trigger,  # type: ignore[arg-type]
        partners=tuple(found),
        **extra,
    )
