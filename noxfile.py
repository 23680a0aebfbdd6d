"""Developer tasks: tests on every supported Python, lint, type check, docs and benchmarks."""

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite under asyncio and Trio, then the slow real-process tests."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-n", "auto", *session.posargs)
    session.run("python", "-m", "pytest", "-m", "slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff."""
    session.install("ruff>=0.6")
    paths = ["agora_recording", "tests", "benchmarks", "examples", "docs/hooks.py", "noxfile.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


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


# Material for MkDocs prints a banner about its successor on every run; it is no warning of ours.
DOCS_ENV = {"NO_MKDOCS_2_WARNING": "1"}


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ in strict mode: any warning fails the build."""
    session.install("-e", ".[docs]")
    session.run("python", "-m", "mkdocs", "build", "--strict", *session.posargs, env=DOCS_ENV)


@nox.session(name="docs-serve")
def docs_serve(session: nox.Session) -> None:
    """Serve the documentation at http://127.0.0.1:8000, rebuilt on every change."""
    session.install("-e", ".[docs]")
    session.run("python", "-m", "mkdocs", "serve", *session.posargs, env=DOCS_ENV)
