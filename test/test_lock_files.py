"""The lock files (ADR 0030): every requirement of pyproject.toml (and of the client's) is
pinned, to a version its range admits, with hashes; the two locks agree where they overlap;
and the venv the tests run in holds exactly what the dev lock pins."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
RUN_LOCK = ROOT / "requirements" / "run.lock"
DEV_LOCK = ROOT / "requirements" / "dev.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def pins(lock: Path) -> dict[str, tuple[Version, int]]:
    """Each pinned distribution: its version and how many hashes it carries."""
    found: dict[str, tuple[Version, int]] = {}
    current = None
    for line in lock.read_text().splitlines():
        pinned = _PIN.match(line)
        if pinned:
            current = canonicalize_name(pinned.group(1))
            found[current] = (Version(pinned.group(2)), 0)
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
    return found


def project(path: Path) -> dict[str, object]:
    project: dict[str, object] = tomllib.loads(path.read_text())["project"]
    return project


def requirements(*extras: str) -> list[Requirement]:
    service = project(ROOT / "pyproject.toml")
    listed = list(service["dependencies"])  # type: ignore[call-overload]
    optional: dict[str, list[str]] = service["optional-dependencies"]  # type: ignore[assignment]
    for extra in extras:
        listed += optional[extra]
    if extras:
        listed += project(ROOT / "client" / "pyproject.toml")["dependencies"]
    return [Requirement(text) for text in listed]


@pytest.mark.parametrize(
    ("lock", "extras"),
    [pytest.param(RUN_LOCK, (), id="run"), pytest.param(DEV_LOCK, ("dev",), id="dev")],
)
def test_every_requirement_is_pinned_within_its_range_with_hashes(
    lock: Path, extras: tuple[str, ...]
) -> None:
    pinned = pins(lock)

    for requirement in requirements(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not pinned in {lock.name}; run `make lock`"
        version, _ = pinned[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock.name} pins {name}=={version}, outside {requirement}; run `make lock`"
        )
    unhashed = [name for name, (_, hashes) in pinned.items() if hashes == 0]
    assert not unhashed


def test_the_locks_pin_one_version_of_what_both_hold() -> None:
    run, dev = pins(RUN_LOCK), pins(DEV_LOCK)

    assert set(run) <= set(dev)
    assert {name: run[name][0] for name in run} == {name: dev[name][0] for name in run}


def test_the_venv_holds_what_the_dev_lock_pins() -> None:
    """`make test` installs the dev lock: a venv that drifted from it (an old stamp, a
    hand-installed upgrade) is not the one CI tests."""
    installed: dict[str, Version] = {
        canonicalize_name(dist.metadata["Name"]): Version(dist.version)
        for dist in metadata.distributions()
    }

    drifted = {
        name: (str(version), str(installed.get(name)))
        for name, (version, _) in pins(DEV_LOCK).items()
        if installed.get(name) != version
    }
    assert not drifted, f"installed differs from {DEV_LOCK.name} (pinned, installed): {drifted}"
