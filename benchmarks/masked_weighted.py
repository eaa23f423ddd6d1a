"""The masked / weighted prior paper's ring experiments, over seeds, from one command each.

    python benchmarks/masked_weighted.py table --loss wgan   # Fig. 2 table: constant, masked, weighted,
                                                             # masked at generation; EMD curves (PNG)
    python benchmarks/masked_weighted.py rates --loss wgan   # Fig. 4: final EMD against the masking rate
    python benchmarks/masked_weighted.py arc --loss gan --steps 4000  # the masked prior's arc: G against the mask
    python benchmarks/masked_weighted.py images --seeds 3 --steps 12000 --jobs 1 --data-dir ../shared/data/mnist-5k
                                                             # Figs. 5-6: MNIST, the original GAN's MLP, 300 epochs
    python benchmarks/masked_weighted.py table --steps 3000 --tag clip0.01 -- --wgan-penalty clip --optimizer rmsprop --lr-d 1e-4
                                                             # the original WGAN (weight clipping 0.01, RMSProp)
    python benchmarks/masked_weighted.py table --steps 3000 --tag clip0.3 -- --wgan-penalty clip --optimizer rmsprop --lr-d 1e-4 --clip 0.3

Every arm shares every setting but the prior. Runs go to benchmarks/runs/, in folders named after
the loss and step count (flags after `--` add a hash of them): a finished run, one with
final_metrics.json, is reused only for the same settings, and an interrupted sweep resumes. One
process per run, `--jobs` at a time, each on one thread. Results: benchmarks/results/*.json, *.md and *.png.
Flags after `--` go to every run of masked_weighted_gan.py (e.g. `-- --lr 1e-3`).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np

from runner import ROOT, common, plots, finished, load, mean_std, run_all, settings_suffix, write_outputs

SCRIPT = os.path.join(ROOT, "masked_weighted_gan.py")
ARMS = {"constant": ["--prior", "constant"], "masked": ["--prior", "masked"], "weighted": ["--prior", "weighted"]}
# The constant-prior GAN masked only at generation (paper: 0.3378) is the constant runs' final
# checkpoints, re-evaluated with --sample-prior masked: no second training of the same network.
MASKED_AT_GENERATION = "masked at generation"
PAPER_EMD = {"constant": 0.3195, "masked": 0.1328, "weighted": 0.0891, "masked at generation": 0.3378}  # WGAN, r 0.5


def settings_tag(kind: str, args, extra: list[str]) -> str:
    """Run-folder prefix: experiment, loss and steps, plus a hash of any other flags."""
    changed = [*extra, *(["--eval-every", str(args.eval_every)] if kind == "table" and args.eval_every != 250 else [])]
    return f"{kind}-{args.loss}-{args.steps}{settings_suffix(changed)}"


def resample(trained: list[str], copies: list[str], sample_prior: str, jobs: int, records: str | None = None,
             files: tuple = ("args.json", "ckpt.pt")) -> None:
    """Finished runs sampled through another prior without training them again: each one's `files`
    copied into a folder of its own, which is then resumed with --sample-prior (re-scored only)."""
    for run_dir, copy in zip(trained, copies):
        if finished(copy, records):
            continue
        if not os.path.isfile(os.path.join(run_dir, "ckpt.pt")):
            raise common.UserError(f"{copy} needs the checkpoint of {run_dir}, which is gone: delete its record "
                                   f"in {records} and run this command again to retrain it")
        os.makedirs(copy, exist_ok=True)
        for name in files:
            shutil.copyfile(os.path.join(run_dir, name), os.path.join(copy, name))
    run_all([(SCRIPT, d, ["--sample-prior", sample_prior]) for d in copies], jobs, records)


def table(args, extra: list[str]) -> None:
    base = ["--loss", args.loss, "--steps", str(args.steps), "--eval-every", str(args.eval_every), *extra]
    tag = settings_tag("table", args, extra)
    runs = {arm: [os.path.join(args.runs, f"{tag}-{arm.replace(' ', '_')}-s{seed}") for seed in range(args.seeds)]
            for arm in [*ARMS, MASKED_AT_GENERATION]}
    run_all([(SCRIPT, d, [*flags, *base, "--seed", str(seed)]) for arm, flags in ARMS.items()
             for seed, d in enumerate(runs[arm])], args.jobs)
    resample(runs["constant"], runs[MASKED_AT_GENERATION], "masked", args.jobs)
    rows, curves, summary = [], {}, {}
    for arm, dirs in runs.items():
        finals, logs = zip(*(load(d) for d in dirs))
        summary[arm] = {k: [f[k] for f in finals] for k in ("emd", "emd_floor", "modes", "hq", "kl", "wall_s")}
        if arm in ARMS:
            emd = np.array([[r["emd"] for r in log] for log in logs])
            curves[arm] = ([r["step"] for r in logs[0]], emd.mean(0), emd.std(0))
            summary[arm]["best_emd"] = emd.min(1).tolist()
        paper = PAPER_EMD[arm] if args.loss == "wgan" else None
        rows.append(f"| {arm} | {mean_std(summary[arm]['emd'])} | {np.mean(summary[arm]['emd_floor']):.4f} | "
                    f"{finals[0]['emd_n']} | {mean_std(summary[arm]['modes'], 1)} | {mean_std(summary[arm]['hq'], 2)} | "
                    f"{mean_std(summary[arm]['kl'], 3)} | "
                    f"{mean_std(summary[arm]['best_emd']) if 'best_emd' in summary[arm] else '—'} | {paper or '—'} | "
                    f"{' '.join(f'{e:.3f}' for e in summary[arm]['emd'])} |")
    floor = float(np.mean(summary["constant"]["emd_floor"]))
    name = os.path.join(args.results, f"masked_weighted_{args.loss}{'-' + args.tag if args.tag else ''}")
    header = ("| prior | final EMD (mean ± std) | floor | n | modes /8 | HQ % | KL | best EMD during training | "
              "paper EMD | final EMD per seed |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    write_outputs(name, header, rows, summary, args)
    plots.write_png(name + "_curves.png", plots.line_plot(curves, f"ring, {args.loss}{' ' + args.tag if args.tag else ''}: EMD over training ({args.seeds} seeds)",
                         "generator step", "EMD", hlines={"data floor": floor}))


def rates(args, extra: list[str]) -> None:
    base = ["--loss", args.loss, "--steps", str(args.steps), "--eval-every", str(args.steps), "--presample", "2000",
            "--prior", "masked", *extra]
    grid = [round(r, 2) for r in np.arange(0.1, 1.01, 0.1)]
    tag = settings_tag("rates", args, extra)
    runs = {r: [os.path.join(args.runs, f"{tag}-r{r:.1f}-s{seed}") for seed in range(args.seeds)] for r in grid}
    run_all([(SCRIPT, d, [*base, "--rate", str(r), "--seed", str(seed)]) for r in grid for seed, d in enumerate(runs[r])],
            args.jobs)
    summary, rows = {}, []
    for r, dirs in runs.items():
        finals = [load(d)[0] for d in dirs]
        summary[str(r)] = {k: [f[k] for f in finals] for k in ("emd", "emd_floor", "modes", "hq", "kl")}
        rows.append(f"| {r:.1f} | {mean_std(summary[str(r)]['emd'])} | {np.mean(summary[str(r)]['emd_floor']):.4f} | "
                    f"{mean_std(summary[str(r)]['modes'], 1)} | {' '.join(f'{e:.3f}' for e in summary[str(r)]['emd'])} |")
    name = os.path.join(args.results, f"masked_weighted_rates_{args.loss}{'-' + args.tag if args.tag else ''}")
    header = "| rate r | EMD (mean ± std) | floor | modes /8 | EMD per seed |\n| --- | --- | --- | --- | --- |"
    write_outputs(name, header, rows, summary, args)
    emd = np.array([summary[str(r)]["emd"] for r in grid])
    floor = float(np.mean([summary[str(r)]["emd_floor"] for r in grid]))
    plots.write_png(name + ".png", plots.line_plot({"masked prior": (grid, emd.mean(1), emd.std(1))},
                         f"ring, {args.loss}: final EMD against masking rate ({args.seeds} seeds)", "masking rate r",
                         "EMD", hlines={"data floor": floor}))


def arc(args, extra: list[str]) -> None:
    """Why the masked prior draws an arc with the standard GAN loss: G against the mask.

    For the masked runs of `table` (same folders, reused when finished): G's samples under the uniform
    prior (the run re-evaluated with --sample-prior constant), the masked samples it was scored on,
    and how much of D's score over G's samples a plane explains (R^2 of s ~ a + b . G(z)): a tilted
    plane's median cut keeps a half-plane, i.e. an arc of the ring."""
    import torch
    sys.path.insert(0, ROOT)
    import data as datasets
    import masked_weighted_gan as mw

    base = ["--loss", args.loss, "--steps", str(args.steps), "--eval-every", str(args.eval_every), *extra]
    tag = settings_tag("table", args, extra)
    masked = [os.path.join(args.runs, f"{tag}-masked-s{seed}") for seed in range(args.seeds)]
    uniform = [os.path.join(args.runs, f"{tag}-masked_under_uniform-s{seed}") for seed in range(args.seeds)]
    run_all([(SCRIPT, d, ["--prior", "masked", *base, "--seed", str(seed)]) for seed, d in enumerate(masked)], args.jobs)
    resample(masked, uniform, "constant", args.jobs)
    rows, summary, pictures = [], {}, []
    ds = datasets.ring()
    from_model, extent = ds.model_maps(identity=False)[3], (-1.5, 1.5, -1.5, 1.5)
    for seed, (trained, copy) in enumerate(zip(masked, uniform)):
        with open(os.path.join(trained, "args.json")) as f:
            run_args = argparse.Namespace(**json.load(f))
        nets, _ = mw.build_networks(ds, run_args, "cpu")
        G, D = nets["G"], nets["D"]
        state = common.load_checkpoint(os.path.join(trained, "ckpt.pt"))
        G.load_state_dict(state["G"]), D.load_state_dict(state["D"])
        z = mw.sample_uniform_prior(run_args.presample, run_args.z_dim, torch.Generator().manual_seed(seed))
        with torch.no_grad():
            x = G(z)
            scores = mw.prior_scores(G, D, z).double().numpy()
        design = np.column_stack([np.ones(len(z)), x.double().numpy()])
        coef, *_ = np.linalg.lstsq(design, scores, rcond=None)
        r2 = 1 - np.sum((scores - design @ coef) ** 2) / np.sum((scores - scores.mean()) ** 2)
        kept = scores >= np.quantile(scores, 1 - run_args.rate)
        points = from_model(x).numpy()
        angle = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
        tilt = np.degrees(np.arctan2(coef[2], coef[1]))
        (f_masked, _), (f_uniform, _) = load(trained), load(copy)
        summary[f"s{seed}"] = dict(r2=float(r2), tilt_deg=float(tilt), masked=f_masked, uniform=f_uniform,
                                   kept_angle_mean=float(np.degrees(np.angle(np.exp(1j * np.radians(angle[kept])).mean()))))
        rows.append(f"| {seed} | {f_uniform['modes']} | {f_uniform['emd']:.3f} | {f_masked['modes']} | {f_masked['emd']:.3f} | "
                    f"{r2:.2f} | {tilt:.0f}° | {summary[f's{seed}']['kept_angle_mean']:.0f}° |")
        pictures += [plots.heatmap(points, extent, f"seed {seed}: G(z), z uniform", ds.centers),
                     plots.heatmap(points[kept], extent, f"seed {seed}: the top {run_args.rate:g} by score", ds.centers)]
    header = ("| seed | modes, G under the uniform prior | EMD | modes, masked prior | EMD | R² of the score as a plane "
              "over G's samples | direction of the plane's rise | mean angle of the kept samples |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- |")
    name = os.path.join(args.results, f"masked_weighted_arc_{args.loss}{'-' + args.tag if args.tag else ''}")
    write_outputs(name, header, rows, summary, args)
    plots.write_png(name + ".png", plots.tile(pictures, 2))
    print(f"wrote {name}.png")


def images(args, extra: list[str]) -> None:
    """Figs. 5-7: an image set with the original GAN's MLP (`--arch gan-mlp`, the script's preset:
    SGD lr 0.01, momentum 0.5 rising to 0.7, batch 100) or DCGAN; per arm the classes G's 2,000
    samples fall into (the script's classifier, trained on the same data set) and the share of the
    commonest class, the paper's "only captures the digit 1"; the picture has seed 0's samples (Fig. 5)
    and each arm's class histogram pooled over its seeds (Fig. 6). The constant-prior runs are sampled
    through the mask as soon as they finish, while their checkpoints are still there: every finished
    run is kept in --records, so the table is built over several sittings."""
    base = ["--dataset", args.dataset, "--arch", args.arch, "--steps", str(args.steps),
            *(["--data-dir", args.data_dir] if args.data_dir else []), *extra]
    tag = f"masked_weighted-{args.dataset}-{args.arch}-{args.steps}{settings_suffix(extra)}"
    arms = [arm for arm in [*ARMS, MASKED_AT_GENERATION] if arm in args.arms]
    runs = {arm: [os.path.join(args.runs, f"{tag}-{arm.replace(' ', '_')}-s{seed}") for seed in range(args.seeds)]
            for arm in [*ARMS, MASKED_AT_GENERATION]}
    records = args.records or None
    run_all([(SCRIPT, d, [*ARMS["constant"], *base, "--seed", str(seed)]) for seed, d in enumerate(runs["constant"])],
            args.jobs, records)
    # with the metrics log: the re-scoring rewrites its last row, class shares and all
    resample(runs["constant"], runs[MASKED_AT_GENERATION], "masked", args.jobs, records,
             ("args.json", "ckpt.pt", "metrics.jsonl"))
    run_all([(SCRIPT, d, [*ARMS[arm], *base, "--seed", str(seed)]) for arm in ("masked", "weighted") if arm in arms
             for seed, d in enumerate(runs[arm])], args.jobs, records)
    rows, summary, pictures, captions = [], {}, [], []
    for arm in arms:
        finals, logs = zip(*(load(d, records) for d in runs[arm]))
        shares = np.array([log[-1]["class_shares"] for log in logs])
        summary[arm] = {"classes_hit": [f["classes_hit"] for f in finals], "class_kl": [f["class_kl"] for f in finals],
                        "class_shares": shares.tolist(), "top_class": shares.argmax(1).tolist(),
                        "top_share": shares.max(1).tolist(), "wall_s": [f["wall_s"] for f in finals],
                        "classifier_accuracy": finals[0]["classifier_accuracy"]}
        rows.append(f"| {arm} | {mean_std(summary[arm]['classes_hit'], 1)} | {mean_std(summary[arm]['class_kl'], 3)} | "
                    f"{mean_std(summary[arm]['top_share'], 3)} | {' '.join(map(str, summary[arm]['top_class']))} | "
                    f"{' '.join(map(str, summary[arm]['classes_hit']))} | {' '.join(f'{s:.2f}' for s in shares.mean(0))} |")
        # Fig. 5's samples need seed 0's folder; Fig. 6's histogram, pooled over the seeds, needs only the records
        if os.path.isfile(os.path.join(runs[arm][0], "samples.png")):
            pictures.append(os.path.join(runs[arm][0], "samples.png"))
            captions.append(f"{arm}, seed 0")
        pooled = f"{args.seeds} seeds pooled" if args.seeds > 1 else "seed 0"
        pictures.append(plots.histogram_picture(shares.mean(0), f"{arm}: classes, {pooled}"))
        captions.append("")
    name = os.path.join(args.results, f"masked_weighted_{args.dataset}_{args.arch}_{args.steps}"
                        f"{'-' + args.tag if args.tag else ''}")
    header = (f"{args.dataset}, {args.arch}, {args.steps} steps, {args.seeds} seed{'s' * (args.seeds > 1)}; 2,000 samples per run, classified "
              f"by a classifier of test accuracy {summary[arms[0]]['classifier_accuracy']:.3f}.\n\n"
              "| prior | classes hit /10 | KL to uniform | share of the commonest class | commonest class per seed | "
              "classes hit per seed | mean share of each class 0-9 |\n| --- | --- | --- | --- | --- | --- | --- |")
    write_outputs(name, header, rows, summary, args)
    plots.write_png(name + ".png", plots.tile(pictures, 4, captions))
    print(f"wrote {name}.png")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = common.ScriptParser(prog="benchmarks/masked_weighted.py", description=__doc__.split("\n\n")[0], formatter_class=common.HelpFormatter)
    p.add_argument("experiment", choices=["table", "rates", "arc", "images"],
                   help="table: the four priors; rates: Fig. 4 sweep; arc: the masked prior's arc, G against the mask; "
                        "images: the four priors on an image set, class histograms (Figs. 5-7)")
    p.add_argument("--loss", default="wgan", choices=["wgan", "gan"], help="WGAN (paper a) or standard GAN (paper b)")
    p.add_argument("--seeds", type=common.number(int, at_least=1), default=None, help="seeds per arm (default 5 for table, 3 for rates as in the paper)")
    p.add_argument("--steps", type=common.number(int, at_least=1), default=3000, help="generator steps per run")
    p.add_argument("--eval-every", type=common.number(int, at_least=1), default=250, help="evaluation interval for the EMD curves")
    p.add_argument("--tag", default="", help="added to the result files' names, for runs with flags after --")
    p.add_argument("--jobs", type=common.number(int, at_least=1), default=2, help="runs at a time (one thread each)")
    p.add_argument("--runs", default=os.path.join(ROOT, "benchmarks", "runs"), help="where the run folders go")
    p.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"), help="where tables and plots go")
    g = p.add_argument_group("images")
    g.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"], help="image set")
    g.add_argument("--data-dir", default=None, help="its folder (default: the script's)")
    g.add_argument("--arch", default="gan-mlp", choices=["gan-mlp", "dcgan"], help="the original GAN's MLP, or DCGAN")
    g.add_argument("--arms", nargs="+", default=[*ARMS, MASKED_AT_GENERATION], choices=[*ARMS, MASKED_AT_GENERATION],
                   help="priors to train (the constant one always: the masked-at-generation arm samples it)")
    g.add_argument("--records", default=os.path.join(ROOT, "benchmarks", "records"),
                   help="where each finished run is kept as one small JSON file, so a table outlives its run folders "
                        "('' for none)")
    args = p.parse_args(argv)
    args.seeds = args.seeds or (3 if args.experiment in ("rates", "images") else 5)
    {"table": table, "rates": rates, "arc": arc, "images": images}[args.experiment](args, extra)


if __name__ == "__main__":
    common.run_main(main)
