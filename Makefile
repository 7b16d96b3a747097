# One-command setup, demo and tests on a fresh Debian/Ubuntu machine (see README.md).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fonts-hanazono poppler-utils chromium python3-venv gettext
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: setup demo test test-postgres test-integration lint check clean api-check prod-local prod-local-stop prod-local-status

setup: $(STAMP)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is needed ($(PY) not found)"; exit 1; }
	@[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	@rm -f $(VENV)/.installed-*; touch $@

# The links in e-mails and the certificates' QR codes point at this demo's own port unless PUBLIC_BASE_URL says otherwise.
demo: export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
demo: setup
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py import_divisions
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py open_demo_batches
	$(BIN)/python manage.py make_demo_keys
	$(BIN)/python manage.py seed_demo_applications
	@echo "Starting the web server on http://127.0.0.1:$(PORT)/ and a Celery worker (embedded broker). Ctrl-C stops both."
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/celery -A config worker -B -l warning --concurrency 2 & \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT) --noreload; wait

# The production topology on this machine (docs/scaling.md): WEB gunicorn processes, WORKERS Celery workers,
# one beat, config.settings.production, against DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).
prod-local: setup
	WEB=$${WEB:-4} WORKERS=$${WORKERS:-2} PORT=$(PORT) scripts/prod_local.sh start

prod-local-stop:
	scripts/prod_local.sh stop

prod-local-status:
	scripts/prod_local.sh status

test: setup
	$(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

test-postgres: setup
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

test-integration: setup
	$(BIN)/pytest -m integration $(PYTEST_ARGS)

# The API against a live server on scratch data: the docs/api.md quick start, then schemathesis as three roles.
api-check: setup
	scripts/api_check.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

check: setup
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	@# Production requires every service and the audit signing key (README); check --deploy connects to none.
	key=$$(mktemp) && trap 'rm -f $$key' EXIT && openssl genpkey -algorithm ed25519 -out $$key && \
	DJANGO_SECRET_KEY=ci-only-$$(head -c 64 /dev/urandom | base64 | tr -dc a-zA-Z0-9) DJANGO_ALLOWED_HOSTS=kexie.example \
	  DATABASE_URL=postgres://kexie@db.kexie.example:5432/kexie CELERY_BROKER_URL=redis://redis.kexie.example:6379/0 \
	  PUBLIC_BASE_URL=https://kexie.example AUDIT_SIGNING_KEY_FILE=$$key SIGNING_KEY_PASSPHRASE=ci-only \
	  DJANGO_SETTINGS_MODULE=config.settings.production $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var test-artifacts
