"""The botocore walker the aws checks use (infra/checks/botomodel.py), under the name the tests know."""

from infra.checks.botomodel import input_shape, problems, shape_of, to_api, whole  # noqa: F401
