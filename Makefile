# Two commands run everything on a fresh machine (Python 3.11, Debian):
#   make run    set up .venv and start the app on http://localhost:7860
#   make test   set up .venv (+ Debian chromium) and run the whole test suite
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: run test lint format train decision-record bench bench-monitoring image image-measure image-lock deploy-dry-run docs-assets browser java spark-demo lock clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q --no-deps -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -q -c requirements.txt -r requirements-dev.txt
	touch $@

# A laptop's demo: open (announced in the log) unless API_TOKEN is set; a container or Space refuses that.
run: $(VENV)/.runtime
	OPEN_DEMO=$${OPEN_DEMO:-1} $(PY) app.py

# Debian's chromium for the browser tests (Playwright must not download its own).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }

# Java 17 for PySpark (the batch job's Spark engine, docs/batch.md).
java:
	@command -v java >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null; }

# The batch job on 50,000 generated applications, in Spark local mode (INPUT/OUTPUT to use your own files).
INPUT ?= /tmp/applications.parquet
OUTPUT ?= /tmp/scored
spark-demo: $(VENV)/.dev java
	test -e $(INPUT) || $(PY) -c "from scoring.synth.generate import production_stream as p; p(50_000, seed=1).to_parquet('$(INPUT)')"
	$(PY) -m scoring.batch --input $(INPUT) --output $(OUTPUT) --engine spark --master 'local[2]'

test: $(VENV)/.dev browser java
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

train: $(VENV)/.dev
	$(PY) -m scoring.train

# docs/examples/decision-record.md, written by running the promotion gate (docs/model-lifecycle.md)
decision-record: $(VENV)/.dev
	$(PY) -m scripts.example_decision_record

# wrk (Debian) drives the concurrency-16 throughput run: a C load generator leaves the 2 cores to the server.
bench: $(VENV)/.dev
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; } || echo "wrk unavailable: the throughput section will be skipped"
	$(PY) -m benchmarks.run $(BENCH_ARGS)
	$(MAKE) --no-print-directory bench-monitoring

# Monitoring at scale: MONITORING_ROWS logged rows (1M by default; ~350 MB in a temp folder), analysis time,
# the worker's peak RSS, scoring p99 during the analysis. MONITORING_ROWS=100000 for a quick look.
MONITORING_ROWS ?= 1000000
bench-monitoring: $(VENV)/.dev
	$(PY) -m benchmarks.bench_monitoring --rows $(MONITORING_ROWS) --skip-in-process

# Build the image and smoke-test the running container (rootful podman, see scripts/container_check.sh).
image:
	scripts/container_check.sh

image-measure:
	scripts/container_check.sh --measure

deploy-dry-run: $(VENV)/.dev
	$(PY) scripts/deploy_space.py --dry-run

# Screenshots (docs/img) and notebook outputs regenerated from the committed model, the service running
# against the stand-in Hub and the simulator (scripts/docs_assets.py). A few minutes; commit the result.
docs-assets: $(VENV)/.dev browser
	$(PY) scripts/docs_assets.py

# requirements-image.txt (the image's lock) follows requirements.txt: run after `make lock`.
image-lock: $(VENV)/.dev
	$(PY) scripts/image_lock.py

lock:
	rm -rf /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-venv
	/tmp/lock-venv/bin/pip install -q -r requirements.in
	/tmp/lock-venv/bin/pip install -q --no-deps nannyml==0.13.1
	@echo "now replace the pins of requirements.txt with: /tmp/lock-venv/bin/pip freeze, then: make image-lock"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mlruns mlflow.db
