# The two commands: `make plan` (offline plan of a stack, STACK=local by default; CHECK=1 adds the
# policy, API-model and secret-leak checks) and `make test`.
# Both create .venv and install what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= local
REQUIREMENTS := requirements.txt requirements-dev.txt $(wildcard app/requirements.txt app/requirements-dev.txt)

CHECKOV_VENV := .venv-checkov

.PHONY: plan test app bench clean

$(VENV)/.installed: $(REQUIREMENTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(addprefix -r ,$(REQUIREMENTS))
	touch $@

# checkov pins an old botocore: its own virtualenv, which the checkov tests run when present.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

plan: $(VENV)/.installed
	$(PY) -m infra plan --stack $(STACK)$(if $(CHECK), --check) $(PLAN_ARGS)

test: $(VENV)/.installed $(CHECKOV_VENV)/.installed
	@if [ -x tools/services.sh ]; then tools/services.sh start; fi
	$(PY) -m pytest

app: $(VENV)/.installed
	$(PY) -m app serve

bench: $(VENV)/.installed
	$(PY) bench/plan.py
	@if [ -x tools/services.sh ]; then tools/services.sh start; fi
	$(PY) bench/app.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache build
