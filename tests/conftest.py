import pytest

from infra import mocks


@pytest.fixture(scope="session")
def local():
    """The shipped `local` stack, run once under mocks."""
    return mocks.run_stack("local")


def base_config(**overrides):
    """A minimal valid docker stack config, with `berth:` keys overridden or removed (value None)."""
    return _override({"berth:target": "docker", "berth:tier": "dev"}, overrides)


def _override(config, overrides):
    for key, value in overrides.items():
        full = key if ":" in key else f"berth:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    return config


def shipped_config(stack, **overrides):
    """A shipped stack's config with `berth:` keys (or full `ns:key` keys) overridden or removed (None)."""
    import copy
    return _override(copy.deepcopy(mocks.read_stack_config(stack)), overrides)


def refused(stack, config):
    """Run the program expecting a ConfigError; return its problems and what got declared."""
    from infra.errors import ConfigError
    from infra.program import main
    caught = []

    def program():
        try:
            main()
        except ConfigError as exc:
            caught.append(exc)

    run = mocks.run_program(stack, config, program)
    assert caught, "the config was accepted"
    return caught[0].problems, run.records


def assert_refused_at(stack, cfg, path, expected):
    """The config is refused with a Problem at `path` whose expectation says `expected`, and
    nothing is declared."""
    problems, records = refused(stack, cfg)
    assert records == []
    matching = [p for p in problems if p.path == path]
    assert matching, [str(p) for p in problems]
    assert expected in matching[0].expected, str(matching[0])
