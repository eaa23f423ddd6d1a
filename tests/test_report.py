"""The reports and the README are what the stored results give (benchmarks/report.py)."""
import json
import os
import shutil

import pytest

from conftest import ROOT, benchmark_module

report = benchmark_module("report")
RESULTS = os.path.join(ROOT, "benchmarks", "results")


def check(*argv):
    try:
        report.main(["--check", *argv])
    except SystemExit as exit_info:
        return exit_info.code
    return 0


def test_committed_reports_match_the_stored_results(capsys):
    assert check() == 0, capsys.readouterr().out


def test_changing_one_stored_number_fails_the_check(tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    name = results / "masked_weighted_wgan-clip0.3.json"
    stored = json.loads(name.read_text())
    stored["results"]["weighted"]["emd"][0] *= 1.5
    name.write_text(json.dumps(stored))
    assert check("--results", str(results)) == 1
    out = capsys.readouterr().out
    assert "masked_weighted_gan.md" in out and "README.md" in out  # both quote that table's weighted EMD


def test_a_table_edited_by_hand_fails_the_check(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    table = results / "mdgan_table.md"
    text = table.read_text()
    table.write_text(text.replace("| ring | reg |", "| ring | reg (edited) |"))
    assert check("--results", str(results)) == 1


def test_a_missing_result_names_the_file_and_writes_nothing(tmp_path, capsys):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "x.md").write_text('{{ ms(v("no_such_table", "arm", "emd")) }}\n')
    with pytest.raises(SystemExit, match="could not be filled"):
        report.main(["--templates", str(templates), "--docs", str(tmp_path / "docs"), "--readme", str(tmp_path / "R.md")])
    assert "no_such_table.json" in capsys.readouterr().err
    assert not (tmp_path / "docs").exists()


def render(text):
    env = report.namespace(report.Results(RESULTS), RESULTS)
    errors = []
    out = report.render(text, env, "test", errors)
    assert not errors, errors
    return out.strip()


def test_a_verdict_word_only_where_the_interval_excludes_no_difference():
    clear = render('{{ vs([0.1, 0.11, 0.12, 0.1, 0.11], [0.5, 0.52, 0.49, 0.55, 0.5], ("a", "b"), lower_is_better=True) }}')
    assert clear.endswith("**a better**") and "95 % CI" in clear
    assert render('{{ shown([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) }}') == "no difference shown at 5 seeds"
    assert render('{{ shown([8, 8, 8], [1, 0, 2], False) }}') == "better"
    assert render('{{ shown([8, 8, 8], [1, 0, 2], True) }}') == "worse"
    assert render('{{ shown([3, 3, 3], [3, 3, 3]) }}') == "no difference shown at 3 seeds"
    # a constant difference is certain: no bootstrap needed, the interval is that difference
    assert "[95 % CI 1.0, 1.0]" in render('{{ vs([2, 3, 4], [1, 2, 3], d=1) }}')
    # two seeds that agree in sign would always 'exclude' 0 (half the time by chance): no verdict
    errors = []
    report.render('{{ shown([0.2, 0.3], [0.5, 0.4], True) }}', report.namespace(report.Results(RESULTS), RESULTS), "test", errors)
    assert errors and "seed counts >= 3" in errors[0]


def test_ratio_and_interval_of_paired_seeds():
    assert render("{{ ratio([1, 1, 1, 1], [2, 2, 2, 2]) }}") == "0.50 × [95 % CI 0.50, 0.50]"
    text = render("{{ ratio([1, 2, 1, 2, 1], [2, 2, 2, 2, 2]) }}")
    low, high = (float(x) for x in text.split("CI ")[1].rstrip("]").split(", "))
    assert low <= 0.7 <= high and low >= 0.5 and high <= 1.0
