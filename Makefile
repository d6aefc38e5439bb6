# Two entry points for a fresh machine: `make demo` and `make test`.
# Both build .venv from the pinned requirements first (again only when they change).

SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.meshkit-installed
PYTEST_WORKERS ?= 2

# The browser tests (tests/integration/test_*_browser.py) drive the mesh explorer page (Playwright for Python) and
# render the Mermaid diagrams in headless Chromium, Debian's package, with Mermaid, axe-core and elkjs (the copy
# vendored in meshkit/assets/vendor is checked against it) pinned in tests/js/package-lock.json.
JS_DIR   := tests/js
JS_STAMP := $(JS_DIR)/node_modules/.meshkit-npm-ci
SUDO     := $(if $(filter 0,$(shell id -u)),,sudo)
APT_GET  := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: demo test act lint lint-python lint-workflows lock venv clean system-deps bench bench-smoke bench-lineage docs docs-serve reference

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/demo.sh

# Debian packages the tests need, installed only when one is missing (apt-get update first):
# Chromium for the browser tests, PostgreSQL's server for the organisation scenario under act
# (tests/e2e/test_act_org.py starts its own throwaway cluster on loopback), npm for the JS pins,
# faketime for publishers whose clock is wrong (tests/integration/test_registry_hardening.py).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium fonts-dejavu-core"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	command -v faketime >/dev/null 2>&1 || missing="$$missing faketime"; \
	if [ -n "$$missing" ]; then \
		$(APT_GET) update -qq && $(APT_GET) install -y -qq --no-install-recommends $$missing; \
	else \
		echo "system packages present: chromium, postgresql, npm, faketime"; \
	fi

# Mermaid's bundle runs in the browser, so node's version does not matter (npm only warns about
# mermaid's engines field). PUPPETEER_SKIP_DOWNLOAD keeps any transitive puppeteer from fetching
# a browser: the only browser is the apt one.
$(JS_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json | system-deps
	cd $(JS_DIR) && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --engine-strict=false
	touch $@

# --dist loadfile keeps each test file on one worker, in order: the act scenarios build on each
# other, and one worker takes them while the other works through the rest of the suite.
test: $(STAMP) system-deps $(JS_STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Only the workflows under act (host mode, no Docker); also part of `make test`.
act: $(STAMP) system-deps $(JS_STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m act $(PYTEST_ARGS)

# The benchmark (bench/README.md): generates dbt projects of each N models, parses them once (cached in
# bench/.cache, keyed by N and the generator's hash), times every meshkit command as a whole process
# against its floor in the same run, counts files read and S3 requests, and writes bench/RESULTS.md and
# bench/results.json. 20k models take a while: the first run parses them with dbt. BENCH_ARGS adds options,
# e.g. BENCH_ARGS="--meshkit-rev HEAD" times meshkit as committed while others edit the work tree.
BENCH_MODELS ?= 1000,5000,20000
BENCH_REPEAT ?= 3
BENCH_ARGS   ?=
bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py --models $(BENCH_MODELS) --repeat $(BENCH_REPEAT) $(BENCH_ARGS)

# Column lineage's cost (bench/lineage.py): a 2,000-model downstream built by dbt build, the recording and the
# check at 20k models; writes its section of bench/RESULTS.md.
bench-lineage: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/lineage.py $(BENCH_ARGS)

# The bench at a small N, one run each, into a temporary folder: what CI runs (also part of `make test`).
bench-smoke: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest tests/e2e/test_bench_smoke.py $(PYTEST_ARGS)

# The documentation site (mkdocs.yml, docs/, mkdocs-material): `make docs` checks that the generated reference
# pages are current, then builds with --strict (a broken link or anchor fails) into site/; .github/workflows/docs.yml
# runs it and deploys site/ to GitHub Pages from main. `make reference` rewrites docs/reference/ from the code
# (scripts/gen_reference.py). tests/integration/test_docs.py runs the same build and every example of the docs
# inside `make test`. NO_MKDOCS_2_WARNING silences mkdocs-material's banner about MkDocs 2.0.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs
docs: $(STAMP)
	$(BIN)/python scripts/gen_reference.py --check
	$(MKDOCS) build --strict

docs-serve: $(STAMP)
	$(MKDOCS) serve --strict --dev-addr 127.0.0.1:8000

reference: $(STAMP)
	$(BIN)/python scripts/gen_reference.py

# The workflows and composite actions: zizmor (offline, default persona, config in
# .github/zizmor.yml), actionlint and shellcheck (the actions' scripts) must report nothing.
# tests/unit/test_workflows_static.py runs the same commands inside `make test`.
SHELL_SCRIPTS := $(wildcard .github/actions/*.sh .github/actions/*/*.sh scripts/*.sh)
lint: lint-python lint-workflows

# ruff (lint and format, settings in pyproject.toml) over everything, mypy --strict over the package.
# tests/unit/test_lint.py runs the same commands inside `make test`.
lint-python: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lint-workflows: $(STAMP)
	$(BIN)/zizmor --offline .github
	$(BIN)/actionlint
	$(BIN)/shellcheck -P SCRIPTDIR -x $(SHELL_SCRIPTS)

# requirements-meshkit.txt: meshkit[s3,gcs,azure]'s runtime (every registry), hash-locked, at the versions requirements.txt pins;
# requirements-uv.txt: the uv that requirements-dev.txt pins, with the hash of every platform's wheel (the setup action's installer)
# (needs PyPI). The demo's requirements.txt and requirements-dev.txt are edited by hand.
lock: $(STAMP)
	{ printf '%s\n' "# meshkit's own runtime, hash-locked: what the setup action installs into meshkit's private" \
	    "# virtualenv (uv pip install --require-hashes --no-deps). No dbt here: the caller's dbt stack is" \
	    "# installed from its own file. Regenerate with 'make lock' (same versions as requirements.txt)."; \
	  $(BIN)/uv pip compile pyproject.toml --extra s3 --extra gcs --extra azure --constraint requirements.txt --generate-hashes \
	    --universal --python-version 3.11 --no-header --quiet; } > requirements-meshkit.txt.tmp
	mv requirements-meshkit.txt.tmp requirements-meshkit.txt
	{ printf '%s\n' "# uv, hash-locked: the installer the setup action uses to build meshkit's virtualenv and the dbt stack's" \
	    "# (pip install --require-hashes --no-deps --only-binary :all:, every platform's wheel). Regenerate with 'make lock'."; \
	  grep -E '^uv==' requirements-dev.txt | cut -d' ' -f1 | \
	    $(BIN)/uv pip compile - --generate-hashes --universal --no-header --no-annotate --quiet; } > requirements-uv.txt.tmp
	mv requirements-uv.txt.tmp requirements-uv.txt

clean:
	rm -rf registry dbt_*/target dbt_*/logs dbt_*/*.duckdb dbt_*/*.duckdb.wal
