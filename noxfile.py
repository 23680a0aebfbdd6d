"""Developer tasks: tests on every supported Python, lint, type check and benchmarks."""

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck"]

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite under asyncio and Trio."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "agora_recording", "tests", "benchmarks", "examples", "noxfile.py")
    session.run(
        "ruff",
        "format",
        "--check",
        "agora_recording",
        "tests",
        "benchmarks",
        "examples",
        "noxfile.py",
    )


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the library, its tests and benchmarks with mypy --strict."""
    session.install("-e", ".[lint,benchmarks]")
    session.run("mypy", "--strict")


@nox.session
def benchmarks(session: nox.Session) -> None:
    """Run every benchmark side by side and rewrite benchmarks/README.md's results table."""
    session.install("-e", ".[benchmarks]")
    session.run("python", "-m", "benchmarks", *session.posargs)
