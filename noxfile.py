"""Developer and CI sessions. `nox -s tests` is the one test command (README)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
# Sessions use the Python that runs nox (the project needs >= 3.11), so a fresh machine with any
# supported Python runs the README's commands without a specific `python3.11` on PATH.


CONSTRAINTS = "constraints.txt"  # the lock: tests, CI and the image resolve the same versions


def _install(session: nox.Session, *extras: str) -> None:
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("--constraint", CONSTRAINTS, "-e", spec)


@nox.session
def tests(session: nox.Session) -> None:
    """Every test: unit, then integration against the real Postgres, MariaDB, Redis, sandbox."""
    _install(session, "test")
    session.run("pytest", "-q", "tests", "--ignore=tests/browser", *session.posargs)


@nox.session
def reliability(session: nox.Session) -> None:
    """The service as deployed under races, faults and hostile input (tests/reliability, left
    out of `tests`); a full run rewrites docs/reliability.md with what it measured."""
    _install(session, "test")
    report = [] if session.posargs else ["--reliability-report", "docs/reliability.md"]
    session.run("pytest", "-q", "tests/reliability", *report, *session.posargs)


@nox.session
def unit(session: nox.Session) -> None:
    _install(session, "test")
    session.run("pytest", "-q", "tests/unit", *session.posargs)


@nox.session
def integration(session: nox.Session) -> None:
    _install(session, "test")
    session.run("pytest", "-q", "tests/integration", *session.posargs)


@nox.session
def browser(session: nox.Session) -> None:
    """The console in a real browser: Debian's Chromium (installed with apt when missing;
    Playwright never downloads a browser here) driven by Playwright against the demo stack."""
    if not shutil.which("chromium"):
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "chromium", external=True)
    _install(session, "test", "browser")
    session.run("pytest", "-q", "tests/browser", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict on src, and the import-linter contracts (the dependency rule)."""
    _install(session, "lint", "test")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("mypy", "src")
    session.run("lint-imports")


@nox.session
def deploy(session: nox.Session) -> None:
    """Deployment files: the tests that parse them against the code, plus the Kubernetes schemas
    (kubernetes-validate), the Compose Specification (check-jsonschema's copy), the ECS API model
    (botocore, from `aws`) and promtool (Debian's `prometheus` package, unpacked into the
    session, never installed as a service)."""
    _install(session, "test", "aws")
    session.install("kubernetes-validate>=1.30", "check-jsonschema>=0.29")  # k8s, compose-spec
    env = {}
    promtool = _promtool(session)
    if promtool:
        env["PROMTOOL"] = promtool
    else:
        session.warn("promtool unavailable: the alert-rule checks will be skipped")
    session.run(
        "pytest",
        "-q",
        "-rs",  # name every skip and its reason
        "tests/unit/test_deploy_files.py",
        "tests/unit/test_deploy_ecs.py",
        "tests/unit/test_deploy_monitoring.py",
        *session.posargs,
        env=env,
    )


def _promtool(session: nox.Session) -> str | None:
    """promtool on PATH, or Debian's prometheus .deb unpacked under the session's tmp dir."""
    if found := shutil.which("promtool"):
        return found
    target = Path(session.create_tmp()) / "prometheus"
    binary = target / "usr" / "bin" / "promtool"
    if binary.exists():
        return str(binary)
    apt, dpkg = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if apt is None or dpkg is None:
        return None
    target.mkdir(parents=True, exist_ok=True)

    def download() -> bool:
        fetched = subprocess.run(  # noqa: S603 (fixed arguments)
            [apt, "download", "-qq", "prometheus"], cwd=target, capture_output=True, check=False
        )
        return fetched.returncode == 0

    if not download():  # empty package lists on a fresh machine
        subprocess.run([apt, "update", "-qq"], capture_output=True, check=False)  # noqa: S603
        if not download():
            return None
    deb = sorted(target.glob("prometheus_*.deb"))[-1]
    subprocess.run([dpkg, "-x", str(deb), str(target)], check=True)  # noqa: S603
    return str(binary) if binary.exists() else None


@nox.session
def demo(session: nox.Session) -> None:
    """The service on its embedded default: API + worker + CardTrader sandbox, in memory."""
    _install(session, "server")
    session.run("brx-sync", "demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks (speed targets live here, never in unit tests). `-- NAME` runs one."""
    _install(session, "test")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def schemathesis(session: nox.Session) -> None:
    """Property-based fuzzing of the HTTP API from its own OpenAPI document: no 5xx."""
    _install(session, "test")
    session.run("pytest", "-q", "tests/fuzz", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Regenerate constraints.txt (every extra) after a dependency changes in pyproject.toml;
    existing pins are kept, `nox -s lock -- --upgrade` moves everything to the newest."""
    session.install("pip-tools>=7.4")
    session.run(
        "pip-compile",
        "--quiet",
        "--all-extras",
        "--strip-extras",  # constraints files take no extras
        "--unsafe-package=brx-sync",  # the project's own self-referencing extras
        "--no-emit-index-url",
        "--no-emit-find-links",
        "--no-emit-trusted-host",
        f"--output-file={CONSTRAINTS}",
        *session.posargs,
        "pyproject.toml",
        env={"CUSTOM_COMPILE_COMMAND": "nox -s lock"},
    )
