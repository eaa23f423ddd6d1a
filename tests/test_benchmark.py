import json
import os
import shlex
import shutil

import pytest

import plots
import runner
from conftest import ROOT, bench, benchmark_module

TINY = ["--", "--batch", "32", "--presample", "64", "--eval-n", "64"]


def test_table_runs_every_arm_and_resumes(tmp_path, capsys):
    argv = ["table", "--steps", "4", "--eval-every", "2", "--seeds", "2",
            "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "res"), *TINY]
    code, out, err = bench(capsys, "masked_weighted", *argv)
    assert code == 0, out + err
    table = (tmp_path / "res" / "masked_weighted_wgan.md").read_text()
    for arm in ("constant", "masked", "weighted", "masked at generation"):
        assert f"| {arm} |" in table
    results = json.loads((tmp_path / "res" / "masked_weighted_wgan.json").read_text())["results"]
    assert len(results["weighted"]["emd"]) == 2
    # masked at generation re-evaluates the constant runs: same training, its own sampling
    (masked_gen_dir,) = (tmp_path / "runs").glob("table-wgan-4-x*-masked_at_generation-s0")
    masked_gen = json.loads((masked_gen_dir / "final_metrics.json").read_text())
    assert masked_gen["prior"] == "constant" and masked_gen["sample_prior"] == "masked"
    assert (tmp_path / "res" / "masked_weighted_wgan_curves.png").stat().st_size > 0
    assert table.startswith("`python benchmarks/masked_weighted.py table --steps 4")  # the command, to re-run
    code, out, _ = bench(capsys, "masked_weighted", *argv)
    assert "6 of 6 runs already done" in out and "2 of 2 runs already done" in out
    assert (tmp_path / "res" / "masked_weighted_wgan.md").read_text() == table  # same runs, same table
    other_steps = [*argv[:2], "3", *argv[3:]]
    other_steps[other_steps.index("--seeds") + 1] = "1"
    code, out, _ = bench(capsys, "masked_weighted", *other_steps)
    assert "0 of 3 runs already done" in out  # other settings never reuse a finished run


def test_image_table_has_class_shares_per_arm_and_is_rebuilt_from_records(tmp_path, capsys, shared_mnist_dir):
    argv = ["images", "--seeds", "1", "--steps", "3", "--data-dir", str(shared_mnist_dir), "--runs", str(tmp_path / "runs"),
            "--results", str(tmp_path / "res"), "--records", str(tmp_path / "rec"),
            "--arms", "constant", "masked", "weighted", "masked at generation", *TINY, "--z-dim", "8"]
    code, out, err = bench(capsys, "masked_weighted", *argv)
    assert code == 0, out + err
    results = json.loads((tmp_path / "res" / "masked_weighted_mnist_gan-mlp_3.json").read_text())["results"]
    assert list(results) == ["constant", "masked", "weighted", "masked at generation"]
    for arm in results.values():
        (shares,) = arm["class_shares"]
        assert len(shares) == 10 and abs(sum(shares) - 1) < 1e-9 and arm["top_share"] == [max(shares)]
        assert arm["classes_hit"] == [sum(s > 0 for s in shares)]
    (masked_gen,) = (tmp_path / "runs").glob("*-masked_at_generation-s0")
    assert json.loads((masked_gen / "final_metrics.json").read_text())["sample_prior"] == "masked"
    table = (tmp_path / "res" / "masked_weighted_mnist_gan-mlp_3.md").read_text()
    # the stored command runs as printed: the arm of three words stays one argument
    assert shlex.split(table.splitlines()[0].strip("`")) == ["python", "benchmarks/masked_weighted.py", *argv]
    picture = tmp_path / "res" / "masked_weighted_mnist_gan-mlp_3.png"
    with_samples = plots.read_png(str(picture)).shape
    shutil.rmtree(tmp_path / "runs")  # a later sitting: the table comes back from the records alone
    picture.unlink()
    code, out, _ = bench(capsys, "masked_weighted", *argv)
    assert code == 0 and (tmp_path / "res" / "masked_weighted_mnist_gan-mlp_3.md").read_text() == table
    # the class histograms come from the records; the sample grids went with the folders
    assert plots.read_png(str(picture)).shape[0] < with_samples[0]
    for record in (tmp_path / "rec").glob("*-masked_at_generation-s0.json"):
        record.unlink()  # its constant run's checkpoint went with the folders
    code, _, err = bench(capsys, "masked_weighted", *argv)
    assert code == 2 and "delete its record" in err and len(err.strip().splitlines()) == 1


def test_an_image_table_of_some_arms_is_rebuilt_from_records_too(tmp_path, capsys, shared_mnist_dir):
    argv = ["images", "--seeds", "1", "--steps", "2", "--data-dir", str(shared_mnist_dir), "--runs", str(tmp_path / "runs"),
            "--results", str(tmp_path / "res"), "--records", str(tmp_path / "rec"), "--arms", "constant", *TINY, "--z-dim", "8"]
    code, out, err = bench(capsys, "masked_weighted", *argv)
    assert code == 0, out + err
    shutil.rmtree(tmp_path / "runs")
    code, out, err = bench(capsys, "masked_weighted", *argv)  # the masked-at-generation copy, not shown, is recorded too
    assert code == 0, out + err


def test_veegan_table_runs_every_method_and_resumes(tmp_path, capsys):
    argv = ["--datasets", "ring", "--seeds", "1", "--steps", "4", "--runs", str(tmp_path / "runs"),
            "--results", str(tmp_path / "res"), "--records", str(tmp_path / "records"),
            "--", "--batch", "32", "--eval-n", "64", "--z-dim", "8", "--hidden", "16"]
    code, out, err = bench(capsys, "veegan", *argv)
    assert code == 0, out + err
    table = (tmp_path / "res" / "veegan_table.md").read_text()
    for method in ("veegan", "ali", "gan", "unrolled"):
        assert f"| ring | {method} |" in table
    results = json.loads((tmp_path / "res" / "veegan_table.json").read_text())["results"]
    assert len(results["ring"]["veegan"]["modes"]) == 1
    code, out, _ = bench(capsys, "veegan", *argv)
    assert "4 of 4 runs already done" in out
    assert (tmp_path / "res" / "veegan_table.md").read_text() == table
    assert len(list((tmp_path / "records").glob("veegan-ring-*-s0.json"))) == 4
    shutil.rmtree(tmp_path / "runs")  # a later sitting without the run folders: the records stand in
    code, out, err = bench(capsys, "veegan", *argv)
    assert "4 of 4 runs already done" in out, out + err
    assert (tmp_path / "res" / "veegan_table.md").read_text() == table
    gan_only = [*argv[:argv.index("--")], "--methods", "gan", *argv[argv.index("--"):]]
    seeds = gan_only.index("--seeds") + 1
    code, out, err = bench(capsys, "veegan", *gan_only[:seeds], "1", "--first-seed", "1", *gan_only[seeds + 1:])
    assert "0 of 1 runs already done" in out, out + err
    code, out, err = bench(capsys, "veegan", *gan_only[:seeds], "2", *gan_only[seeds + 1:])
    assert "2 of 2 runs already done" in out, out + err  # a table split over two sittings
    assert len(json.loads((tmp_path / "res" / "veegan_table.json").read_text())["results"]["ring"]["gan"]["modes"]) == 2


def test_veegan_table_extended_runs_equal_runs_from_scratch(tmp_path, capsys):
    def table(runs, *flags):
        code, out, err = bench(capsys, "veegan", "--datasets", "ring", "--methods", "veegan", "--seeds", "1",
                               "--runs", str(tmp_path / runs), "--results", str(tmp_path / "res"),
                               "--records", str(tmp_path / "records"), *flags,
                               "--", "--batch", "32", "--eval-n", "64", "--z-dim", "8", "--hidden", "16", "--eval-every", "2")
        assert code == 0, out + err
        return json.loads((tmp_path / "res" / "veegan_table.json").read_text())["results"]["ring"]["veegan"]

    short = table("runs", "--steps", "3")
    extended = table("runs", "--steps", "6", "--extend", "3")
    fresh = table("fresh", "--steps", "6")
    assert extended["emd"] == fresh["emd"] and extended["hq"] == fresh["hq"] and extended["kl"] == fresh["kl"]
    assert extended["emd"] != short["emd"]
    (run_dir,) = (tmp_path / "runs").glob("veegan-ring-veegan-6-x*-s0")
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 3, 4, 6]  # the short run's evaluations, then the continuation's
    code, _, err = bench(capsys, "veegan", "--steps", "9", "--extend", "7", "--runs", str(tmp_path / "runs"))
    assert code == 2 and "not a finished run" in err


def test_mdgan_table_on_mnist_like_digits(tmp_path, shared_mnist_dir, capsys):
    argv = ["--datasets", "mnist", "--variants", "reg", "--seeds", "1", "--steps", "3", "--runs", str(tmp_path / "runs"),
            "--results", str(tmp_path / "res"),
            "--", "--data-dir", str(shared_mnist_dir), "--batch", "16", "--eval-n", "32", "--tpd-steps", "2"]
    code, out, err = bench(capsys, "mdgan", *argv)
    assert code == 0, out + err
    table = (tmp_path / "res" / "mdgan_mnist.md").read_text()
    assert "| mnist | reg |" in table and "MODE score" in table
    results = json.loads((tmp_path / "res" / "mdgan_mnist.json").read_text())["results"]
    assert len(results["mnist"]["reg"]["missing_sigma_3.5"]) == 1
    code, _, err = bench(capsys, "mdgan", "--datasets", "mnist", "ring")
    assert code == 2 and "two commands" in err


def test_langevin_step_size_sweep_with_coarse_graining(tmp_path, capsys):
    argv = ["--datasets", "ring", "--arms", "none", "cc+blur", "--eps", "0.05", "0.2", "--seeds", "1", "--steps", "4",
            "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "res"), "--records", str(tmp_path / "rec"),
            "--snapshots", "--", "--batch", "32", "--eval-n", "64", "--emd-n", "64"]
    code, out, err = bench(capsys, "langevin", *argv)
    assert code == 0, out + err
    sweep = (tmp_path / "res" / "langevin_sweep.md").read_text()
    assert "| eps 0.05 | eps 0.2 |" in sweep and "| ring | cc+blur |" in sweep and "| ring | none |" in sweep
    (blurred_dir,) = (tmp_path / "runs").glob("langevin-ring-cc+blur-4-eps0.2-x*-s0")  # -x: a hash of the flags after --
    (plain_dir,) = (tmp_path / "runs").glob("langevin-ring-none-4-eps0.05-x*-s0")
    blurred, plain = (json.loads((d / "args.json").read_text()) for d in (blurred_dir, plain_dir))
    assert (blurred["lr_d"], blurred["noise"], blurred["blur"], blurred["blur_decay_steps"]) == (0.2, "cc", 0.2, 2)
    assert (plain["lr_d"], plain["noise"], plain["blur"]) == (0.05, "none", 0.0)
    assert (tmp_path / "res" / "langevin_table-eps0.2.md").is_file()
    assert {"level_lines_1.png", "level_lines_2.png"} <= set(os.listdir(plain_dir))
    shutil.rmtree(tmp_path / "runs")  # a table built over several sittings: read back from its records
    code, out, _ = bench(capsys, "langevin", *argv)
    assert "4 of 4 runs already done" in out
    assert (tmp_path / "res" / "langevin_sweep.md").read_text() == sweep


def test_conditional_mnist_table_per_arm(tmp_path, capsys, shared_mnist_dir):
    argv = ["--datasets", "mnist", "--data-dir", str(shared_mnist_dir), "--arms", "none", "cc", "--seeds", "1",
            "--steps", "2", "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "res"),
            "--records", str(tmp_path / "rec"), "--", "--batch", "16", "--eval-n", "100"]
    code, out, err = bench(capsys, "langevin", *argv)
    assert code == 0, out + err
    results = json.loads((tmp_path / "res" / "langevin_cmnist.json").read_text())["results"]
    for arm in ("none", "cc"):
        (run_dir,) = (tmp_path / "runs").glob(f"langevin-cmnist-{arm}-2-x*-s0")
        stored = json.loads((run_dir / "args.json").read_text())
        assert stored["conditional"] and stored["noise"] == arm
        assert results[arm]["label_accuracy"] == [json.loads((run_dir / "final_metrics.json").read_text())["label_accuracy"]]
    code, _, err = bench(capsys, "langevin", "--datasets", "mnist", "ring")
    assert code == 2 and "on its own" in err


def test_a_diverged_run_is_kept_as_a_result_where_asked(tmp_path):
    script = os.path.join(ROOT, "mdgan.py")
    tiny = ["--steps", "6", "--eval-every", "3", "--eval-n", "64", "--emd-n", "64", "--batch", "32"]
    run_dir = str(tmp_path / "diverging")
    with pytest.raises(runner.common.UserError, match="1 runs failed"):  # by default a failure
        runner.run_all([(script, run_dir, [*tiny, "--lr", "1e30"])], 1)
    runner.run_all([(script, run_dir, [*tiny, "--lr", "1e30", "--overwrite"])], 1, keep_diverged=True)
    final, rows = runner.load(run_dir)
    assert final["diverged"] and "training diverged" in final["message"] and runner.finished(run_dir)
    assert final["last_step"] == (rows[-1]["step"] if rows else 0)


def test_runs_start_from_a_fork_server_and_a_failed_run_is_reported(tmp_path):
    script = os.path.join(ROOT, "langevin_gan.py")
    tiny = ["--steps", "2", "--eval-n", "64", "--emd-n", "64"]
    good, bad = str(tmp_path / "good"), str(tmp_path / "bad")
    with pytest.raises(runner.common.UserError, match="1 runs failed"):
        runner.run_all([(script, good, tiny), (script, bad, [*tiny, "--batch", "1"])], 2)
    assert os.path.isfile(os.path.join(good, "final_metrics.json"))
    assert "wrote" in open(os.path.join(good, "stdout.log")).read()  # the run's own output lands in its log
    assert "error: argument --batch: 1 must be >= 2" in open(os.path.join(bad, "stdout.log")).read()
    assert not os.path.isfile(os.path.join(bad, "final_metrics.json"))


def test_a_finished_run_whose_exit_status_the_fork_server_lost_counts_as_done(tmp_path):
    script = tmp_path / "exits_255.py"  # 255 is what the fork server reports when it loses a status
    script.write_text("import os, sys\nout = sys.argv[sys.argv.index('--out') + 1]\n"
                      "if 'finish' in sys.argv:\n    open(os.path.join(out, 'final_metrics.json'), 'w').write('{}')\n"
                      "os._exit(255)\n")
    finished, crashed = str(tmp_path / "finished"), str(tmp_path / "crashed")
    with pytest.raises(runner.common.UserError, match="1 runs failed"):
        runner.run_all([(str(script), finished, ["finish"]), (str(script), crashed, [])], 2)
    assert os.path.isfile(os.path.join(finished, "final_metrics.json"))
    assert not os.path.isfile(os.path.join(crashed, "final_metrics.json"))


def test_an_interrupted_benchmark_says_its_runs_resume(tmp_path, monkeypatch, capsys):
    class Interrupting:  # a pool that Ctrl-C reaches while it waits on the runs
        def __init__(self, workers):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, fn, jobs):
            raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_starter", lambda: None)
    monkeypatch.setattr(runner.concurrent.futures, "ThreadPoolExecutor", Interrupting)
    with pytest.raises(SystemExit) as stop:
        runner.common.run_main(lambda argv: runner.run_all([("script.py", str(tmp_path / "run"), [])], 1))
    assert stop.value.code == 130
    assert "re-run this command to resume" in capsys.readouterr().err


class Planned(Exception):
    pass


@pytest.mark.parametrize("name, argv", [("masked_weighted", ["table"]), ("masked_weighted", ["images"]), ("pgan", ["table"]),
                                        ("pgan", ["readings"]), ("mdgan", []), ("langevin", []), ("veegan", []),
                                        ("mode_collapse", [])])
def test_every_benchmark_keys_its_runs_by_the_flags_passed_through(tmp_path, capsys, monkeypatch, name, argv):
    """A finished run is reused only for the same settings: the same command with a flag after `--`
    plans other run folders (caught as the benchmark hands its first runs to run_all)."""
    module, planned = benchmark_module(name), []

    def plan_only(jobs, *args, **kwargs):
        planned.append({os.path.basename(job[1]) for job in jobs})
        raise Planned
    monkeypatch.setattr(module, "run_all", plan_only)
    for extra in ([], ["--", "--ckpt-every", "7"]):
        with pytest.raises(Planned):
            module.main([*argv, "--seeds", "1", "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "res"), *extra])
    assert planned[0] and not planned[0] & planned[1], planned
