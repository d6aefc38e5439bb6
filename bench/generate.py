"""Deterministic dbt projects of N models for the benchmark.

One upstream project (staging, intermediate and marts layers, ~8 documented columns a model,
~10% of the models public with enforced contracts, some of those versioned) and one small
downstream project that reads 20 of the upstream's public tables in three ways: generated
sources (meshkit sync), dbt-loom refs, and a hand-written sources file. Everything is derived
from N and a fixed seed, so the same N always gives the same bytes and the parse can be cached.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

UPSTREAM = "benchup"
DOWNSTREAMS = {"sources": "benchdown_sources", "loom": "benchdown_loom", "hand": "benchdown_hand"}
SEED = 20_240_601
FOLDER_SIZE = 50  # models per sub-folder (and per YAML file), as large projects split by domain
READS = 20  # public models each downstream reads
COLUMNS = (  # name, data_type, description template
    ("id", "integer", "Primary key of {m}."),
    ("customer_id", "integer", "Customer the {m} row belongs to."),
    ("order_id", "integer", "Order the {m} row refers to."),
    ("amount", "decimal(18,2)", "Amount in dollars for the {m} row."),
    ("status", "varchar", "Lifecycle status of the {m} row: placed, shipped, completed or returned."),
    ("created_at", "timestamp", "When the {m} row was created (UTC)."),
    ("updated_at", "timestamp", "When the {m} row last changed (UTC)."),
    ("is_active", "boolean", "Whether the {m} row is currently active."),
)
EXTRA_V2 = ("channel", "varchar", "Sales channel of the {m} row (added in v2).")
# A marker in one public model's description: the catalog bench rewrites it to make history entries differ.
REVISION_MARKER = "Contract revision r0."


@dataclass(frozen=True)
class Public:
    name: str
    versioned: bool


@dataclass(frozen=True)
class Plan:
    """How N model nodes split into layers; a versioned public model counts once per version."""

    staging: int
    intermediate: int
    private_marts: int
    public: tuple[Public, ...]

    @property
    def nodes(self) -> int:
        return self.staging + self.intermediate + self.private_marts + sum(2 if p.versioned else 1 for p in self.public)


def plan(n: int) -> Plan:
    logical_public = max(2, round(n / 12))  # every 5th versioned: ~N/10 public nodes
    public = tuple(Public(f"pub_{i:05d}", i % 5 == 2) for i in range(logical_public))
    public_nodes = sum(2 if p.versioned else 1 for p in public)
    staging = max(1, round(n * 0.40))
    marts = max(public_nodes + 1, round(n * 0.25))
    intermediate = max(1, n - staging - marts)
    return Plan(staging, intermediate, marts - public_nodes, public)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _select(alias: str) -> str:
    return ",\n".join(f"    {alias}.{name}" for name, _, _ in COLUMNS)


def _column_yaml(model: str, *, typed: bool, tests: bool, extra: bool = False) -> str:
    lines = []
    for i, (name, data_type, text) in enumerate(COLUMNS + ((EXTRA_V2,) if extra else ())):
        lines.append(f'      - name: {name}\n        description: "{text.format(m=model)}"')
        if typed:
            lines.append(f"        data_type: {data_type}")
            if i == 0:
                lines.append("        constraints:\n          - type: not_null")
        if tests and i == 0:
            lines.append("        data_tests:\n          - unique\n          - not_null")
    return "\n".join(lines)


def _model_yaml(name: str, description: str, *, typed: bool = False) -> str:
    return f'  - name: {name}\n    description: "{description}"\n    columns:\n' + _column_yaml(
        name, typed=typed, tests=True
    )


def _folders(prefix: str, count: int) -> list[list[str]]:
    names = [f"{prefix}_{i:05d}" for i in range(count)]
    return [names[i : i + FOLDER_SIZE] for i in range(0, len(names), FOLDER_SIZE)]


def write_upstream(root: Path, n: int) -> Plan:
    """The upstream project in root (which must not exist yet)."""
    p = plan(n)
    rng = random.Random(SEED + n)
    _write(
        root / "dbt_project.yml",
        f"""name: {UPSTREAM}
version: "1.0.0"
config-version: 2
profile: {UPSTREAM}
model-paths: ["models"]
target-path: target
models:
  {UPSTREAM}:
    staging:
      +materialized: view
    intermediate:
      +materialized: view
    marts:
      +materialized: table
flags:
  send_anonymous_usage_stats: false
""",
    )
    _write(root / "profiles.yml", _profile(UPSTREAM))
    staged = _write_staging(root / "models" / "staging", p.staging)
    joined = _write_intermediate(root / "models" / "intermediate", p.intermediate, staged, rng)
    for f, folder in enumerate(_folders("fct", p.private_marts)):
        base = root / "models" / "marts" / f"domain_{f:03d}"
        docs = "\n".join(_model_yaml(m, f"Reporting table {m}.") for m in folder)
        _write(base / "_marts.yml", f"version: 2\nmodels:\n{docs}\n")
        for m in folder:
            _write(base / f"{m}.sql", _join_sql(rng.choice(joined), rng.choice(joined)))
    _write_public(root / "models" / "marts" / "public", p.public, joined, rng)
    return p


def _write_staging(base: Path, count: int) -> list[str]:
    """One view per raw table, renaming and casting; the raw tables are dbt sources."""
    names = []
    for f, folder in enumerate(_folders("stg", count)):
        tables = "\n".join(
            f'      - name: raw_{m[4:]}\n        description: "Raw rows loaded for {m}."' for m in folder
        )
        docs = "\n".join(_model_yaml(m, f"Cleaned and renamed raw rows of {m[4:]}.") for m in folder)
        _write(
            base / f"domain_{f:03d}" / "_staging.yml",
            f"version: 2\nsources:\n  - name: raw_{f:03d}\n    schema: raw_{f:03d}\n    tables:\n{tables}\n"
            f"models:\n{docs}\n",
        )
        for m in folder:
            _write(
                base / f"domain_{f:03d}" / f"{m}.sql",
                f"""with source as (
    select * from {{{{ source('raw_{f:03d}', 'raw_{m[4:]}') }}}}
)
select
    cast(id as integer) as id,
    cast(customer_id as integer) as customer_id,
    cast(order_id as integer) as order_id,
    cast(amount_cents as decimal(18,2)) / 100 as amount,
    lower(status) as status,
    created_at,
    updated_at,
    coalesce(is_active, true) as is_active
from source
""",
            )
        names += folder
    return names


def _write_intermediate(base: Path, count: int, staged: list[str], rng: random.Random) -> list[str]:
    """Joins of a staging model with an earlier intermediate one (or another staging one): a deep DAG."""
    done: list[str] = []
    for f, folder in enumerate(_folders("int", count)):
        docs = "\n".join(_model_yaml(m, f"Business logic joining the inputs of {m}.") for m in folder)
        _write(base / f"domain_{f:03d}" / "_intermediate.yml", f"version: 2\nmodels:\n{docs}\n")
        for m in folder:
            right = rng.choice(done) if done and rng.random() < 0.6 else rng.choice(staged)
            _write(base / f"domain_{f:03d}" / f"{m}.sql", _join_sql(rng.choice(staged), right))
            done.append(m)
    return done


def _write_public(base: Path, public: tuple[Public, ...], joined: list[str], rng: random.Random) -> None:
    """Contracted public marts; a versioned one has v1 (deprecated) and v2 (one more column, the latest)."""
    for start in range(0, len(public), FOLDER_SIZE):
        folder = base / f"domain_{start // FOLDER_SIZE:03d}"
        docs: list[str] = []
        for pub in public[start : start + FOLDER_SIZE]:
            text = f"Public interface {pub.name}: one row per order event, contracted for other projects."
            if pub is public[0]:
                text += f" {REVISION_MARKER}"
            parents = (rng.choice(joined), rng.choice(joined))
            if not pub.versioned:
                _write(folder / f"{pub.name}.sql", _join_sql(*parents))
                docs.append(_public_yaml(pub.name, text))
                continue
            _write(folder / f"{pub.name}_v1.sql", _join_sql(*parents))
            _write(folder / f"{pub.name}_v2.sql", _join_sql(*parents, extra=True))
            docs.append(
                _public_yaml(pub.name, text)
                + f"""
    latest_version: 2
    versions:
      - v: 1
        deprecation_date: 2030-06-30
      - v: 2
        columns:
          - include: all
          - name: {EXTRA_V2[0]}
            data_type: {EXTRA_V2[1]}
            description: "{EXTRA_V2[2].format(m=pub.name)}\""""
            )
        _write(folder / "_public.yml", "version: 2\nmodels:\n" + "\n".join(docs) + "\n")


def _public_yaml(name: str, description: str) -> str:
    return f"""  - name: {name}
    description: "{description}"
    config:
      access: public
      contract:
        enforced: true
    columns:
""" + _column_yaml(name, typed=True, tests=True)


def _join_sql(left: str, right: str, *, extra: bool = False) -> str:
    channel = ",\n    coalesce(r.status, 'web') as channel" if extra else ""
    return f"""with l as (
    select * from {{{{ ref('{left}') }}}}
),
r as (
    select * from {{{{ ref('{right}') }}}}
)
select
{_select("l")}{channel}
from l
left join r on l.order_id = r.order_id
"""


def _profile(name: str) -> str:
    return f"""{name}:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: {name}.duckdb
      schema: main
      threads: 1
"""


def read_tables(p: Plan) -> list[tuple[str, str, int | None]]:
    """The downstream's reads: (model, source table, pinned version), spread over the public models."""
    step = max(1, len(p.public) // READS)
    chosen = list(p.public[::step][:READS])
    reads: list[tuple[str, str, int | None]] = [(pub.name, pub.name, None) for pub in chosen]
    pinned = next((pub for pub in chosen if pub.versioned), None)
    if pinned is not None:  # one consumer pins the old version, as teams do while migrating
        reads.append((pinned.name, f"{pinned.name}_v1", 1))
    return reads


def write_downstream(root: Path, variant: str, p: Plan, registry: Path) -> None:
    """One downstream variant: 'sources' (meshkit sync writes the sources), 'loom' or 'hand'."""
    name = DOWNSTREAMS[variant]
    _write(
        root / "dbt_project.yml",
        f"""name: {name}
version: "1.0.0"
config-version: 2
profile: {name}
model-paths: ["models"]
target-path: target
models:
  {name}:
    +materialized: table
flags:
  send_anonymous_usage_stats: false
""",
    )
    _write(root / "profiles.yml", _profile(name))
    reads = read_tables(p)
    for i, (model, table, version) in enumerate(reads):
        if variant == "loom":
            pin = f", v={version}" if version else ""
            relation = f"ref('{UPSTREAM}', '{model}'{pin})"
        else:
            relation = f"source('{UPSTREAM}', '{table}')"
        _write(
            root / "models" / f"dn_{i:02d}.sql",
            f"""select
    id,
    customer_id,
    amount,
    status
from {{{{ {relation} }}}}
where is_active
""",
        )
    union = "\nunion all\n".join(
        f"select customer_id, amount from {{{{ ref('dn_{i:02d}') }}}}" for i in range(len(reads))
    )
    _write(
        root / "models" / "dn_customer_totals.sql",
        f"select customer_id, sum(amount) as amount from (\n{union}\n) group by customer_id\n",
    )
    if variant == "loom":
        _write(
            root / "dbt_loom.config.yml",
            f"""manifests:
  - name: {UPSTREAM}
    type: file
    config:
      path: {registry.resolve()}/{UPSTREAM}/prod/latest/manifest.json
""",
        )
    if variant == "hand":
        tables = []
        for model, table, version in reads:
            identifier = f"{model}_v{version}" if version else model
            cols = "\n".join(f"          - name: {c}" for c in ("id", "customer_id", "amount", "status", "is_active"))
            tables.append(f"      - name: {table}\n        identifier: {identifier}\n        columns:\n{cols}")
        _write(
            root / "models" / "_sources.yml",
            f"""version: 2
sources:
  - name: {UPSTREAM}
    database: {UPSTREAM}
    schema: main
    tables:
{chr(10).join(tables)}
""",
        )
