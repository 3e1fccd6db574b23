"""`python -m infra schema`: the committed schema is the generated one, shipped stacks pass it, and
it catches what an editor should underline."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
import yaml

from infra import mocks
from infra.config import ROOT
from infra.schema import SCHEMA_FILE, schema


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft202012Validator(schema())


def test_committed_schema_is_the_generated_one() -> None:
    result = subprocess.run([sys.executable, "-m", "infra", "schema"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads((ROOT / SCHEMA_FILE).read_text()), \
        f"regenerate it: python -m infra schema --output {SCHEMA_FILE}"
    jsonschema.Draft202012Validator.check_schema(json.loads(result.stdout))


@pytest.mark.parametrize("stack", mocks.shipped_stacks())
def test_shipped_stack_files_pass(validator, stack: str) -> None:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    assert [e.message for e in validator.iter_errors(document)] == []


@pytest.mark.parametrize("key, value, words", [
    ("berth:databse", {"backup_days": 7}, "berth:databse"),
    ("berth:database", {"backup_days": "a week"}, "a week"),
    ("berth:database", {"backup_days": 99}, "99"),
    ("berth:database", {"engine": "mysql"}, "engine"),
    ("berth:services", {"API": {"kind": "web"}}, "API"),
    ("berth:services", {"api": {"cpu": 1}}, "kind"),
    ("berth:target", "azure", "azure"),
    ("berth:OPENAI_API_KEY", "sk-plain-text", "sk-plain-text"),
    ("berth:aws", {"nat_gateways": "two"}, "two"),
    ("berth:docker", {"host_port": 80}, "80"),
])
def test_schema_flags_what_config_validation_refuses(validator, key: str, value, words: str) -> None:
    document = {"config": {"berth:target": "aws", "berth:tier": "prod", key: value}}
    errors = [e.message for e in validator.iter_errors(document)]
    assert errors and any(words in e for e in errors), errors


def test_schema_leaves_other_namespaces_and_secure_values_alone(validator) -> None:
    document = {"config": {"berth:target": "docker", "berth:tier": "dev", "aws:region": "eu-west-1",
                           "pulumi:tags": {"team": "x"}, "berth:secrets": ["OPENAI_API_KEY"],
                           "berth:OPENAI_API_KEY": {"secure": "AAAB"},
                           "berth:services": {"api": {"kind": "web", "scaling": {"max": 3}}}}}
    assert [e.message for e in validator.iter_errors(document)] == []
