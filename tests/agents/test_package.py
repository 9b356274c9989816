"""The agent installs alone: its own wheel, into an environment without Django."""

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What the agent needs and nothing more; linked into the bare environment below.
NEEDED = ("ldap3", "pyasn1", "cryptography", "cffi", "_cffi_backend", "pycparser")


def _run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(  # our own command lines
        command, capture_output=True, text=True, timeout=300, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no pip, no Django) with the agent's wheel installed in it."""
    folder = tmp_path_factory.mktemp("agent-package")
    built = _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(folder / "dist"),
        str(ROOT / "agent"),
    )
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next((folder / "dist").glob("opensspr_agent-*.whl"))
    venv = folder / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = Path(
        _run(
            str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"
        ).stdout.strip()
    )
    here = Path(sysconfig.get_path("purelib"))
    for name in NEEDED:  # the dependencies, from this environment, one by one
        for found in list(here.glob(name)) + list(here.glob(f"{name}*.so")):
            (purelib / found.name).symlink_to(found)
    done = _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--no-deps",
        "--no-index",
        str(wheel),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


def test_the_wheel_holds_the_agent_and_the_shared_connectors_only(installed):
    listing = _run(
        str(installed / "bin" / "python"),
        "-c",
        "import importlib.metadata as m;"
        "print('\\n'.join(str(f) for f in m.files('opensspr-agent')))",
    ).stdout.split()
    assert "opensspr_agent/runner.py" in listing
    assert "opensspr/directory/ldap/openldap.py" in listing
    assert "opensspr/directory/sealing.py" in listing
    assert not [f for f in listing if f.startswith(("opensspr/agents/", "opensspr/config/"))]
    assert not [f for f in listing if f.endswith(("models.py", "views.py"))]


def test_the_installed_agent_runs_without_django(installed):
    command = installed / "bin" / "opensspr-agent"
    version = _run(str(command), "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "0.1.0"
    check = _run(
        str(installed / "bin" / "python"),
        "-c",
        "import sys, opensspr_agent.cli, opensspr_agent.runner;"
        "import importlib.util as u; sys.exit(0 if u.find_spec('django') is None else 1)",
    )
    assert check.returncode == 0, check.stdout + check.stderr
    bad = _run(str(command), "run", "--config", "/nonexistent/agent.toml")
    assert bad.returncode == 2
    assert "configuration:" in bad.stderr


def test_the_agent_and_the_server_carry_one_version():
    import opensspr
    import opensspr_agent

    project = (ROOT / "agent" / "pyproject.toml").read_text()
    assert f'version = "{opensspr_agent.__version__}"' in project
    assert opensspr_agent.__version__ == opensspr.__version__
