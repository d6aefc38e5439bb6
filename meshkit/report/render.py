"""Reporters: pure functions from result objects to text, JSON or markdown."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from meshkit import __version__
from meshkit.contract.words import model_label, plural, text_lines
from meshkit.github.annotations import annotation, append_step_summary, repo_path
from meshkit.report import mermaid
from meshkit.report.lineage import validate_lineage
from meshkit.report.markdown import comment_marker, fit_comment
from meshkit.report.templating import markdown_env

if TYPE_CHECKING:  # reporters take results; importing the commands that make them is not needed
    from meshkit.github.bump_pr import BumpResult
    from meshkit.github.comment import CommentResult
    from meshkit.github.init import InitPlan
    from meshkit.lineage.graph import Reading
    from meshkit.mesh.publish import PublishResult
    from meshkit.mesh.sync import SyncOutcome
    from meshkit.mesh.validate import ProjectReport, ValidateReport

FORMATS_REPORT = ("text", "json", "markdown", "github")
FORMATS_BASIC = ("text", "json")

# The `schema` of each command's JSON output, described by meshkit/schemas/<command>.schema.json. Fields
# are only ever added within a version; a removal or a change of meaning bumps it (meshkit-publish/2).
# check's is CHECK_SCHEMA in meshkit.report.check, the catalog's CATALOG_SCHEMA in meshkit.report.catalog.
PUBLISH_SCHEMA = "meshkit-publish/1"
SYNC_SCHEMA = "meshkit-sync/1"
VALIDATE_SCHEMA = "meshkit-validate/1"
LINEAGE_SCHEMA = "meshkit-lineage/1"
DISPATCH_SCHEMA = "meshkit-dispatch/1"
COMMENT_SCHEMA = "meshkit-comment/1"
INIT_SCHEMA = "meshkit-init/1"
BUMP_PR_SCHEMA = "meshkit-bump-pr/1"


def _struct_fields(value: object) -> dict[str, Any]:
    """orjson writes dataclasses itself; the few msgspec Structs in results go out as their fields."""
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.asdict(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(command: str, payload: dict[str, Any]) -> str:
    document = {"meshkit_version": __version__, "command": command, **payload}
    return (
        orjson.dumps(document, default=_struct_fields, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
        + "\n"
    )


def dispatch_json(event_type: str, client_payload: dict[str, Any], repositories: list[dict[str, Any]]) -> str:
    """repositories: {repository, status (sent, failed or dry-run), error} per repository notified."""
    return to_json(
        "dispatch",
        {
            "schema": DISPATCH_SCHEMA,
            "event_type": event_type,
            "client_payload": client_payload,
            "repositories": repositories,
        },
    )


def comment_json(result: CommentResult) -> str:
    return to_json("comment", {"schema": COMMENT_SCHEMA, **result.as_dict()})


def init_json(plan: InitPlan, *, check: bool) -> str:
    return to_json("init", {"schema": INIT_SCHEMA, "check": check, **plan.as_dict()})


def bump_pr_json(result: BumpResult) -> str:
    return to_json("bump-pr", {"schema": BUMP_PR_SCHEMA, **result.as_dict()})


def publish_text(result: PublishResult) -> str:
    models = ", ".join(model_label(m.name, m.version) for m in result.public_models)
    if result.status == "unchanged":
        return text_lines(
            [
                f"{result.project}/{result.env}: contract unchanged (sha256 {result.sha256[:12]}), "
                "no new history entry; pass --force to republish"
                + ("; repaired latest's copies" if result.repaired else ""),
                *(f"  warning  {warning}" for warning in result.warnings),
            ]
        )
    latest = (
        f"  latest   {result.latest_key}"
        if result.superseded_by is None
        else f"  latest   unchanged: a newer publish ({result.superseded_by}) landed first; this one is in history"
    )
    return text_lines(
        [
            f"published {result.kind} of {result.project}/{result.env} to {result.registry}",
            f"  sha256   {result.sha256}",
            f"  history  {result.history_key}",
            latest,
            f"  public   {models}",
            *(f"  warning  {warning}" for warning in result.warnings),
        ]
    )


def render_publish(result: PublishResult, fmt: str) -> str:
    return to_json("publish", {"schema": PUBLISH_SCHEMA, **result.as_dict()}) if fmt == "json" else publish_text(result)


def render_sync(outcomes: list[SyncOutcome], fmt: str, *, note: str | None = None) -> str:
    """note: why nothing was synced (an --only upstream this project does not read)."""
    if fmt == "json":
        return to_json(
            "sync",
            {
                "schema": SYNC_SCHEMA,
                "ok": not any(o.is_finding for o in outcomes),
                "note": note,
                "upstreams": [o.as_dict() for o in outcomes],
            },
        )
    lines = [note] if note else []
    for o in outcomes:
        scope = "used by the project" if o.selection == "used" else "all"
        what = {
            "written": f"wrote {o.tables} of {o.published} source tables ({scope}) to",
            "unchanged": f"already current ({o.tables} of {o.published} tables, {scope}):",
            "up-to-date": f"up to date ({o.tables} of {o.published} tables, {scope}):",
            "stale": "STALE, run `meshkit sync` to regenerate:",
            "missing": "MISSING, run `meshkit sync` to generate:",
        }[o.status]
        fell_back = o.requested_env not in ("", o.env)
        read_from = f"{o.upstream}/{o.env}" + (env_fallback_note(o.requested_env) if fell_back else "")
        lines.append(f"{read_from} (sha256 {o.sha256[:12]}): {what} {o.path}")
        lines += [f"  note: {text}" for text in o.notes]
    return text_lines(lines)


def env_fallback_note(requested: str) -> str:
    """How every text report marks an upstream read from a fallback env."""
    return f" (fallback: no {requested} contract)"


def validate_text(report: ValidateReport) -> str:
    lines = [f"meshkit validate: registry {report.registry}, env {report.env}", ""]
    for project in report.projects:
        lines.append(f"{project.project}  ({project.manifest})")
        if project.fallback_envs:
            lines.append(f"  fallback envs: {', '.join(project.fallback_envs)}")
        for upstream, env in project.read_through_fallback(report.env):
            lines.append(f"  {upstream} read from {env}{env_fallback_note(report.env)}")
        if not project.dependencies:
            lines.append("  no cross-project dependencies")
        for dep in project.dependencies:
            mark = "ok " if dep.contract_id else "ERR"
            target = f" = {dep.contract_id}" if dep.contract_id and dep.contract_id != dep.parent_id else ""
            lines.append(f"  [{mark}] {dep.via:<11} {dep.parent_id}{target}")
            for consumer in dep.consumers:
                lines.append(f"          -> {consumer}")
        for finding in project.findings:
            lines.append(f"  {finding.severity}: [{finding.code}] {finding.message}")
        lines.append("")
    for name in report.skipped:
        lines.append(f"skipped {name}: no target/manifest.json (run `dbt build` there)")
    lines.append(validate_verdict(report))
    return text_lines(lines)


def validate_verdict(report: ValidateReport) -> str:
    deps = plural(report.dependency_count, "cross-project dependency", "cross-project dependencies")
    return (
        f"{'FAILED' if report.errors else 'OK'}: {deps} in {plural(len(report.projects), 'project')}, "
        f"{plural(len(report.errors), 'error')}, {plural(len(report.warnings), 'warning')}"
    )


def _reading_json(model: str, reading: Reading) -> dict[str, Any]:
    return {
        "model": model,
        "columns": None if reading.columns is None else sorted(reading.columns),
        "direct": reading.direct,
        "through": sorted(reading.through),
        "reason": reading.reason,
    }


def project_json(project: ProjectReport) -> dict[str, Any]:
    """A validated project as JSON: its dependencies with the models reading each, and its column map."""
    whole = dataclasses.asdict(dataclasses.replace(project, lineage=None))
    document = {key: value for key, value in whole.items() if key != "lineage"}
    lineage = project.lineage
    readers = lineage.readers if lineage else {}
    for dependency in document["dependencies"]:
        found = readers.get(dependency["parent_id"], {})
        dependency["readers"] = [_reading_json(model, found[model]) for model in sorted(found)]
    models = []
    for model, columns in sorted((lineage.outputs if lineage else {}).items()):
        described = None
        if columns is not None:
            described = [
                {
                    "column": column,
                    "sources": None
                    if sources is None
                    else [{"node": node, "columns": sorted(cols)} for node, cols in sorted(sources.items())],
                }
                for column, sources in sorted(columns.items())
            ]
        models.append({"model": model, "columns": described})
    document["column_lineage"] = {"parsed": lineage.parsed if lineage else 0, "models": models}
    return document


def validate_json(report: ValidateReport) -> str:
    fields = {f.name: getattr(report, f.name) for f in dataclasses.fields(report) if f.name != "projects"}
    payload = {"schema": VALIDATE_SCHEMA, **fields, "projects": [project_json(p) for p in report.projects]}
    payload["ok"] = not report.errors
    payload["error_count"] = len(report.errors)
    payload["warning_count"] = len(report.warnings)
    return to_json("validate", payload)


def validate_markdown(report: ValidateReport) -> str:
    template = markdown_env().get_template("validate.md.j2")
    diagram, level = mermaid.render(validate_lineage(report))
    marker = comment_marker("validate", "+".join(p.project for p in report.projects) or "none")
    total = report.dependency_count

    def render(max_rows: int | None, details: bool) -> str:
        return template.render(
            report=report,
            dependency_count=total,
            marker=marker,
            diagram=diagram,
            diagram_level=level,
            max_rows=total if max_rows is None else max_rows,
        )

    return fit_comment(render, total)


def validate_github(report: ValidateReport) -> str:
    lines = []
    for project in report.projects:
        project_dir = Path(project.manifest).parent.parent
        for finding in project.findings:
            lines.append(
                annotation(
                    finding.severity if finding.severity == "error" else "warning",
                    f"{project.project}: {finding.message}",
                    title=f"meshkit validate: {finding.code}",
                    file=repo_path(project_dir, finding.file),
                )
            )
    append_step_summary(validate_markdown(report))
    return "\n".join([*lines, validate_verdict(report)]) + "\n"


def render_validate(report: ValidateReport, fmt: str) -> str:
    renderers = {"text": validate_text, "json": validate_json, "markdown": validate_markdown, "github": validate_github}
    return renderers[fmt](report)
