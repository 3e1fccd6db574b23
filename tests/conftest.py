import pytest

from infra import mocks


@pytest.fixture(scope="session")
def local():
    """The shipped `local` stack, run once under mocks."""
    return mocks.run_stack("local")


def base_config(**overrides):
    """A minimal valid docker stack config, with `berth:` keys overridden or removed (value None)."""
    config = {"berth:target": "docker", "berth:tier": "dev"}
    for key, value in overrides.items():
        full = key if ":" in key else f"berth:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    return config
