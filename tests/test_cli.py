"""The command line, through CliRunner, and once as the installed script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES

from recommender.cli import cli
from recommender.cli.options import FORMATS
from recommender.render import RENDERERS

DESK = str(EXAMPLES / "desk-worker.yaml")


def test_formats_are_the_renderer_registry():
    assert set(FORMATS) == set(RENDERERS)


def test_recommend_text_is_the_default(runner):
    result = runner.invoke(cli, ["recommend", DESK])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Stretchwise routine for Sam")
    assert "Hip Flexor Stretch" in result.stdout


def test_recommend_json_is_the_v1_contract(runner):
    result = runner.invoke(cli, ["recommend", DESK, "--format", "json"])
    data = json.loads(result.stdout)
    assert data["version"] == 1 and data["referral"]["level"] == "self_care"
    assert any(e["id"] == "hip_flexor_stretch" for e in data["routine"]["exercises"])


def test_recommend_reads_stdin(runner):
    text = (EXAMPLES / "physio.json").read_text()
    result = runner.invoke(cli, ["recommend", "-", "-f", "json"], input=text)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["referral"]["level"] == "physio"


def test_stdin_errors_name_stdin(runner):
    result = runner.invoke(cli, ["recommend", "-"], input='{"areas": ["neck"]}')
    assert result.exit_code == 2
    assert "<stdin>: pain: is required" in result.stderr


def test_urgent_referral_is_a_result_not_an_error(runner):
    result = runner.invoke(cli, ["recommend", str(EXAMPLES / "red-flag.yaml")])
    assert result.exit_code == 0
    assert "GET MEDICAL HELP TODAY" in result.stdout and "saddle" not in result.stdout.split("No exercises")[1]


def test_output_file_is_written_only_on_success(runner, tmp_path):
    out = tmp_path / "routine.json"
    result = runner.invoke(cli, ["recommend", DESK, "-f", "json", "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text())["name"] == "Sam"
    bad = tmp_path / "bad.yaml"
    bad.write_text("areas: [neck]\n")
    before = out.read_bytes()
    result = runner.invoke(cli, ["recommend", str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "routine.json"]  # no temp file left


def test_unknown_format_is_a_usage_error(runner):
    result = runner.invoke(cli, ["recommend", DESK, "--format", "docx"])
    assert result.exit_code == 2
    assert "'docx' is not one of" in result.stderr


def test_check_passes_on_the_bundled_knowledge(runner):
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("ok: ")
    assert all(line.startswith("note: ") for line in lines[:-1])  # notes never fail the check
    assert any("no contraindication rule reaches" in line for line in lines)


def test_check_reports_a_broken_copy_by_file_rule_and_field(runner, kb_copy):
    path = kb_copy / "rules" / "low_back.yaml"
    path.write_text(path.read_text().replace("at_least: 6", "at_least: six", 1))
    result = runner.invoke(cli, ["check", "--knowledge-dir", str(kb_copy)])
    assert result.exit_code == 1
    assert result.stdout == (
        "rules/low_back.yaml: rule 'sitting-tightens-hip-flexors': when[0].at_least: Input should be a valid integer\n"
    )
    result = runner.invoke(cli, ["recommend", DESK, "--knowledge-dir", str(kb_copy)])
    assert result.exit_code == 2 and "when[0].at_least" in result.stderr and "Traceback" not in result.output


def test_check_reports_a_rule_naming_a_missing_exercise(runner, kb_copy):
    path = kb_copy / "content" / "exercises.yaml"
    text = path.read_text()
    start = text.index("  - id: hip_flexor_stretch")
    path.write_text(text[:start] + text[start:].replace("id: hip_flexor_stretch", "id: lonely_stretch", 1))
    result = runner.invoke(cli, ["check", "--knowledge-dir", str(kb_copy)])
    assert result.exit_code == 1  # rules name an exercise that is now missing, and nothing indicates the new one
    assert "then.indicate: unknown exercise 'hip_flexor_stretch'" in result.stdout


def test_schema_prints_a_json_schema(runner):
    result = runner.invoke(cli, ["schema"])
    schema = json.loads(result.stdout)
    assert schema["title"] == "Stretchwise answers, version 1"
    assert set(schema["required"]) == {"areas", "pain", "duration_weeks", "red_flags"}


def test_exercises_lists_and_shows_one(runner, kb):
    result = runner.invoke(cli, ["exercises"])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == len(kb.exercises)
    result = runner.invoke(cli, ["exercises", "hip_flexor_stretch"])
    assert result.exit_code == 0 and "source: 000_f5ce5b4d066f015b.txt" in result.stdout


def test_unknown_exercise_suggests_the_closest(runner):
    result = runner.invoke(cli, ["exercises", "hip_flexer_stretch"])
    assert result.exit_code == 2
    assert "Did you mean: hip_flexor_stretch" in result.stderr


@pytest.mark.parametrize("command", ["recommend", "check", "schema", "exercises"])
def test_every_command_has_help_with_an_example(runner, command):
    result = runner.invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "stretchwise " + command in result.stdout


def _script():
    beside = Path(sys.executable).parent / "stretchwise"  # the venv's own script, active or not
    found = str(beside) if beside.exists() else shutil.which("stretchwise")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs the package: the stretchwise script must be on PATH")
        pytest.skip("the stretchwise script is not installed")
    return found


def test_installed_script_runs_as_a_real_process(tmp_path):
    script = _script()
    done = subprocess.run([script, "recommend", DESK, "-f", "json"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "Sam"
    bad = subprocess.run([script, "recommend", str(tmp_path / "missing.yaml")], capture_output=True, text=True)
    assert bad.returncode == 2 and "no such file" in bad.stderr and "Traceback" not in bad.stderr


def test_python_dash_m_works(tmp_path):
    done = subprocess.run([sys.executable, "-m", "recommender", "schema"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["type"] == "object"


def test_ci_tests_the_installed_package_not_the_source_tree():
    from recommender.paths import default_root

    if not os.environ.get("CI"):
        pytest.skip("only CI installs a non-editable wheel")
    assert "site-packages" in str(default_root()) and default_root().name == "_data"


def test_check_proves_each_exercise_reachable_and_reports_one_that_is_not(runner, kb_copy):
    result = runner.invoke(cli, ["check", "--witnesses", "--knowledge-dir", str(kb_copy)])
    assert result.exit_code == 0, result.output
    assert result.stdout.count('"areas"') >= 29
    # a rule that excludes the swing for everyone: indicated, but never reachable
    rules = kb_copy / "rules" / "never.yaml"
    rules.write_text(
        "topic: test\nrules:\n"
        "  - id: swing-never-allowed\n"
        "    when:\n      - {answer: pain, at_least: 0}\n"
        "    then:\n      exclude: {id: [kettlebell_swing]}\n"
        "    because: test\n    source: 001_3956ffb954f9f01d.txt\n"
    )
    result = runner.invoke(cli, ["check", "--knowledge-dir", str(kb_copy)])
    assert result.exit_code == 1
    assert "content: exercise 'kettlebell_swing': the answers built to reach it do not" in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["recommend", "--help"], ["recommend", "--format", "docx", "x.yaml"]])
def test_help_and_usage_errors_import_no_pydantic(args):
    # The public API is lazy (recommender.__getattr__) and render's registry is cheap to import.
    code = (
        "import sys\nfrom recommender.cli import main\nsys.argv = ['stretchwise', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('pydantic', 'durable', 'jinja2', 'yaml') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    assert "HEAVY []" in done.stderr, done.stderr
