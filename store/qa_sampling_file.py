"""The org file's `qa: sampling:` rules: which solved tickets each team's reviewers get every week.

```yaml
qa:
  sampling:
    default: {per_agent: 4, weights: {low_csat: 3, reopened: 2, tag:refund: 2}}
    support-emea:
      per_agent: 2
      exclude: {already_reviewed: true, min_replies: 2}
      reviewers: [dana, erin]      # taken in rotation; default: the team's lead(s)
```

`default` is the rule of every team the section does not name; a team's
entry takes what it leaves out from `default`. Read with the org file's
checker, so problems are listed by line with the rest of the file's.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from store.quoting import clip
from store.ticket_fields import TagError, parse_tags
from store.yaml_file import LineDict, LineList

if TYPE_CHECKING:  # org_file imports this module when it reads a file
    from store.org_file import MemberSpec, _Checker

DEFAULT = "default"
RULE_KEYS = ("per_agent", "weights", "exclude", "reviewers")
EXCLUDE_KEYS = ("already_reviewed", "min_replies")
# What a ticket may be weighted by, besides `tag:NAME`; coaching.sampling says what each means.
SIGNALS = ("low_csat", "reopened", "long_resolution", "sla_breached", "escalated")
TAG_PREFIX = "tag:"
MAX_PER_AGENT = 50
MAX_WEIGHT = Fraction(1000)
MAX_REVIEWERS = 50
MAX_MIN_REPLIES = 1000


@dataclass
class SamplingRule:
    """One team's rule (or the default's), complete: what a team leaves out is the default's."""

    per_agent: int = 4
    weights: dict[str, str] = field(default_factory=dict)  # signal or tag:NAME -> decimal text
    already_reviewed: bool = True  # leave out tickets already reviewed
    min_replies: int = 0  # leave out tickets with fewer agent replies
    reviewers: list[str] | None = None  # handles in rotation; None: the team's lead(s)

    def as_dict(self) -> dict[str, Any]:
        return {
            "per_agent": self.per_agent,
            "weights": dict(self.weights),
            "already_reviewed": self.already_reviewed,
            "min_replies": self.min_replies,
            "reviewers": list(self.reviewers) if self.reviewers is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SamplingRule:
        return cls(
            per_agent=int(data["per_agent"]),
            weights=dict(data.get("weights") or {}),
            already_reviewed=bool(data.get("already_reviewed", True)),
            min_replies=int(data.get("min_replies") or 0),
            reviewers=list(data["reviewers"]) if data.get("reviewers") is not None else None,
        )


def _number(value: Any, written: str | None) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return Fraction((written or repr(value)).strip())
    except (ValueError, ZeroDivisionError):
        return None


def _weight_key_problem(key: str) -> str | None:
    """Why `key` cannot be weighted, or None when it can."""
    if key.startswith(TAG_PREFIX):
        tag = key[len(TAG_PREFIX):]
        try:
            if tag and parse_tags(tag) == [tag]:
                return None
        except TagError:
            pass
        return f"unknown tag {clip(tag)}: a tag is one lowercase word as tickets carry it, e.g. tag:refund"
    if key in SIGNALS:
        return None
    return f"unknown metric {clip(key)}: weigh one of {', '.join(SIGNALS)} or a tag (tag:NAME)"


def _rule(check: _Checker, entry: LineDict, what: str, base: SamplingRule) -> SamplingRule:
    from store.org_file import _read_misspellings

    entry = _read_misspellings(entry, RULE_KEYS)
    check.unknown_keys(entry, RULE_KEYS, what)
    rule = SamplingRule(base.per_agent, dict(base.weights), base.already_reviewed, base.min_replies, base.reviewers)
    if "per_agent" in entry:
        value = entry["per_agent"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PER_AGENT:
            check.add(entry.key_lines["per_agent"], f"{what}: per_agent {clip(entry.value_texts.get('per_agent') or value)} must be a whole number from 0 to {MAX_PER_AGENT}, e.g. per_agent: 4")
        else:
            rule.per_agent = value
    if entry.get("weights") is not None:
        weights = check.mapping(entry["weights"], entry.key_lines["weights"], f"{what}: weights")
        if weights is not None:
            # A team's weights replace the default's whole: a team that weighs other things says so.
            rule.weights = {}
            for key, value in weights.items():
                line = weights.key_lines[key]
                problem = _weight_key_problem(str(key))
                if problem is not None:
                    check.add(line, f"{what}: weights: {problem}")
                    continue
                written = weights.value_texts.get(key)
                number = _number(value, written)
                if number is None or not 0 < number <= MAX_WEIGHT:
                    check.add(line, f"{what}: weights: {key} {clip(written or value)} must be a positive number up to {MAX_WEIGHT}, e.g. {key}: 2")
                    continue
                rule.weights[str(key)] = (written or repr(value)).strip()
    if entry.get("exclude") is not None:
        exclude = check.mapping(entry["exclude"], entry.key_lines["exclude"], f"{what}: exclude")
        if exclude is not None:
            exclude = _read_misspellings(exclude, EXCLUDE_KEYS)
            check.unknown_keys(exclude, EXCLUDE_KEYS, f"{what}: exclude")
            if "already_reviewed" in exclude:
                if not isinstance(exclude["already_reviewed"], bool):
                    check.add(exclude.key_lines["already_reviewed"], f"{what}: exclude: already_reviewed must be true or false")
                else:
                    rule.already_reviewed = exclude["already_reviewed"]
            if "min_replies" in exclude:
                value = exclude["min_replies"]
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MIN_REPLIES:
                    check.add(exclude.key_lines["min_replies"], f"{what}: exclude: min_replies must be a whole number from 0 to {MAX_MIN_REPLIES}, e.g. min_replies: 2")
                else:
                    rule.min_replies = value
    if "reviewers" in entry:
        value = entry["reviewers"]
        if value == "lead" or value is None:
            rule.reviewers = None
        elif not isinstance(value, LineList) or not value or not all(isinstance(h, str) for h in value):
            check.add(entry.key_lines["reviewers"], f"{what}: reviewers must be `lead` or a list of handles, e.g. reviewers: [dana, erin]")
        elif len(value) > MAX_REVIEWERS:
            check.add(entry.key_lines["reviewers"], f"{what}: {len(value)} reviewers; at most {MAX_REVIEWERS}")
        else:
            handles = [h.strip().lower() for h in value]
            if len(set(handles)) != len(handles):
                check.add(entry.key_lines["reviewers"], f"{what}: reviewers lists a handle twice")
            else:
                rule.reviewers = handles
    return rule


def parse_sampling(
    check: _Checker, qa: LineDict, team_keys: Collection[str] | None, members: Collection[MemberSpec]
) -> dict[str, SamplingRule]:
    """The rule of each team the section names, and the default's under DEFAULT.

    `team_keys` None: the file's teams could not be read, so team names are not checked.
    """
    section = check.mapping(qa["sampling"], qa.key_lines["sampling"], "qa: sampling")
    if section is None:
        return {}
    default = SamplingRule()
    if section.get(DEFAULT) is not None:
        entry = check.mapping(section[DEFAULT], section.key_lines[DEFAULT], "qa: sampling: default")
        if entry is not None:
            default = _rule(check, entry, "qa: sampling: default", default)
    rules = {DEFAULT: default}
    by_handle = {m.handle: m for m in members}
    for key, value in section.items():
        if key == DEFAULT:
            continue
        what = f"qa: sampling: team {clip(key)}"
        line = section.key_lines[key]
        if team_keys is not None and key not in team_keys:
            check.add(line, f"{what}: no such team in the file (name a team's key, or default)")
            continue
        entry = check.mapping(value, line, what)
        if entry is None:
            continue
        rules[str(key)] = _rule(check, entry, what, default)
    for key, rule in rules.items():
        if rule.reviewers is None:
            continue
        what = "qa: sampling: default" if key == DEFAULT else f"qa: sampling: team {clip(key)}"
        line = (section[key].key_lines.get("reviewers") if isinstance(section.get(key), LineDict) else None) or section.key_lines.get(key)
        for handle in rule.reviewers:
            if handle not in by_handle:
                check.add(line, f"{what}: reviewer {clip(handle)} is not a member in the file")
        # The sampler gives a ticket to a reviewer who is not its agent; a lone
        # reviewer who is an agent of the team would be left their own tickets.
        teams = [t for t in (team_keys or ()) if t not in rules or t == key] if key == DEFAULT else [key]
        if len(rule.reviewers) == 1:
            handle = rule.reviewers[0]
            member = by_handle.get(handle)
            if member is not None and member.role == "agent" and member.team in teams:
                check.add(line, f"{what}: reviewer {handle} is an agent of team {member.team} and would review themselves: add another reviewer, or leave reviewers out for the team's lead")
    return rules


def sampling_document(rules: Mapping[str, SamplingRule]) -> dict[str, Any]:
    """The `sampling` section as the org file writes it: each team only where it differs from the default."""

    def number(text: str) -> int | float:
        value = Fraction(text)
        return int(value) if value.denominator == 1 else float(text)

    def written(rule: SamplingRule, base: SamplingRule | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if base is None or rule.per_agent != base.per_agent:
            out["per_agent"] = rule.per_agent
        if (base is None and rule.weights) or (base is not None and rule.weights != base.weights):
            out["weights"] = {k: number(v) for k, v in rule.weights.items()}
        exclude: dict[str, Any] = {}
        if base is None or rule.already_reviewed != base.already_reviewed:
            exclude["already_reviewed"] = rule.already_reviewed
        if base is None or rule.min_replies != base.min_replies:
            exclude["min_replies"] = rule.min_replies
        if exclude:
            out["exclude"] = exclude
        if base is None or rule.reviewers != base.reviewers:
            out["reviewers"] = list(rule.reviewers) if rule.reviewers is not None else "lead"
        return out

    default = rules.get(DEFAULT, SamplingRule())
    doc: dict[str, Any] = {DEFAULT: written(default, None)}
    for key in sorted(k for k in rules if k != DEFAULT):
        doc[key] = written(rules[key], default)
    return doc
