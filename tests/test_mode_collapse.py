"""benchmarks/mode_collapse.py (the whole suite) and benchmarks/speed.py, on tiny budgets."""
import json
import os

import numpy as np
import pytest

import common
import mode_collapse
import speed
from conftest import bench


def test_plan_is_the_full_suite_and_shards_partition_it():
    runs = mode_collapse.plan(mode_collapse.parse([]))
    assert len(runs) == 3 * len(mode_collapse.DEFAULT_METHODS) * 5 and len({r["run_dir"] for r in runs}) == len(runs)
    assert {r["steps"] for r in runs if r["data"] == "hd"} == {1000} and {r["steps"] for r in runs if r["data"] != "hd"} == {2000}
    assert all(os.path.isfile(r["script"]) for r in runs)
    assert all(r["argv"][r["argv"].index("--eval-n") + 1] == "2500" for r in runs)
    quick = mode_collapse.plan(mode_collapse.parse(["--quick"]))
    assert len(quick) == 3 * len(mode_collapse.DEFAULT_METHODS) * 2 and {r["steps"] for r in quick} == {500, 200}
    for count in (1, 2, 3, 7):
        shards = [mode_collapse.shard(runs, i, count) for i in range(1, count + 1)]
        dirs = [r["run_dir"] for part in shards for r in part]
        assert sorted(dirs) == sorted(r["run_dir"] for r in runs)  # every run in exactly one shard
    # other settings never reuse the default runs' folders
    other = mode_collapse.plan(mode_collapse.parse(["--", "--batch", "32"]))
    assert not {r["run_dir"] for r in other} & {r["run_dir"] for r in runs}
    assert all(r["argv"][-2:] == ["--batch", "32"] for r in other)


def test_user_mixture_names_its_runs_after_the_file_and_its_content(tmp_path):
    for folder, value in (("a", 0.0), ("b", 1.0)):
        (tmp_path / folder).mkdir()
        np.save(tmp_path / folder / "mine.npy", np.full((10, 2), value))
    args = mode_collapse.parse(["--data", str(tmp_path / "a" / "mine.npy"), "--centers", str(tmp_path / "mine.json"),
                                "--seeds", "1"])
    runs = mode_collapse.plan(args)
    assert len(runs) == len(mode_collapse.DEFAULT_METHODS) and {r["data"] for r in runs} == {"mine"}
    assert all(r["argv"][-2:] == ["--centers", str(tmp_path / "mine.json")] for r in runs)
    other = mode_collapse.plan(mode_collapse.parse(["--data", str(tmp_path / "b" / "mine.npy"), "--seeds", "1"]))
    assert not {r["run_dir"] for r in runs} & {r["run_dir"] for r in other}  # another file of the same name: new runs


def test_one_run_equals_merged_shards_and_reruns_finish_at_once(tmp_path, capsys):
    tiny = ["--datasets", "ring", "--methods", "gan", "veegan", "--seeds", "1", "--steps", "3", "--eval-n", "100",
            "--emd-n", "100", "--jobs", "2"]
    extra = ["--", "--batch", "32"]
    code, out, err = bench(capsys, "mode_collapse", *tiny, "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "one"), *extra)
    assert code == 0, out + err
    table = (tmp_path / "one" / "mode_collapse.md").read_text()
    assert "| gan |" in table and "| veegan |" in table and "8 / 52.9 (V)" in table
    records = json.loads((tmp_path / "one" / "mode_collapse.json").read_text())["runs"]
    assert [(r["method"], r["seed"]) for r in records] == [("gan", 0), ("veegan", 0)]
    assert all(isinstance(r["modes"], int) and r["emd"] > 0 for r in records)
    assert (tmp_path / "one" / "mode_collapse.png").stat().st_size > 0
    mode_collapse.main([*tiny, "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "one"), *extra])
    assert "2 of 2 runs already done; running 0" in capsys.readouterr().out
    assert (tmp_path / "one" / "mode_collapse.md").read_text().split("\n")[1:] == table.split("\n")[1:]
    for i in (1, 2):  # as on two machines: separate run folders, only the shard files meet
        code, out, err = bench(capsys, "mode_collapse", *tiny, "--shard", f"{i}/2", "--runs", str(tmp_path / f"shard{i}"),
                               "--results", str(tmp_path / "sh"), *extra)
        assert code == 0, out + err
    merge = [*tiny, "--merge", str(tmp_path / "sh" / "mode_collapse.shard-*-of-2.json"), "--results", str(tmp_path / "merged"),
             "--compare", str(tmp_path / "one" / "mode_collapse.json"), *extra]
    mode_collapse.main(merge)  # in-process: no run to start, so no interpreter to pay for
    assert "2 runs in both, 0 differ" in capsys.readouterr().out
    # a changed number is caught, and a missing shard is refused
    shard_file = tmp_path / "sh" / "mode_collapse.shard-1-of-2.json"
    content = json.loads(shard_file.read_text())
    content["runs"][0]["emd"] += 1e-9
    shard_file.write_text(json.dumps(content))
    with pytest.raises(SystemExit) as exit_info:
        common.run_main(mode_collapse.main, merge)
    assert exit_info.value.code == 2 and "1 differ" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        common.run_main(mode_collapse.main, [*tiny, "--merge", str(shard_file), "--results", str(tmp_path / "merged"), *extra])
    assert "lack 1 of 2 runs" in capsys.readouterr().err
    content["runs"][0]["emd"] -= 1e-9
    shard_file.write_text(json.dumps(content))
    other = list(tiny)
    other[other.index("--eval-n") + 1] = "90"  # the shards were judged on 100 samples
    code, out, err = bench(capsys, "mode_collapse", *other, "--merge", str(tmp_path / "sh" / "mode_collapse.shard-*-of-2.json"),
                           "--results", str(tmp_path / "merged2"), *extra)
    assert code == 2 and "merge with the flags the shards were run with" in err and err.count("\n") == 1
    assert not (tmp_path / "merged2").exists()


@pytest.mark.parametrize("content", [None, "{not json", '{"shard": [1, 2]}', '{"runs": [{"data": "ring"}]}', "[1]"])
def test_a_missing_malformed_or_foreign_table_is_one_line(tmp_path, capsys, content):
    path = tmp_path / "table.json"
    if content is not None:
        path.write_text(content)
    for flag in ("--merge", "--compare"):
        # --compare is read before any run starts, not after the suite's hour of runs
        argv = ["--datasets", "ring", "--methods", "gan", "--seeds", "1", flag, str(path),
                "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "out")]
        code, out, err = bench(capsys, "mode_collapse", *argv)
        if content is None and flag == "--merge":
            assert code == 2 and "no such files" in err
            continue
        assert code == 2 and err.count("\n") == 1 and flag in err and "Traceback" not in err, (flag, err)
        assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists()


def test_the_suite_on_an_image_array_is_one_line(tmp_path, capsys):
    np.save(tmp_path / "images.npy", np.zeros((40, 28, 28), np.uint8))
    code, out, err = bench(capsys, "mode_collapse", "--data", str(tmp_path / "images.npy"), "--results", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "holds images" in err


def test_bad_shard_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        mode_collapse.parse(["--shard", "3/2"])
    assert exit_info.value.code == 2 and "--shard 3/2" in capsys.readouterr().err


def test_speed_ratio_of_a_method_to_its_plain_gan(tmp_path, monkeypatch):
    # one real timing run, then known step times: the rates come from the difference of two run lengths
    assert speed.train_seconds("pgan.py", ["--dataset", "ring", "--batch", "32"], 3, speed.parse(["--steps", "3"]),
                               dict(os.environ)) > 0
    step_time = {"lsgan": 0.01, "pgan": 0.025}
    monkeypatch.setattr(speed, "train_seconds", lambda script, flags, steps, args, env:
                        2.0 + steps * step_time[flags[flags.index("--loss") + 1]])
    speed.main(["--datasets", "ring", "--scripts", "pgan.py", "--steps", "100", "--results", str(tmp_path)])
    results = json.loads((tmp_path / "speed.json").read_text())["results"]
    assert [r["method"] for r in results] == ["lsgan (plain)", "pgan"]
    assert abs(results[0]["steps_per_s"] - 100) < 1e-6 and abs(results[1]["steps_per_s"] - 40) < 1e-6
    assert results[0]["cost"] == 1.0 and abs(results[1]["cost"] - 2.5) < 1e-9
    assert "| ring | pgan.py | pgan | 40.0 | 2.50 |" in (tmp_path / "speed.md").read_text()


def test_emd_benchmark_times_both_solvers_on_every_case(tmp_path):
    speed.main(["--emd", "--emd-n", "300", "--results", str(tmp_path)])
    results = json.loads((tmp_path / "speed_emd.json").read_text())["results"]
    assert [r["case"].split(" ")[0] for r in results] == ["spread", "arc", "collapsed", "duplicates", "1200-D"]
    assert all(abs(r["old"] - r["new"]) <= 1e-9 * max(1.0, r["old"]) and r["new_s"] > 0 for r in results)
    assert "| collapsed (one spot, sd 1e-3) |" in (tmp_path / "speed_emd.md").read_text()


def test_evaluation_share_benchmark_times_evaluations_from_outside(tmp_path):
    speed.main(["--eval-share", "--scripts", "langevin_gan.py", "--eval-steps", "6", "--label", "t", "--results",
                str(tmp_path)])
    (row,) = json.loads((tmp_path / "speed_eval-t.json").read_text())["results"]
    assert row["script"] == "langevin_gan.py" and row["evaluations"] == 6  # steps // 10 rounds up to every step
    assert 0 < row["evaluate_s"] + row["floor_s"] < row["wall_s"] and 0 < row["share"] < 1
    assert "with --steps 6" in (tmp_path / "speed_eval-t.md").read_text()


def test_harness_benchmark_times_train_step_and_batches_from_outside(tmp_path):
    speed.main(["--harness", "--scripts", "mdgan.py", "--steps", "50", "--label", "t", "--results", str(tmp_path)])
    (row,) = json.loads((tmp_path / "speed_harness-t.json").read_text())["results"]
    assert row["script"] == "mdgan" and row["flags"] == ["--variant", "gan"]
    assert 0 < row["train_step_ms"] and 0 < row["batch_ms"]  # 40 more calls in the long run (its wall may be noise)
    assert row["overhead"] == pytest.approx(row["ms_per_step"] / (row["train_step_ms"] + row["batch_ms"]) - 1)
