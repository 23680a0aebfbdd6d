"""The documentation site's sources agree with the code: the reference documents every public
name, and the version appears in one place only (``agora_recording.__version__``)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import agora_recording

from tests.test_docstrings import PUBLIC_MODULES, public_names

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"


def documented() -> set[str]:
    """What the reference pages render: the targets of their ``::: name`` directives."""
    found: set[str] = set()
    for page in REFERENCE.glob("*.md"):
        found |= set(re.findall(r"^::: ([\w.]+)$", page.read_text(encoding="utf-8"), re.M))
    return found


def test_the_reference_renders_every_public_name() -> None:
    """Each public name of the package (and each public module) has a place in the API
    reference, either as its own entry or through its module's page."""
    targets = documented()
    missing = []
    for module_name in PUBLIC_MODULES:
        if module_name == "agora_recording":
            missing += [
                name
                for name in public_names(agora_recording)
                if f"agora_recording.{name}" not in targets
                and getattr(getattr(agora_recording, name), "__module__", None) not in targets
            ]
        elif module_name not in targets:
            missing.append(module_name)
    assert missing == []


def test_the_reference_names_nothing_private() -> None:
    """No reference entry points at an internal module or name (they are not promised)."""
    assert [t for t in documented() if any(p.startswith("_") for p in t.split("."))] == []


def test_the_site_reads_the_version_from_the_package() -> None:
    """The MkDocs hook that prints the version reads ``agora_recording.__version__``."""
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    assert hooks.package_version() == agora_recording.__version__
    assert (
        hooks.on_page_markdown("version {{ version }}") == f"version {agora_recording.__version__}"
    )


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def test_the_changelog_agrees_with_the_version() -> None:
    """CHANGELOG.md opens with "Unreleased" or with the package's version, and names no version
    newer than the package's: a release renames the section and bumps ``__version__`` together."""
    headings = re.findall(
        r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M
    )
    assert headings, "CHANGELOG.md has no version sections"
    version = agora_recording.__version__
    assert headings[0] in ("Unreleased", version)
    released = [h for h in headings if h != "Unreleased"]
    assert all(version_tuple(h) <= version_tuple(version) for h in released)
    assert released == sorted(released, key=version_tuple, reverse=True)


def test_the_docs_never_restate_the_version() -> None:
    """Pages say ``{{ version }}``; the version's digits appear in no page, so it cannot go
    stale there."""
    version = agora_recording.__version__
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    assert [p.name for p in pages if version in p.read_text(encoding="utf-8")] == []
