"""What the bench needs besides the project: nginx and wrk from Debian, and two venvs.

Each step is skipped when its result is already there, so a second run costs nothing:
- nginx (with the WebDAV module, `nginx-light`), wrk and zip, from apt, only when missing;
- `bench/.venv-jupyter`: jupyter_server from PyPI, alone in its own venv;
- `bench/.venv-tools`: matplotlib (the plot) and py-spy (profiles).
"""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
JUPYTER_VENV = BENCH / ".venv-jupyter"
TOOLS_VENV = BENCH / ".venv-tools"
JUPYTER_REQUIREMENTS = ("jupyter_server>=2.14,<3",)
TOOLS_REQUIREMENTS = ("matplotlib>=3.8", "py-spy>=0.4")
APT_PACKAGES = {
    "nginx": "nginx-light",
    "wrk": "wrk",
    "curl": "curl",
    "taskset": "util-linux",
    "zip": "zip",  # E1's peer, `zip -0 -r`
}


@dataclass(frozen=True)
class Installed:
    jupyter_bin: Path
    tools_python: Path
    py_spy: Path


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _ensure_apt_packages() -> None:
    missing = sorted({package for tool, package in APT_PACKAGES.items() if not shutil.which(tool)})
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(
            f"bench: needs {', '.join(missing)}: run `apt-get install {' '.join(missing)}`"
        )
    _say(f"installing {', '.join(missing)} from Debian's packages")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def _ensure_venv(venv: Path, requirements: tuple[str, ...]) -> None:
    stamp = venv / ".bench-installed"
    wanted = "\n".join(requirements)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    _say(f"installing {', '.join(requirements)} into {venv.relative_to(BENCH.parent)}")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", venv], check=True)
    pip: list[str | Path] = [
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    done = subprocess.run([*pip, *requirements], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: pip failed:\n{done.stdout}{done.stderr}")
    stamp.write_text(wanted)


def ensure_installed() -> Installed:
    _ensure_apt_packages()
    _ensure_venv(JUPYTER_VENV, JUPYTER_REQUIREMENTS)
    _ensure_venv(TOOLS_VENV, TOOLS_REQUIREMENTS)
    return Installed(
        jupyter_bin=JUPYTER_VENV / "bin" / "jupyter",
        tools_python=TOOLS_VENV / "bin" / "python",
        py_spy=TOOLS_VENV / "bin" / "py-spy",
    )
