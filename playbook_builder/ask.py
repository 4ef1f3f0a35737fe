"""The questions `playbook new` asks in a terminal, validated as you type (prompt_toolkit)."""

from __future__ import annotations

from collections.abc import Sequence

from prompt_toolkit import print_formatted_text, prompt
from prompt_toolkit.completion import WordCompleter
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.shortcuts import CompleteStyle
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


MODEL_LINES = {
    "opportunistic": "one goal, one window: quick to form, light to carry, easy to end",
    "values-bridge": "a value both sides name, carried through a season-long campaign",
    "structural": "a body you create together (a fund, a board) for a problem of years",
}
TRIGGER_LINES = {
    "cross-sector-threat": "one threat reaches every partner, each from its own side",
    "resource-gap": "each partner holds what the others lack",
    "stale-dynamic": "the usual allies are stuck; a new partner changes the conversation",
}

_KEYS = KeyBindings()


@_KEYS.add("enter")
def _accept_or_clear(event: KeyPressEvent) -> None:
    """Enter accepts a valid answer; an invalid one is cleared, its message kept, so the
    next try starts from an empty field rather than after the mistake."""
    buffer = event.current_buffer
    if buffer.complete_state is not None and buffer.complete_state.current_completion:
        buffer.apply_completion(buffer.complete_state.current_completion)
        return
    if buffer.validate(set_cursor=False):
        buffer.validate_and_handle()
        return
    error = buffer.validation_error
    buffer.reset()
    buffer.validation_error = error


def _ask(question: str, validator: Validator, default: str = "", **extra: object) -> str:
    answer: str = prompt(
        f"{question}: ",
        validator=validator,
        validate_while_typing=True,
        default=default,
        key_bindings=_KEYS,
        complete_style=CompleteStyle.READLINE_LIKE,  # Tab completes in place
        **extra,  # type: ignore[arg-type]
    )
    return answer.strip()


def _explain(lines: dict[str, str]) -> None:
    width = max(map(len, lines))
    for name, line in lines.items():
        print_formatted_text(f"  {name.ljust(width)}  {line}")


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
        _explain(MODEL_LINES)
        model = _ask(
            f"Model ({', '.join(MODELS)})",
            _Choice(MODELS),
            completer=WordCompleter(list(MODELS)),
        )
    chosen: AllianceModel = model  # type: ignore[assignment]
    triggers = ("cross-sector-threat", "resource-gap", "stale-dynamic")
    if not trigger:
        _explain(TRIGGER_LINES)
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
