"""What the shared run skeleton (common.Run) promises every script: no run overwritten or poisoned,
diverged runs stopped with advice that works, interrupted runs named, wall time over resumes."""
import argparse
import importlib
import json
import os
import re

import numpy as np
import pytest
import torch

import common
import data
import metrics
import runner
from conftest import DEVICE, bench

SCRIPTS = list(runner.SCRIPTS)  # each script's tests/test_<script>.py gives its tiny run's flags and more
TINY = {script: importlib.import_module(f"test_{script}").TINY for script in SCRIPTS}
DIVERGE = {script: importlib.import_module(f"test_{script}").DIVERGE for script in SCRIPTS}


def cli(capsys, script, *args):
    """(exit status, stderr) of `python <script>.py args`, run in this process."""
    module = importlib.import_module(script)
    try:
        common.run_main(module.main, list(args))
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code
    return code, capsys.readouterr().err


def run(script, out, *extra, steps=6):
    module = importlib.import_module(script)
    return module.main([*TINY[script], "--steps", str(steps), "--eval-n", "64", "--eval-every", "3", "--device", DEVICE,
                        "--out", str(out), *extra])


def snapshot(folder):
    return {name: open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder))
            if os.path.isfile(os.path.join(folder, name))}


RUN_FOLDER = ("args.json", "metrics.jsonl", "final_metrics.json", "samples.npy", "samples.png", "mode_hist.png",
              "curves.png", "ckpt.pt")


@pytest.mark.parametrize("script, flags", [(script, list(flags)) for script, entry in runner.SCRIPTS.items()
                                           for flags in [entry.off, *(f for f, _ in {**entry.methods, **entry.optional}.values())]])
def test_every_method_of_every_script_writes_its_run_folder_and_scores_its_own_samples(tmp_path, script, flags):
    """A ring run of each suite method and each plain GAN: the run folder, and final metrics that are
    the protocol's scores of the samples it wrote (in the data's units, against the run's reference)."""
    out = tmp_path / "run"
    final = run(script, out, "--dataset", "ring", *flags)
    for name in (*RUN_FOLDER, *importlib.import_module(f"test_{script}").OUTPUTS):
        assert (out / name).is_file(), name
    samples, ds = np.load(out / "samples.npy"), data.ring()
    assert samples.shape == (64, 2) and torch.load(out / "ckpt.pt", weights_only=True)["step"] == 6
    scores = metrics.mixture_stats(samples, ds)
    assert {k: final[k] for k in ("modes", "hq", "kl")} == {k: scores[k] for k in ("modes", "hq", "kl")}
    stored = json.loads((out / "args.json").read_text())
    reference = metrics.point_reference(ds, stored["eval_n"], stored["emd_n"], stored["seed"] + 20_000, None)
    assert final["emd"] == pytest.approx(metrics.emd(samples[:reference.emd_n], reference.real[:reference.emd_n]))
    assert stored["script"] == script and [r["step"] for r in common.MetricsLog.read(out / "metrics.jsonl")] == [3, 6]


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_existing_run_is_never_replaced_unless_asked(tmp_path, capsys, script):
    out = tmp_path / "run"
    run(script, out)
    before = snapshot(out)
    code, err = cli(capsys, script, *TINY[script], "--steps", "3", "--out", str(out))
    assert code == 2 and err.count("\n") == 1 and "--resume" in err and "--overwrite" in err
    assert snapshot(out) == before  # every file as it was
    final = run(script, out, "--overwrite", "--seed", "1", steps=3)
    assert final["seed"] == 1 and json.load(open(out / "final_metrics.json"))["step"] == 3


@pytest.mark.parametrize("script, other", [(s, SCRIPTS[(i + 1) % len(SCRIPTS)]) for i, s in enumerate(SCRIPTS)])
def test_resuming_another_scripts_run_is_refused_and_leaves_it_alone(tmp_path, capsys, script, other):
    out = tmp_path / "run"
    run(other, out)
    before = snapshot(out)
    code, err = cli(capsys, script, "--resume", str(out))
    assert code == 2 and err.count("\n") == 1 and f"{other}.py" in err and "Traceback" not in err
    assert snapshot(out) == before


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_diverged_run_writes_no_poisoned_checkpoint_and_says_how_to_go_on(tmp_path, capsys, script):
    out = tmp_path / "run"
    code, err = cli(capsys, script, *TINY[script], *DIVERGE[script], "--steps", "40", "--ckpt-every", "1",
                    "--eval-every", "40", "--eval-n", "64", "--device", DEVICE, "--out", str(out))
    assert code == 2 and "diverged" in err and err.count("\n") == 1
    ckpt = out / "ckpt.pt"
    if ckpt.exists():  # the one on disk resumes: every tensor finite, and the message names it
        state = torch.load(ckpt, weights_only=True)
        assert common.all_finite(state) and f"step {state['step']}" in err and "--resume" in err
    else:
        assert "no checkpoint" in err


def test_divergence_before_the_first_checkpoint_says_there_is_none(tmp_path, capsys):
    code, err = cli(capsys, "mdgan", *TINY["mdgan"], *DIVERGE["mdgan"], "--steps", "40", "--eval-n", "64",
                    "--device", DEVICE, "--out", str(tmp_path / "run"))
    assert code == 2 and "no checkpoint was written yet" in err


def test_exploded_but_finite_losses_count_as_divergence():
    with pytest.raises(common.UserError, match="diverged at step 7"):
        common.check_finite(7, "advice", loss_d=3e14)
    common.check_finite(7, "advice", loss_d=3e4)  # large, but within what the papers' losses reach


def test_an_interrupt_names_the_folder_to_resume(tmp_path, capsys, monkeypatch):
    import mdgan

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(mdgan, "train_step", interrupted)
    code, err = cli(capsys, "mdgan", *TINY["mdgan"], "--steps", "6", "--device", DEVICE, "--out", str(tmp_path / "run"))
    assert code == 130 and "nothing to resume" in err and f"--overwrite to reuse {tmp_path / 'run'}" in err


def test_wall_time_adds_up_over_resumed_segments(tmp_path):
    out = tmp_path / "run"
    run("mdgan", out, "--ckpt-every", "3", steps=3)
    first = torch.load(out / "ckpt.pt", weights_only=True)["wall_s"]
    final = importlib.import_module("mdgan").main(["--resume", str(out), "--steps", "6"])
    assert first > 0 and final["wall_s"] >= round(first, 1)


def outside(bounds: dict, kind: type) -> list:
    """Values just outside a number flag's bounds."""
    step = 1 if kind is int else 1e-9
    return [v for v in (bounds["at_least"] - step if bounds["at_least"] is not None else None,
                        bounds["above"], bounds["at_most"] + step if bounds["at_most"] is not None else None,
                        bounds["below"]) if v is not None]


# The flags that take a path or a name; every other flag that takes a value is a number with a
# declared range or a choice, so a flag added as `default=0.5` with no type fails the tests below.
TEXT_FLAGS = {"dataset", "out", "data_dir", "resume", "centers"}
BENCHMARK_TEXT_FLAGS = TEXT_FLAGS | {"runs", "results", "records", "name", "tag", "data", "merge", "compare", "shard",
                                     "code", "label", "root", "datasets", "scripts"}


def untyped(actions, allowed) -> list[str]:
    """Flags that take a value but are neither typed nor a choice, other than the named text flags."""
    return [a.option_strings[0] for a in actions if a.option_strings and type(a) is argparse._StoreAction
            and a.type is None and a.choices is None and a.dest not in allowed]


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_number_flag_refuses_what_it_cannot_mean_in_one_line(capsys, script):
    """Every int or float flag of every script is typed with its bounds (a flag added with a bare
    type=int or type=float fails here): a word, an empty string, nan, inf and a value just past a
    bound are refused when the flags are read, in one line that names the flag."""
    parser = importlib.import_module(script).build_parser()
    numbers = [a for a in parser._actions if a.type is not None and a.option_strings]
    # every typed flag is a common.number that declares its range
    unranged = [a.option_strings[0] for a in numbers if all(v is None for v in getattr(a.type, "bounds", {}).values())]
    assert numbers and not unranged, f"flags without a declared range: {unranged}"
    assert not untyped(parser._actions, TEXT_FLAGS), f"flags without a type or choices: {untyped(parser._actions, TEXT_FLAGS)}"
    for action in numbers:
        kind = int if action.type.__name__ == "int" else float
        for value in ["x", "", "nan", "inf", *map(str, outside(action.type.bounds, kind))]:
            with pytest.raises(SystemExit) as exit_info:
                parser.parse_args([action.option_strings[0], value])
            err = capsys.readouterr().err
            assert exit_info.value.code == 2 and err.count("\n") == 1 and action.option_strings[0] in err, (value, err)


def accepted_extremes(script):
    """(flag, value) for every number flag of the script and each of 0, -1, 1e30 that its range takes."""
    parser = importlib.import_module(script).build_parser()
    out = []
    for action in parser._actions:
        if action.option_strings and hasattr(action.type, "bounds") and action.dest != "steps":
            for value in ("0", "-1", "1e30"):
                try:
                    action.type(value)
                except argparse.ArgumentTypeError:
                    continue
                out.append((action.option_strings[0], value))
    return out


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_extreme_value_a_flag_takes_runs_to_finite_numbers_or_stops_in_one_line(tmp_path, capsys, script):
    """The other half of the flag fuzz, read from the parser as the first half is: each of 0, -1 and
    1e30 that a flag's range admits is run (2 steps); the run either ends with only finite numbers
    in final_metrics.json and metrics.jsonl, or stops with one line and exit 2 (a diverged run)."""
    cases = accepted_extremes(script)
    assert cases
    for i, (flag, value) in enumerate(cases):
        out = tmp_path / f"run{i}"
        code, err = cli(capsys, script, *TINY[script], "--steps", "2", "--eval-every", "2", "--eval-n", "64",
                        "--device", DEVICE, flag, value, "--out", str(out))
        if code == 2:
            assert err.count("\n") == 1 and "Traceback" not in err, (flag, value, err)
            continue
        assert code == 0, (flag, value, err)
        final = json.loads((out / "final_metrics.json").read_text())
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        assert all(common.all_finite(torch.tensor(v, dtype=torch.float64)) for row in [final, *rows]
                   for v in row.values() if isinstance(v, (int, float)) and not isinstance(v, bool)), (flag, value)


def test_a_bad_value_found_after_the_presets_is_named_in_one_line_and_writes_nothing(tmp_path, capsys):
    code, err = cli(capsys, "masked_weighted_gan", "--arch", "dcgan", "--out", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1 and "--arch dcgan is for images" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("shape, dtype", [((40, 28, 28), "uint8"), ((40, 3, 32, 32), "float32")])
def test_a_users_image_array_trains_to_the_end_and_resumes(tmp_path, script, shape, dtype):
    images = np.random.default_rng(0).integers(0, 256, shape).astype(dtype)
    np.save(tmp_path / "images.npy", images if dtype == "uint8" else images / 255)
    out = tmp_path / "run"
    flags = ["--dataset", str(tmp_path / "images.npy"), "--ckpt-every", "3"]
    if script == "mdgan":
        flags += ["--tpd-steps", "2"]
    final = run(script, out, *flags, steps=3)
    assert final["step"] == 3 and (out / "samples.png").exists()
    assert np.load(out / "samples.npy").shape[1:] == (images.shape[1:] if images.ndim == 4 else (1, *images.shape[1:]))
    resumed = importlib.import_module(script).main(["--resume", str(out), "--steps", "6"])
    assert resumed["step"] == 6


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_shows_the_default_of_every_flag_and_how_to_run(script, capsys):
    with pytest.raises(SystemExit):
        importlib.import_module(script).main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "random seed; same seed, same numbers on CPU (default: 0)" in text and "(default: auto)" in text
    assert "minibatch size m, the paper's [default:" in text  # per data family, from the presets
    assert f"Run: python {script}.py" in text.replace("Run (defaults: ring, WGAN-GP, weighted prior): ", "Run: ")


@pytest.mark.parametrize("name", ["veegan", "mdgan", "pgan", "langevin", "masked_weighted", "mode_collapse", "speed"])
def test_every_benchmark_help_shows_its_defaults(name, capsys):
    code, out, _ = bench(capsys, name, "--help")
    assert code == 0 and "(default:" in out and f"usage: benchmarks/{name}.py" in out


def test_resuming_a_folder_without_a_checkpoint_says_how_to_start_again(tmp_path, capsys):
    out = tmp_path / "run"
    run("mdgan", out)
    os.remove(out / "ckpt.pt")
    code, err = cli(capsys, "mdgan", "--resume", str(out))
    assert code == 2 and "no checkpoint" in err and "--overwrite" in err


def test_resuming_with_fewer_steps_than_the_checkpoint_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    run("mdgan", out)
    before = snapshot(out)
    code, err = cli(capsys, "mdgan", "--resume", str(out), "--steps", "3")
    assert code == 2 and "--steps 3 is below the checkpoint's step 6" in err and snapshot(out) == before


@pytest.mark.parametrize("script", ["pgan", "mdgan"])
def test_resuming_a_finished_run_rescores_it_as_a_run_from_scratch(tmp_path, script):
    """After a change to the evaluation (here simulated by spoiling the stored numbers), `--resume`
    of a finished run evaluates its final checkpoint afresh: final_metrics.json and the last metrics
    row come back as the run wrote them, the training's timings stay."""
    out = tmp_path / "run"
    first = run(script, out)
    rows = common.MetricsLog.read(out / "metrics.jsonl")
    spoiled = {**first, "emd": -1.0, "wall_s": 123.0}
    common.write_json(str(out / "final_metrics.json"), spoiled)
    common.MetricsLog(str(out), resume_step=6).rewrite(rows[:-1] + [{**rows[-1], "emd": -1.0}])
    again = importlib.import_module(script).main(["--resume", str(out)])
    assert {k: v for k, v in again.items() if k != "wall_s"} == {k: v for k, v in spoiled.items() if k != "wall_s"} | {"emd": first["emd"]}
    assert again["wall_s"] == 123.0  # the training's, not the re-scoring's
    assert common.MetricsLog.read(out / "metrics.jsonl") == rows


def test_a_refused_overwrite_leaves_the_old_run_and_a_file_is_no_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    run("pgan", out)
    before = snapshot(out)
    images = tmp_path / "odd.npy"
    np.save(images, np.zeros((40, 28, 20), np.uint8))  # pgan refuses non-square images once its networks are built
    code, err = cli(capsys, "pgan", *TINY["pgan"], "--dataset", str(images), "--out", str(out), "--overwrite")
    assert code == 2 and err.count("\n") == 1 and "28x28" in err and snapshot(out) == before
    (tmp_path / "plain").write_text("a file of the user's")
    code, err = cli(capsys, "mdgan", *TINY["mdgan"], "--out", str(tmp_path / "plain"))
    assert code == 2 and "is not a folder" in err and (tmp_path / "plain").read_text() == "a file of the user's"


def test_resume_refuses_flags_that_would_change_the_run_and_keeps_it(tmp_path, capsys):
    out = tmp_path / "run"
    run("masked_weighted_gan", out, "--prior", "weighted", steps=3)
    before = snapshot(out)
    for flags in (["--prior", "masked"], ["--dataset", "grid"], ["--z-dim", "3"]):
        code, err = cli(capsys, "masked_weighted_gan", "--resume", str(out), *flags)
        assert code == 2 and err.count("\n") == 1 and flags[0] in err and "--out" in err
        assert snapshot(out) == before
    final = importlib.import_module("masked_weighted_gan").main(["--resume", str(out), "--steps", "6",
                                                                 "--sample-prior", "constant"])
    assert final["step"] == 6 and final["sample_prior"] == "constant"  # length and sampling may change


def test_a_users_file_named_like_the_floor_cache_is_left_alone(tmp_path):
    (tmp_path / "emd_floors.json").write_text("[1, 2, 3]")
    reference = metrics.point_reference(data.ring(), 64, 64, 0, str(tmp_path))
    assert reference.emd_floor > 0 and (tmp_path / "emd_floors.json").read_text() == "[1, 2, 3]"


@pytest.mark.parametrize("name", ["veegan", "mdgan", "pgan", "langevin", "masked_weighted", "mode_collapse", "speed",
                                  "same_outputs"])
def test_every_benchmark_number_flag_is_typed_with_its_bounds(name, capsys, monkeypatch):
    """As for the scripts, read from the benchmark's own parser (caught as --help builds it): each
    typed flag declares a range, and a word, nan, inf or a value past a bound is one line, exit 2."""
    source = open(os.path.join(os.path.dirname(runner.__file__), f"{name}.py")).read()
    assert not re.search(r"type=(int|float)\b", source)  # each is common.number(...), refused in one line
    argv = {"masked_weighted": ["table"], "pgan": ["table"], "same_outputs": ["save", "x"]}.get(name, [])
    flag = "--threads" if name == "speed" else "--jobs"
    code, out, err = bench(capsys, name, *argv, flag, "0")
    assert code == 2 and err.count("\n") == 1 and f"{flag}: 0 must be >= 1" in err
    parsers, parse = [], common.ScriptParser.parse_args
    monkeypatch.setattr(common.ScriptParser, "parse_args", lambda self, *a, **k: parsers.append(self) or parse(self, *a, **k))
    bench(capsys, name, *argv, "--help")
    actions = list(parsers[0]._actions)
    for sub in [a for a in actions if isinstance(a, argparse._SubParsersAction)]:
        actions += [a for p in sub.choices.values() for a in p._actions]
    numbers = [a for a in actions if a.type is not None and a.option_strings]
    assert numbers and all(any(v is not None for v in getattr(a.type, "bounds", {}).values()) for a in numbers)
    assert not untyped(actions, BENCHMARK_TEXT_FLAGS), untyped(actions, BENCHMARK_TEXT_FLAGS)
    for action in numbers:
        kind = int if action.type.__name__ == "int" else float
        for value in ["x", "nan", "inf", *map(str, outside(action.type.bounds, kind))]:
            with pytest.raises(SystemExit) as exit_info:
                parse(parsers[0], [*argv, action.option_strings[0], value])
            err = capsys.readouterr().err
            assert exit_info.value.code == 2 and err.count("\n") == 1 and action.option_strings[0] in err, (value, err)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_a_signal_checkpoints_the_step_it_came_in_and_the_resumed_run_equals_an_uninterrupted_one(tmp_path, capsys,
                                                                                                  monkeypatch, signame):
    """SIGTERM (what a scheduler sends before it preempts a job) and Ctrl-C: the run finishes the step
    the signal came in, checkpoints it (between two checkpoints and two metrics rows, so the loss
    sums go into the checkpoint too) and says how to go on; resumed, it writes what an
    uninterrupted run writes. A second signal stops at once, at the last checkpoint."""
    import signal
    import mdgan
    flags = [*TINY["mdgan"], "--steps", "8", "--eval-every", "3", "--ckpt-every", "2", "--device", DEVICE]
    mdgan.main([*flags, "--out", str(tmp_path / "whole")])
    real_step, calls = mdgan.train_step, []

    def signalled_in_step(at, times=1):
        def step(*args, **kwargs):
            calls.append(1)
            if len(calls) == at:
                for _ in range(times):
                    os.kill(os.getpid(), getattr(signal, signame))
            return real_step(*args, **kwargs)
        return step
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(mdgan, "train_step", signalled_in_step(5))
    code, err = cli(capsys, "mdgan", *flags, "--out", str(tmp_path / "run"))
    assert code == 130 and err.count("\n") == 1 and "checkpoint (step 5) was saved" in err
    assert f"--resume {tmp_path / 'run'}" in err
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before  # gone with the run
    monkeypatch.setattr(mdgan, "train_step", real_step)
    final = mdgan.main(["--resume", str(tmp_path / "run")])
    whole = json.loads((tmp_path / "whole" / "final_metrics.json").read_text())
    assert {k: v for k, v in final.items() if not k.endswith("_s")} == {k: v for k, v in whole.items() if not k.endswith("_s")}
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("time", "eval_s")} for r in rows]
    assert strip(common.MetricsLog.read(tmp_path / "run" / "metrics.jsonl")) == \
        strip(common.MetricsLog.read(tmp_path / "whole" / "metrics.jsonl"))
    np.testing.assert_array_equal(np.load(tmp_path / "run" / "samples.npy"), np.load(tmp_path / "whole" / "samples.npy"))
    calls.clear()
    monkeypatch.setattr(mdgan, "train_step", signalled_in_step(5, times=2))
    code, err = cli(capsys, "mdgan", *flags, "--out", str(tmp_path / "twice"))
    assert code == 130 and "checkpoint (step 4) is intact" in err


@pytest.mark.parametrize("script", SCRIPTS)
def test_one_dimensional_points_train_to_the_end(tmp_path, script):
    np.save(tmp_path / "line.npy", np.random.default_rng(0).normal(size=(200, 1)).astype(np.float32))
    final = run(script, tmp_path / "run", "--dataset", str(tmp_path / "line.npy"))
    assert final["step"] == 6 and np.load(tmp_path / "run" / "samples.npy").shape == (64, 1)


def test_a_folder_in_use_by_a_live_run_is_refused_and_a_dead_ones_lock_is_taken(tmp_path, capsys):
    import subprocess
    out = tmp_path / "run"
    run("mdgan", out, steps=3)
    assert not (out / ".lock").exists()  # released when the run ends
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        (out / ".lock").write_text(str(sleeper.pid))
        code, err = cli(capsys, "mdgan", "--resume", str(out), "--steps", "6")
        assert code == 2 and err.count("\n") == 1 and f"process {sleeper.pid}" in err
    finally:
        sleeper.kill()
        sleeper.wait()
    final = importlib.import_module("mdgan").main(["--resume", str(out), "--steps", "6"])  # its process is gone
    assert final["step"] == 6 and not (out / ".lock").exists()


@pytest.mark.parametrize("key, value", [("variant", "bogus"), ("seed", -1), ("batch", 2.5), ("dataset", None), ("lr", "x")])
def test_a_hand_edited_args_json_is_held_to_the_flags_rules(tmp_path, capsys, key, value):
    out = tmp_path / "run"
    run("mdgan", out, steps=3)
    stored = json.loads((out / "args.json").read_text())
    (out / "args.json").write_text(json.dumps({**stored, key: value}))
    code, err = cli(capsys, "mdgan", "--resume", str(out), "--steps", "6")
    assert code == 2 and err.count("\n") == 1 and f"--{key}" in err and "Traceback" not in err


def test_divergence_advice_names_the_training_flags_the_run_set(tmp_path, capsys):
    """A tiny pre-sample or a huge penalty weight diverges as a high rate does: the advice names them."""
    code, err = cli(capsys, "mdgan", *TINY["mdgan"], "--lambda1", "1e30", "--steps", "40", "--eval-n", "64",
                    "--device", DEVICE, "--out", str(tmp_path / "run"))
    assert code == 2 and "diverged" in err and "--lambda1" in err and err.count("\n") == 1


@pytest.mark.parametrize("damage", ["no rng", "nan weights", "other sizes", "metrics rows", "args list"])
def test_a_damaged_run_file_is_one_line_that_names_it_and_changes_nothing(tmp_path, capsys, damage):
    out = tmp_path / "run"
    run("mdgan", out, "--ckpt-every", "3", steps=3)
    ckpt = torch.load(out / "ckpt.pt", weights_only=True)
    if damage == "no rng":
        del ckpt["rng"]
    elif damage == "nan weights":
        next(iter(ckpt["G"].values())).fill_(float("nan"))
    elif damage == "other sizes":
        ckpt["G"] = {k: torch.zeros(3) for k in ckpt["G"]}
    common.save_checkpoint(str(out / "ckpt.pt"), ckpt)
    if damage == "metrics rows":
        (out / "metrics.jsonl").write_text('{"step": 3}\n{"step": 6, "emd": 0.')
    if damage == "args list":
        (out / "args.json").write_text("[1, 2]")
    before = snapshot(out)
    code, err = cli(capsys, "mdgan", "--resume", str(out), "--steps", "6")
    named = {"metrics rows": "metrics.jsonl", "args list": "args.json"}.get(damage, "ckpt.pt")
    assert code == 2 and err.count("\n") == 1 and named in err and "Traceback" not in err, err
    assert snapshot(out) == before


def test_a_damaged_final_metrics_file_is_written_afresh_when_a_finished_run_is_rescored(tmp_path, capsys):
    out = tmp_path / "run"
    first = run("mdgan", out, steps=3)
    (out / "final_metrics.json").write_text("{not json")
    again = importlib.import_module("mdgan").main(["--resume", str(out)])
    assert again["emd"] == first["emd"] and "wall_s" not in again and "was damaged" in capsys.readouterr().out


@pytest.mark.parametrize("folder", ["/proc", "/sys/kernel"])
def test_an_out_folder_that_takes_no_files_is_one_line(tmp_path, capsys, folder):
    if not os.path.isdir(folder):
        pytest.skip(f"no {folder} on this system")
    code, err = cli(capsys, "mdgan", *TINY["mdgan"], "--steps", "2", "--out", folder)
    assert code == 2 and err.count("\n") == 1 and f"--out {folder}" in err


def test_a_slow_run_is_never_silent(capsys):
    """`--batch 100000` ran past 120 s without a word: a short line comes whenever quiet_s pass."""
    progress = common.Progress(total=1000, every=500, quiet_s=0.0)
    for step in (1, 2, 3):
        progress.update(step, loss=torch.tensor(1.0))
    assert capsys.readouterr().out.count("steps/s") == 3


def test_a_folder_of_the_users_files_is_no_run_folder(tmp_path, capsys):
    """A run writes samples.png, curves.png, ...: a folder that holds a user's files (and no run) is
    refused, with --overwrite too, and keeps them."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "samples.png").write_bytes(b"the user's picture")
    for extra in ([], ["--overwrite"]):
        code, err = cli(capsys, "mdgan", *TINY["mdgan"], "--steps", "2", "--out", str(out), *extra)
        assert code == 2 and err.count("\n") == 1 and "not a run's (samples.png)" in err
    assert [p.name for p in out.iterdir()] == ["samples.png"] and (out / "samples.png").read_bytes() == b"the user's picture"


def test_the_floor_cache_lives_in_the_data_dir_not_beside_the_run(tmp_path):
    run("mdgan", tmp_path / "mine" / "run", "--data-dir", str(tmp_path / "data"), steps=2)
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["run"]
    assert isinstance(json.loads((tmp_path / "data" / "emd_floors.json").read_text()), dict)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_data_file_smaller_than_one_batch_is_one_line_and_writes_nothing(tmp_path, capsys, script):
    np.save(tmp_path / "few.npy", np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32))
    code, err = cli(capsys, script, *TINY[script], "--dataset", str(tmp_path / "few.npy"), "--out", str(tmp_path / "run"))
    assert code == 2 and err.count("\n") == 1 and "--batch 32 is more than the 3 samples" in err
    assert not (tmp_path / "run").exists()


def test_two_runs_started_in_the_same_second_get_two_default_folders(tmp_path, monkeypatch):
    """The default --out names the process, so two runs of one script, seed and data set started in
    the same second (two terminals, a job array) never share a folder."""
    import datetime
    import types
    monkeypatch.chdir(tmp_path)
    second = datetime.datetime(2026, 1, 1, 12, 0, 0)
    monkeypatch.setattr(common, "datetime", types.SimpleNamespace(datetime=types.SimpleNamespace(now=lambda: second)))
    for pid in (1111, 2222):
        monkeypatch.setattr(common.os, "getpid", lambda: pid)
        importlib.import_module("mdgan").main([*TINY["mdgan"], "--steps", "2"])
    folders = sorted(os.listdir(tmp_path / "runs"))
    assert len(folders) == 2 and all((tmp_path / "runs" / f / "final_metrics.json").exists() for f in folders)
