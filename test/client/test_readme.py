"""The root README's client examples run as written against a real server, so they cannot
rot: each fenced block after a `<!-- client-example: name -->` marker is run by the
project's Python with only the server's address changed."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from test.e2e.server import RunningServer

README = Path(__file__).parents[2] / "README.md"
MAKE_RUN_URL = "http://127.0.0.1:8000"
_EXAMPLE = re.compile(
    r"<!-- client-example: (?P<name>[\w-]+) -->\n```python\n(?P<code>.*?)```", re.S
)
EXPECTED_OUTPUT = {
    "sync": [
        "412 precondition_failed",
        "appended as revision 3",
        "3 append",
        "0 create 0",
        "restored as revision 4",
        "bytes 0-13/37 b'train,departs\\n'",
        "Übersicht.png",
        "manifest.json",
    ],
    "async": ["b'streamed as it is made\\n'"],
}


def examples() -> dict[str, str]:
    return {match["name"]: match["code"] for match in _EXAMPLE.finditer(README.read_text())}


def test_the_readme_has_the_client_examples() -> None:
    assert set(examples()) == set(EXPECTED_OUTPUT)
    assert all(MAKE_RUN_URL in code for code in examples().values())


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUT))
def test_a_readme_example_runs_against_a_real_server(
    name: str, small_server: RunningServer, tmp_path: Path
) -> None:
    code = examples()[name].replace(MAKE_RUN_URL, small_server.base_url)

    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    for line in EXPECTED_OUTPUT[name]:
        assert line in run.stdout
