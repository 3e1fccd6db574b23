# The two commands: `make plan` (offline plan of a stack, STACK=local by default; CHECK=1 adds the
# policy, API-model and secret-leak checks) and `make test`.
# Both create .venv and install what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= local
REQUIREMENTS := requirements.txt requirements-dev.txt $(wildcard app/requirements.txt app/requirements-dev.txt)

.PHONY: plan test app bench clean

$(VENV)/.installed: $(REQUIREMENTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(addprefix -r ,$(REQUIREMENTS))
	touch $@

plan: $(VENV)/.installed
	$(PY) -m infra plan --stack $(STACK)$(if $(CHECK), --check) $(PLAN_ARGS)

test: $(VENV)/.installed
	@if [ -x tools/services.sh ]; then tools/services.sh start; fi
	$(PY) -m pytest

app: $(VENV)/.installed
	$(PY) -m app serve

bench: $(VENV)/.installed
	$(PY) bench/plan.py
	@if [ -x tools/services.sh ]; then tools/services.sh start; fi
	$(PY) bench/app.py

clean:
	rm -rf $(VENV) .pytest_cache build
