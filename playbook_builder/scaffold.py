"""New workspaces and new coalition files, written from commented templates.

Text is produced here and written only by `init_workspace` and `new_coalition`, which
never overwrite a file. Values are written as JSON strings, which YAML reads back
exactly, so whatever a person types cannot change the file's structure.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from playbook_builder.errors import PlaybookError
from playbook_builder.model import MODELS, SLUG_PATTERN, AllianceModel, Trigger
from playbook_builder.workspace import CONFIG_NAME, builtin_dir

_SLUG = re.compile(SLUG_PATTERN)


def slugify(text: str) -> str:
    """A readable id for a name: `St. Mark's A.M.E. Church` -> `st-marks-ame-church`,
    `Société Générale` -> `societe-generale` (accents dropped; apostrophes and full stops
    inside a word join it rather than split it)."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    plain = re.sub(r"(?<=\w)['\u2019.](?=\w)|(?<=\w)\.", "", plain)
    return "-".join(re.findall(r"[a-z0-9]+", plain)) or "partner"


def is_slug(text: str) -> bool:
    return bool(_SLUG.fullmatch(text))


@dataclass(frozen=True, slots=True)
class PartnerAnswer:
    name: str
    decision_maker: str = "TODO: who signs for this partner"
    title: str = "TODO: their title"
    id: str = ""

    @property
    def slug(self) -> str:
        return self.id or slugify(self.name)


@dataclass(frozen=True, slots=True)
class Answers:
    """What `playbook new` asks for."""

    name: str
    purpose: str
    model: AllianceModel
    trigger: Trigger
    partners: Sequence[PartnerAnswer] = field(default_factory=tuple)
    bridge_value: str = "TODO: the value the partners share"
    joint_entity: str = "TODO: what the partners create together"


def schema_text() -> str:
    """The JSON Schema of a coalition file, as `playbook schema` prints it."""
    from playbook_builder.validate import coalition_schema

    schema = coalition_schema()
    return json.dumps(schema, allow_nan=False, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def coalition_text(answers: Answers, today: date) -> str:
    """A new coalition file: valid as written, with a comment on every section."""
    if answers.model not in MODELS:
        raise PlaybookError(f"model must be one of {', '.join(MODELS)}")
    partners = list(answers.partners)
    if len(partners) < 2:
        raise PlaybookError("a coalition needs at least two partners")
    ids = [p.slug for p in partners]
    if len(set(ids)) != len(ids):
        raise PlaybookError(f"partner ids must differ: {', '.join(ids)}")
    for pid in ids:
        if not is_slug(pid):
            raise PlaybookError(f"{pid!r} is not a usable partner id")
    lines = [
        "# yaml-language-server: $schema=../coalition.schema.json",
        "# A coalition file: coalition-file.md (beside playbook.yaml) explains every field;",
        "# the site's guide explains the ideas behind them.",
        f"name: {_q(answers.name)}",
        "# exploring, forming, active, under-review or dissolved",
        "status: exploring",
        "# the shared goal in ONE sentence",
        f"purpose: {_q(answers.purpose)}",
        "# what success means for each partner, in its own words",
        "success:",
        *(f"  {p.slug}: {_q('TODO: what success means for ' + p.name)}" for p in partners),
        "# cross-sector-threat, resource-gap or stale-dynamic",
        f"trigger: {answers.trigger}",
        "# opportunistic, values-bridge or structural (guide/models.html)",
        f"model: {answers.model}",
    ]
    if answers.model == "values-bridge":
        lines += [
            "# the shared value the alliance is built on",
            f"bridge_value: {_q(answers.bridge_value)}",
        ]
    if answers.model == "structural":
        lines += [
            "# the new thing the partners create: pooled-fund, shared-staff, joint-venture, other",
            "joint_entity:",
            "  kind: other",
            f"  description: {_q(answers.joint_entity)}",
        ]
    lines += ["", "partners:"]
    for partner in partners:
        lines += [
            f"  - id: {partner.slug}",
            f"    name: {_q(partner.name)}",
            "    decision_maker:",
            f"      name: {_q(partner.decision_maker)}",
            f"      title: {_q(partner.title)}",
            "    # not scored yet: after the exploratory meeting, score each criterion 1-5,",
            "    # where 5 favours a deeper alliance (guide/criteria.html), e.g.",
            "    # scores: {alignment: 4, trust: 2, resources: 3, time_horizon: 4, exit_cost: 2}",
            "    status: prospect",
        ]
    lines += [
        "",
        "# majority, supermajority (with threshold), executive-committee or consensus",
        "decision_rule:",
        "  default: majority",
        "  quorum: 2/3",
        "",
        "# check-ins: weekly, biweekly, monthly or quarterly",
        "communication: {cadence: monthly, minutes: 30}",
    ]
    if answers.model == "structural":
        lines += [
            "",
            "# how a partner leaves, and when the alliance ends unless renewed",
            "# (a structural alliance needs both; TODO: agree them, these are only a start)",
            "exit:",
            "  notice_days: 90",
            "  after_months: 24",
            "",
            "mou:",
            f"  effective: {today.isoformat()}",
        ]
    return "\n".join(lines) + "\n"


CONFIG_TEXT = """\
# Settings for the whole playbook. Coalition files live in coalitions/, one per coalition.
title: {title}
organization: {organization}
# where the site is published (used in calendar identifiers); may stay empty
base_url: ""
# where a file of this playbook is edited, its path left off, e.g.
# https://github.com/your-org/playbook/edit/main/ (pages then link "Edit this file")
edit_url: ""
# paper size of the MOU packets: letter or a4
paper: letter
# IANA time zone for dates and calendars
timezone: UTC
# default currency of partner commitments (ISO 4217)
currency: USD
"""

GITIGNORE_TEXT = """\
# built by `playbook build`, with its lock and what a killed build may leave
site/
.site.*
__pycache__/
"""

README_TEXT = """\
# {title}

This folder is a playbook: one YAML file per coalition in `coalitions/`, settings in
`playbook.yaml`. Edit the files, then:

    playbook check          # validate, and see the guidance's advice
    playbook serve --open   # preview the site; it reloads as you edit
    playbook build          # write the site and the MOU packets into site/
    playbook new SLUG       # start a new coalition file

Keep the folder in git so that every change to an agreement can be reviewed.
"""


def init_workspace(
    folder: Path,
    *,
    title: str,
    organization: str,
    force: bool,
    with_templates: bool,
    today: date,
) -> list[Path]:
    """A new workspace in `folder`; refuses a folder that is not empty unless `force`."""
    if folder.exists() and not folder.is_dir():
        raise PlaybookError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise PlaybookError(
            f"{folder} is not empty; choose an empty folder, or pass --force to add the "
            f"playbook files to it (existing files are kept)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(name: str, text: str) -> None:
        path = folder / name
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)

    put(CONFIG_NAME, CONFIG_TEXT.format(title=_q(title), organization=_q(organization)))
    put(".gitignore", GITIGNORE_TEXT)
    # the file the coalition files' editor modeline names, and the field reference
    put("coalition.schema.json", schema_text())
    from playbook_builder.reference import reference

    put("coalition-file.md", reference(example=""))
    put("README.md", README_TEXT.format(title=title))
    example = Answers(
        name="Example Alliance",
        purpose="Pass the county library levy at the next election.",
        model="opportunistic",
        trigger="resource-gap",
        partners=(
            PartnerAnswer("Friends of the Library", "Ann Lee", "Board Chair"),
            PartnerAnswer("Teachers Union Local 12", "Bo Kim", "President"),
        ),
    )
    put("coalitions/example-alliance.yaml", coalition_text(example, today))
    if with_templates:
        for kind in ("templates", "content"):
            source = builtin_dir(kind)
            for path in sorted(source.rglob("*")):
                if path.is_file():
                    target = folder / kind / path.relative_to(source)
                    if not target.exists():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(path, target)
                        written.append(target)
    return written


def new_coalition(root: Path, slug: str, answers: Answers, today: date) -> Path:
    """Write coalitions/SLUG.yaml; never overwrites."""
    if not is_slug(slug):
        raise PlaybookError(
            f"{slug!r} cannot be a coalition file name: use lower-case letters and digits "
            f"joined by hyphens, like clean-air"
        )
    path = root / "coalitions" / f"{slug}.yaml"
    if path.exists():
        raise PlaybookError(f"{path} already exists; it is never overwritten")
    text = coalition_text(answers, today)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    return path
