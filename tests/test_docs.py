"""The README keeps its promises: CI runs its test command verbatim, and every
field of the JSON contract and every command is documented."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest
from conftest import ROOT

from recommender.cli import cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```sh")[1:]]
    block = next(b for b in blocks if "# 1." in b and "# 2." in b)  # the two commands, not the prerequisites
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_ci_runs_the_readme_test_command_verbatim():
    install_and_run, install_and_test = _quick_start()
    assert "stretchwise recommend examples/" in install_and_run
    assert install_and_test.endswith("pytest")
    assert install_and_test in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _fields(schema: dict, prefix: str = "") -> set[str]:
    names = set()
    for name, sub in schema.get("properties", {}).items():
        names.add(name)
        names |= _fields(sub, f"{prefix}{name}.")
    for key in ("oneOf", "anyOf"):
        for option in schema.get(key, []):
            names |= _fields(option, prefix)
    if "items" in schema:
        names |= _fields(schema["items"], prefix)
    return names


def test_every_field_of_the_json_contract_is_in_the_readme():
    schema = json.loads(resources.files("recommender").joinpath("schemas", "recommendation.schema.json").read_text())
    fields = _fields(schema)
    for node in schema["$defs"]["node"]["oneOf"]:  # a rule's node, an answer leaf, a clinician's addition
        fields |= _fields(node)
    missing = sorted(f for f in fields if not re.search(rf"`[^`]*\b{re.escape(f)}\b[^`]*`", README))
    assert missing == []


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_in_the_readme_and_has_help(runner, command):
    assert f"`{command}" in README
    result = runner.invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and f"stretchwise {command}" in result.stdout  # an example
