"""Reporters for meshkit check: text, JSON (schema meshkit-check/2), markdown for PR comments, GitHub annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshkit.contract.diff import BREAKING, PLANNED, WARNING
from meshkit.contract.words import NOBODY, plural, text_lines
from meshkit.github.annotations import annotation, append_step_summary, repo_path
from meshkit.mesh.check import Assessed, CheckReport
from meshkit.report import mermaid
from meshkit.report.impacts import impact_dict, impacts_text
from meshkit.report.lineage import check_lineage
from meshkit.report.markdown import comment_marker, fit_comment
from meshkit.report.render import env_fallback_note, to_json
from meshkit.report.templating import markdown_env

CHECK_SCHEMA = "meshkit-check/2"  # /2: impacts name models by column, with may_break and the path across projects


def _change_dict(assessed: Assessed) -> dict[str, Any]:
    c = assessed.change
    return {
        "code": c.code,
        "severity": c.severity,
        "breaking": c.breaking,
        "model": c.model,
        "unique_id": c.unique_id,
        "version": c.version,
        "before": c.before,
        "after": c.after,
        "columns": list(c.columns),
        "file": c.file,
        "message": c.message,
        "impacts": [impact_dict(i) for i in assessed.impacts],
    }


def check_json(report: CheckReport) -> str:
    base = report.base or None
    return to_json(
        "check",
        {
            "schema": CHECK_SCHEMA,
            "ok": not report.breaking,
            "exit_code": report.exit_code,
            "project": report.project,
            "env": report.env,
            "requested_env": report.requested_env or report.env,
            "fallback_envs": report.fallback_envs,
            "registry": report.registry,
            "manifest": report.manifest,
            "today": report.today,
            "warn_only": report.warn_only,
            "base": None
            if base is None
            else {k: base.get(k) for k in ("sha256", "history_id", "published_at", "git_commit")},
            "summary": {
                "breaking": len(report.breaking),
                "planned_removals": len(report.planned),
                "warnings": len(report.warnings),
                "info": len(report.info),
                "consumers": len(report.consumers),
                "stale_consumers": len(report.stale_consumers),
                "unreadable_consumers": len(report.unreadable_consumers),
                "broken_downstreams": report.broken_downstreams,
            },
            "changes": [_change_dict(a) for a in report.assessed],
            "consumers": [
                {
                    "downstream": s.downstream,
                    "repository": s.record.repository if s.record else None,
                    "key": s.key,
                    "stale": s.stale,
                    "age_days": s.age_days,
                    "problem": s.problem,
                    "recorded_at": s.record.recorded_at if s.record else None,
                    "git_commit": s.record.git_commit if s.record else None,
                    "uses": len(s.record.uses) if s.record else 0,
                }
                for s in report.consumers
            ],
            "consumer_max_age_days": report.consumer_max_age_days,
        },
    )


def verdict(report: CheckReport) -> str:
    if report.breaking:
        reach = f", breaking {', '.join(report.broken_consumers)}" if report.broken_consumers else ""
        tail = " (--warn-only: not failing)" if report.warn_only else ""
        return f"{plural(len(report.breaking), 'breaking change')} to {report.project}'s public contract{reach}{tail}"
    if report.base is None:
        return f"{report.project} has no {report.env} contract in the registry yet: every public model is new"
    return f"no breaking changes to {report.project}'s public contract"


def verdict_line(report: CheckReport) -> str:
    return ("FAILED: " if report.exit_code else "OK: ") + verdict(report)


def check_text(report: CheckReport) -> str:
    base = report.base
    against = f"contract {str(base.get('sha256'))[:12]} ({base.get('history_id')})" if base else "no published contract"
    fell_back = env_fallback_note(report.requested_env) if report.requested_env not in ("", report.env) else ""
    lines = [f"meshkit check: {report.project}/{report.env}{fell_back} in {report.registry}, against {against}", ""]
    marks = {BREAKING: "BREAKING", PLANNED: "planned ", WARNING: "warning ", "info": "info    "}
    for assessed in report.assessed:
        change = assessed.change
        lines.append(f"  {marks[change.severity]} [{change.code}] {change.message}")
        if assessed.impacts:
            lines.append(f"           affects {impacts_text(assessed.impacts)}")
        elif change.severity in (BREAKING, PLANNED):
            lines.append(f"           {NOBODY}")
    if not report.assessed:
        lines.append("  public surface unchanged")
    for status in report.consumers:
        if status.problem:
            lines.append(f"  warning: consumer record {status.key} is unreadable ({status.problem}); it was ignored")
        elif status.stale:
            lines.append(
                f"  warning: consumer {status.downstream} last validated {status.age_days} days ago "
                f"(over {report.consumer_max_age_days}): its impact may be out of date"
            )
    lines += ["", verdict_line(report)]
    return text_lines(lines)


def _rows(report: CheckReport) -> list[dict[str, Any]]:
    rows = []
    previous = None
    for assessed in sorted(report.assessed, key=lambda a: (a.change.model, not a.change.breaking)):
        change = assessed.change
        consequential = assessed.impacts or change.severity in (BREAKING, PLANNED)
        rows.append(
            {
                "first": change.model != previous,
                "change": change,
                "impacts": impacts_text(assessed.impacts) if consequential else "",
            }
        )
        previous = change.model
    return rows


def check_markdown(report: CheckReport) -> str:
    diagram, level = mermaid.render(check_lineage(report))
    rows = _rows(report)
    template = markdown_env().get_template("check.md.j2")

    def render(max_rows: int | None, details: bool) -> str:
        shown = rows if max_rows is None else rows[:max_rows]
        # The planned-removals list repeats table rows, so it shrinks with them; unbounded, it alone
        # could push the body over the limit and leave only the table cut.
        planned = report.planned if max_rows is None else report.planned[:max_rows]
        return template.render(
            report=report,
            marker=comment_marker("check", report.project),
            verdict=verdict(report),
            rows=shown,
            hidden_rows=len(rows) - len(shown),
            details=details,
            diagram=diagram,
            diagram_level=level,
            impacts_text=impacts_text,
            planned=planned,
            hidden_planned=len(report.planned) - len(planned),
        )

    return fit_comment(render, len(rows))


def check_github(report: CheckReport, *, project_dir: Path) -> str:
    levels = {BREAKING: "error" if not report.warn_only else "warning", PLANNED: "notice", WARNING: "warning"}
    lines = []
    for assessed in report.assessed:
        change = assessed.change
        if change.severity not in levels:
            continue
        reach = f" (affects {impacts_text(assessed.impacts)})" if assessed.impacts else ""
        lines.append(
            annotation(
                levels[change.severity],
                f"{report.project}: {change.message}{reach}",
                title=f"meshkit check: {change.code}",
                file=repo_path(project_dir, change.file),
            )
        )
    for status in report.consumers:
        if status.problem:
            lines.append(
                annotation(
                    "warning",
                    f"consumer record {status.key} is unreadable ({status.problem})",
                    title="meshkit check: consumer record",
                )
            )
        elif status.stale:
            lines.append(
                annotation(
                    "warning",
                    f"consumer {status.downstream} last validated {status.age_days} days ago",
                    title="meshkit check: stale consumer",
                )
            )
    append_step_summary(check_markdown(report))
    lines.append(verdict_line(report))
    return "\n".join(lines) + "\n"


def render_check(report: CheckReport, fmt: str, *, project_dir: Path) -> str:
    if fmt == "github":
        return check_github(report, project_dir=project_dir)
    return {"text": check_text, "json": check_json, "markdown": check_markdown}[fmt](report)
