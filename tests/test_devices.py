"""The GPU path, checked on any machine: what a CUDA or MPS run saves, restores and records, and an
audit that every tensor a training step or an evaluation makes names its device and every random
draw its generator. GAN_TEST_DEVICE=cuda runs the whole suite on a GPU (conftest.DEVICE)."""
import importlib
import json
import os
import sys

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

import base
import common
import data
import masked_weighted_gan as mw
import metrics
import pgan
import runner
from conftest import DEVICE

SCRIPTS = list(runner.SCRIPTS)
TINY = {script: importlib.import_module(f"test_{script}").TINY for script in SCRIPTS}


class OnDevice(torch.Tensor):
    """A tensor that acts as one on an accelerator without float64 (MPS) would, on a CPU-only machine:
    a float64 result raises, and `.cpu()` hands back a plain CPU tensor."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.Tensor.cpu:
            with torch._C.DisableTorchFunctionSubclass():
                return func(*args, **(kwargs or {})).as_subclass(torch.Tensor)
        result = super().__torch_function__(func, types, args, kwargs)
        if isinstance(result, torch.Tensor) and result.dtype == torch.float64:
            raise TypeError("float64 on a device that has none (MPS)")
        return result


def tiny_run(script, out, *extra, steps=6):
    return importlib.import_module(script).main([*TINY[script], "--steps", str(steps), "--eval-n", "64",
                                                 "--eval-every", "3", "--ckpt-every", "3", "--out", str(out), *extra])


def test_a_run_records_the_device_it_used(tmp_path):
    """Defect 8: args.json kept "auto"."""
    final = tiny_run("mdgan", tmp_path / "run", "--device", "auto")
    used = json.loads((tmp_path / "run" / "args.json").read_text())["device_used"]
    assert used == final["device"] == str(common.get_device("auto"))


def test_a_checkpoint_from_another_device_resumes_with_a_note(tmp_path, capsys):
    """Defect 1: a checkpoint whose noise stream was drawn on CUDA (Philox, 16 bytes) resumed on the
    CPU raised a raw RuntimeError in Generator.set_state; now that stream starts afresh and the run says so."""
    out = tmp_path / "run"
    tiny_run("mdgan", out, "--device", "cpu", steps=3)
    ckpt = torch.load(out / "ckpt.pt", weights_only=True)
    ckpt["rng"]["generators"][1] = torch.zeros(16, dtype=torch.uint8)  # a CUDA generator's state
    ckpt["rng"]["generator_devices"][1] = ckpt["rng"]["device"] = "cuda"
    base.save_checkpoint(str(out / "ckpt.pt"), ckpt)
    final = importlib.import_module("mdgan").main(["--resume", str(out), "--steps", "6", "--device", "cpu"])
    assert final["step"] == 6 and "were drawn on cuda" in capsys.readouterr().out


def test_the_device_stream_is_saved_and_restored(monkeypatch):
    """Defect 2: only the CPU stream was checkpointed, so dropout on CUDA drew other masks after a resume."""
    saved, restored = torch.tensor([7, 7], dtype=torch.uint8), []
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device="cuda": saved)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device="cuda": restored.append(state))
    gen = torch.Generator()
    state = common.rng_state(gen, device="cuda")
    assert torch.equal(state["device_stream"], saved) and state["device"] == "cuda"
    assert common.set_rng_state(state, gen, device="cuda") == [] and torch.equal(restored[0], saved)
    common.set_rng_state(state, gen, device="cpu")  # another device: its stream is not forced on this one
    assert len(restored) == 1


def test_fork_rng_protects_the_mps_stream(monkeypatch):
    """Defect 2, MPS: fork_rng(devices=[]) forks the CPU stream only."""
    calls = []
    monkeypatch.setattr(torch.random, "fork_rng", lambda **kw: calls.append(kw))
    base.fork_rng(torch.device("mps"))
    base.fork_rng(torch.device("cpu"))
    assert calls[0]["device_type"] == "mps" and calls[0]["devices"] and calls[1] == {"devices": []}


def test_the_classifier_trains_on_the_cpu_whatever_the_run_device(tmp_path, mnist_dir):
    """Defect 3: it trained on the run's device and was cached under a key without it, so the first
    run on a machine decided every later class metric. On the meta device (no data) it is handed over
    there, and its cache holds what a CPU training gives."""
    ds = data.load_dataset("mnist", str(mnist_dir))
    on_meta, accuracy_meta = metrics.get_classifier(ds, str(tmp_path / "a"), device="meta")
    on_cpu, accuracy_cpu = metrics.get_classifier(ds, str(tmp_path / "b"))
    assert next(on_meta.parameters()).device.type == "meta" and accuracy_meta == accuracy_cpu
    (cached,) = (tmp_path / "a" / "classifiers").glob("*.pt")
    state = base.load_checkpoint(str(cached))["model"]
    assert all(torch.equal(state[k], v) for k, v in on_cpu.state_dict().items())


def test_pgan_histograms_take_float64_only_on_the_cpu():
    """Defect 4: `h.double().cpu()` raised on MPS, which has no float64."""
    h_real, h_fake = (torch.randn(50, 3, generator=torch.Generator().manual_seed(s)).as_subclass(OnDevice) for s in (0, 1))
    result = pgan.embedding_histogram(h_real, h_fake, 10)
    assert 0 <= result["overlap"] <= 1


def test_nan_prior_weights_stop_before_multinomial(monkeypatch):
    """Defect 5: on CUDA multinomial's check of NaN weights is a device-side assert that surfaces
    later; the weights are checked first. Here multinomial is replaced by one that, as CUDA's, does
    not raise at once."""
    monkeypatch.setattr(torch, "multinomial", lambda weights, m, **kw: torch.zeros(m, dtype=torch.long))
    scores = torch.tensor([0.0, float("nan"), 1.0])
    with pytest.raises(common.Diverged, match="not finite"):
        mw.weighted_prior_batch(torch.zeros(3, 2), scores, "gan", 4, torch.Generator())


def test_deterministic_sets_the_deterministic_flags_and_checkpoints_hold_plain_cpu_tensors(tmp_path, monkeypatch):
    """Defect 6: no way to ask for deterministic kernels; checkpoints held the device's tensors, which
    a CPU-only machine cannot load with weights_only (stood in for by a tensor subclass)."""
    seen = []
    real_step = mw.train_step
    monkeypatch.setattr(mw, "train_step", lambda *a: seen.append((torch.are_deterministic_algorithms_enabled(),
                                                                  torch.backends.cudnn.deterministic)) or real_step(*a))
    tiny_run("masked_weighted_gan", tmp_path / "d", "--deterministic", "--device", "cpu", steps=2)
    tiny_run("masked_weighted_gan", tmp_path / "n", "--device", "cpu", steps=2)
    assert seen == [(True, True)] * 2 + [(False, False)] * 2
    base.save_checkpoint(str(tmp_path / "c.pt"), {"w": torch.ones(3).as_subclass(OnDevice), "step": 1})
    loaded = torch.load(tmp_path / "c.pt", weights_only=True)
    assert type(loaded["w"]) is torch.Tensor and loaded["w"].device.type == "cpu"


def test_a_benchmarks_pass_through_device_wins(tmp_path):
    """Defect 7: runner put --device cpu after the flags, so `-- --device cuda` never took effect."""
    argv = runner.run_argv(str(tmp_path), ["--steps", "3", "--device", "cuda"])
    assert argv[len(argv) - 1 - argv[::-1].index("--device") + 1] == "cuda"
    assert runner.run_argv(str(tmp_path), ["--steps", "3"])[:2] == ["--device", "cpu"]


# ----------------------------------------------------------------------------- the audit

FACTORIES = {torch.zeros, torch.ones, torch.empty, torch.full, torch.arange, torch.linspace, torch.logspace,
             torch.eye, torch.tensor, torch.rand, torch.randn, torch.randint, torch.randperm}
RANDOM = {torch.rand, torch.randn, torch.randint, torch.randperm, torch.normal, torch.bernoulli, torch.multinomial,
          torch.poisson, torch.Tensor.uniform_, torch.Tensor.normal_, torch.Tensor.random_, torch.Tensor.bernoulli_,
          torch.Tensor.exponential_, torch.Tensor.geometric_, torch.Tensor.cauchy_, torch.Tensor.log_normal_,
          torch.rand_like, torch.randn_like, torch.randint_like}
TORCH_DIR = os.path.dirname(torch.__file__)
DATA_LOADING = os.path.abspath(data.__file__)


class DeviceAudit(TorchFunctionMode):
    """Notes every tensor factory called without device= and every random op without a generator,
    from our code (torch's own internals, data loading and dropout excepted: dropout cannot take a
    generator, and draws from the device's default stream, which the checkpoint holds)."""

    def __init__(self):
        super().__init__()
        self.faults = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES or func in RANDOM:
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.startswith(TORCH_DIR):
                frame = frame.f_back
            where = frame and os.path.abspath(frame.f_code.co_filename)
            ours = where is not None and where != DATA_LOADING and where != os.path.abspath(__file__)
            if ours and not sys._getframe(1).f_code.co_filename.startswith(TORCH_DIR):  # called by our code itself
                name = getattr(func, "__name__", str(func))
                if func in FACTORIES and "device" not in kwargs and not (func is torch.tensor and args and
                                                                          isinstance(args[0], torch.Tensor)):
                    self.faults.add(f"{name} without device= at {os.path.basename(where)}:{frame.f_lineno}")
                if func in RANDOM and kwargs.get("generator") is None:
                    self.faults.add(f"{name} without a generator at {os.path.basename(where)}:{frame.f_lineno}")
        return func(*args, **kwargs)


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("dataset", ["ring", "images"])
def test_every_tensor_a_step_or_an_evaluation_makes_names_its_device_and_generator(tmp_path, monkeypatch, script,
                                                                                    dataset):
    module = importlib.import_module(script)
    audits = []

    def audited(function):
        def wrapper(*args, **kwargs):
            with DeviceAudit() as audit:
                audits.append(audit)
                return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(module, "train_step", audited(module.train_step))
    monkeypatch.setattr(module, "evaluate", audited(module.evaluate))
    extra = ["--device", DEVICE]
    if dataset == "images":
        np.save(tmp_path / "images.npy", np.random.default_rng(0).integers(0, 256, (40, 28, 28)).astype(np.uint8))
        extra += ["--dataset", str(tmp_path / "images.npy")] + (["--tpd-steps", "2"] if script == "mdgan" else [])
    tiny_run(script, tmp_path / "run", *extra, steps=3)
    assert len(audits) >= 4 and not set().union(*(a.faults for a in audits))


def test_a_resumed_run_with_dropout_equals_an_uninterrupted_one(tmp_path):
    """The image MLP's D drops units, drawing from the device's default stream: the checkpoint holds
    that stream, so on CUDA too (with --deterministic) a resumed run gives the uninterrupted one's samples."""
    np.save(tmp_path / "images.npy", np.random.default_rng(0).integers(0, 256, (64, 28, 28)).astype(np.uint8))
    # Adam: the preset's SGD momentum follows --steps, so a 3-step part would be another run
    flags = ["--dataset", str(tmp_path / "images.npy"), "--arch", "gan-mlp", "--optimizer", "adam", "--lr", "2e-4",
             "--lr-d", "2e-4", "--batch", "16", "--presample", "32",
             "--eval-n", "32", "--eval-every", "3", "--ckpt-every", "3", "--device", DEVICE,
             *(["--deterministic"] if DEVICE != "cpu" else [])]
    mw.main([*flags, "--steps", "6", "--out", str(tmp_path / "full")])
    mw.main([*flags, "--steps", "3", "--out", str(tmp_path / "part")])
    mw.main(["--resume", str(tmp_path / "part"), "--steps", "6"])
    np.testing.assert_array_equal(np.load(tmp_path / "part" / "samples.npy"), np.load(tmp_path / "full" / "samples.npy"))
