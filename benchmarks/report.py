"""The reports and the README, built from the stored results: every number a reader sees comes from here.

    python benchmarks/report.py            # writes README.md and docs/*.md from docs/templates/*.md
    python benchmarks/report.py --check    # exit 1 if a committed file differs from what the results give

A template is Markdown with `{{ expression }}` fields. An expression reads the stored results
(`benchmarks/results/<name>.json`, written by the benchmark commands) through the helpers in
`namespace` and names the file and the key it quotes, e.g.
`{{ ms(v("masked_weighted_wgan-clip0.3", "weighted", "emd")) }}`: `v` the stored value, `runs` a run
list's per-seed values, `ms` mean ± std, `seeds` the per-seed values, `table` that benchmark's
Markdown table, `cmd` the command that made it, `img` a picture, `minutes` its runs' time, `of` a
count with its interval, and the comparisons `vs`, `delta`, `brief`, `shown`, `claim`, `ratio`.
A field on a line of its own that gives several lines (a table) replaces the line.

Comparisons between two arms are over paired seeds (seed s of one arm against seed s
of the other: the same data stream and, where the arms share networks, the same initial weights):
the mean difference (or the ratio of the means) with a 95 % percentile-bootstrap interval
(`scipy.stats.bootstrap`, paired, 9,999 resamples, a fixed seed, so the text is the same at every
build). "lower" / "higher" / "better" / "worse" are written only where the interval excludes no
difference; otherwise the field says "no difference shown at n seeds". With 5 seeds a bootstrap
interval is narrow for its coverage (it cannot see beyond the 5 values), so read it as a floor on
the uncertainty, not a test.
"""
from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import warnings

import numpy as np
import scipy.stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIELD = re.compile(r"\{\{(.+?)\}\}", re.S)


class Results:
    """Lazy reader of benchmarks/results/*.json, cached per build."""

    def __init__(self, folder: str):
        self.folder, self.cache, self.files = folder, {}, set()  # files: every file a template read

    def __call__(self, name: str) -> dict:
        if name not in self.cache:
            path = os.path.join(self.folder, name + ".json")
            if not os.path.isfile(path):
                raise KeyError(f"no stored result {path}: run the command that makes it (see the template)")
            with open(path) as f:
                self.cache[name] = json.load(f)
            self.files.add(name + ".json")
        return self.cache[name]


def fmt(x, d: int = 3) -> str:
    """A number with d decimals (integers as integers), a minus sign for negatives."""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)) or (isinstance(x, float) and d == 0):
        return f"{x:,.0f}".replace("-", "−")
    return f"{x:.{d}f}".replace("-", "−")


def namespace(results: Results, results_folder: str) -> dict:
    def v(name, *path):
        """The stored value at results[path...] of benchmarks/results/<name>.json (or at the top level)."""
        node = results(name)
        node = node.get("results", node) if path and path[0] not in node else node
        for key in path:
            if isinstance(node, list) and isinstance(key, dict):  # a list of rows, filtered by key=value
                node = [row for row in node if all(row.get(k) == want for k, want in key.items())]
            else:
                node = node[key]
        return node

    def runs(name, key, **where):
        """The per-seed values of `key` of a run list (mode_collapse), in seed order."""
        rows = sorted((r for r in v(name, "runs") if all(r.get(k) == w for k, w in where.items())),
                      key=lambda r: r["seed"])
        if not rows:
            raise KeyError(f"{name}: no run with {where}")
        return [r[key] for r in rows]

    def mean(values, d=3):
        return fmt(float(np.mean(values)), d)

    def sd(values):
        values = np.asarray(values, float)
        return float(values.std(ddof=1)) if len(values) > 1 else 0.0

    def ms(values, d=3):
        """mean ± sample standard deviation."""
        return f"{mean(values, d)} ± {fmt(sd(values), d)}"

    def seeds(values, d=0):
        return " ".join(fmt(x, d) for x in values)

    def count(values, at_least=None, at_most=None):
        return int(sum((at_least is None or x >= at_least) and (at_most is None or x <= at_most) for x in values))

    def interval(a, b, statistic):
        a, b = np.asarray(a, float), np.asarray(b, float)
        # over 2 seeds the percentile interval is the range of the two differences, which excludes 0
        # half the time when nothing differs: no interval, so no verdict
        if len(a) != len(b) or len(a) < 3:
            raise ValueError(f"paired comparison needs equal seed counts >= 3, got {len(a)} and {len(b)}")
        point = float(statistic(a, b, axis=-1))
        if np.allclose(a - b, (a - b)[0]) and statistic is diff_of_means:
            return point, point, point  # every seed differs by the same amount: the bootstrap is degenerate
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ci = scipy.stats.bootstrap((a, b), statistic, paired=True, vectorized=True, n_resamples=9999,
                                       method="percentile", rng=np.random.default_rng(0)).confidence_interval
        return point, float(ci.low), float(ci.high)

    def vs(a, b, names=("A", "B"), d=3, lower_is_better=None, what=""):
        """'A m ± s against B m ± s; A − B = x [95 % CI lo, hi], n paired seeds: <word>'."""
        point, low, high = interval(a, b, diff_of_means)
        n = len(a)
        if low > 0 or high < 0:
            word = "higher" if low > 0 else "lower"
            if lower_is_better is not None:
                word = ("worse" if low > 0 else "better") if lower_is_better else ("better" if low > 0 else "worse")
            verdict = f"**{names[0]} {word}**"
        else:
            verdict = f"no difference shown at {n} seeds"
        what = f"{what} " if what else ""
        return (f"{what}{names[0]} {ms(a, d)} against {names[1]} {ms(b, d)}; difference "
                f"{fmt(point, d)} [95 % CI {fmt(low, d)}, {fmt(high, d)}], {n} paired seeds: {verdict}")

    def ratio(a, b, d=2):
        """mean(a) / mean(b) with its paired-bootstrap 95 % interval: 'r × [lo, hi]'."""
        point, low, high = interval(a, b, ratio_of_means)
        return f"{fmt(point, d)} × [95 % CI {fmt(low, d)}, {fmt(high, d)}]"

    def ci(a, b, d=3):
        """Just the interval of the mean difference, '[lo, hi]'."""
        _, low, high = interval(a, b, diff_of_means)
        return f"[{fmt(low, d)}, {fmt(high, d)}]"

    def shown(a, b, lower_is_better=None):
        """'lower' / 'higher' (or 'better' / 'worse') or 'no difference shown' for a − b over paired seeds."""
        _, low, high = interval(a, b, diff_of_means)
        if not (low > 0 or high < 0):
            return f"no difference shown at {len(a)} seeds"
        if lower_is_better is None:
            return "higher" if low > 0 else "lower"
        return "worse" if (low > 0) == lower_is_better else "better"

    def delta(a, b, lower_is_better=None, d=None):
        """The verdict word with its interval: '**better** (Δ −0.43 [95 % CI −0.58, −0.30])'; counts
        (integers) with 1 decimal, the rest with 3 unless d says."""
        d = d if d is not None else 1 if all(float(x).is_integer() for x in [*a, *b]) else 3
        point, low, high = interval(a, b, diff_of_means)
        word = shown(a, b, lower_is_better)
        word = word if word.startswith("no difference") else f"**{word}**"
        return f"{word} (Δ {fmt(point, d)} [95 % CI {fmt(low, d)}, {fmt(high, d)}])"

    def brief(a, b, lower_is_better=None, d=None):
        """delta's verdict in few words, for the README: 'better, Δ −0.43 [−0.58, −0.30]'."""
        d = d if d is not None else 1 if all(float(x).is_integer() for x in [*a, *b]) else 2
        point, low, high = interval(a, b, diff_of_means)
        word = shown(a, b, lower_is_better).replace(f" at {len(a)} seeds", "")
        return f"{word}, Δ {fmt(point, d)} [{fmt(low, d)}, {fmt(high, d)}]"

    def claim(*pairs, lower_is_better=False):
        """A paper's claim that arm a beats arm b in every (a, b) pair: '**holds**' where every
        interval shows a better, '**does not hold**' where one shows it worse, else 'not shown at n seeds'."""
        words = [shown(a, b, lower_is_better) for a, b in pairs]
        if all(w == "better" for w in words):
            return "**holds**"
        if any(w == "worse" for w in words):
            return "**does not hold**"
        return f"not shown at {len(pairs[0][0])} seeds"

    def of(k, n):
        """'k of n' with the exact (Clopper-Pearson) 95 % interval of the share: '4 of 5 [95 % CI 28–99 %]'."""
        ci = scipy.stats.binomtest(int(k), int(n)).proportion_ci(0.95)
        return f"{int(k)} of {int(n)} [95 % CI {100 * ci.low:.0f}–{100 * ci.high:.0f} %]"

    def minutes(name, jobs=2):
        """Wall minutes of a stored table's runs on `jobs` cores: the sum of every run's wall_s / jobs."""
        total = []

        def walk(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "wall_s":
                        total.extend(value if isinstance(value, list) else [value])
                    else:
                        walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
        walk(results(name))
        if not total:
            raise KeyError(f"{name}: no wall_s stored")
        return fmt(sum(total) / jobs / 60, 0)

    def table(name, drop_command=True):
        """The Markdown a benchmark command wrote (benchmarks/results/<name>.md), without its first
        line (the command, which `cmd` gives)."""
        with open(os.path.join(results_folder, name + ".md")) as f:
            lines = f.read().rstrip("\n").split("\n")
        results.files.add(name + ".md")
        if drop_command and lines[0].startswith("`python"):
            lines = lines[1:]
        return "\n".join(lines).strip("\n")

    def cmd(name):
        text = v(name, "command") if isinstance(results(name), dict) and "command" in results(name) else \
            table(name, drop_command=False).split("\n")[0].strip("`")
        return text.split(" (run as")[0]  # a table re-labelled after its setting's default changed

    def img(name, alt=""):
        path = os.path.join(results_folder, name)
        if not os.path.isfile(path):
            raise KeyError(f"no picture {path}")
        results.files.add(name)
        return f"![{alt}](../benchmarks/results/{name})"

    def sig(x, n=2):
        """x to n significant digits (gradient norms span many decades)."""
        return f"{x:.{n}g}".replace("-", "−")

    return {name: f for name, f in locals().items() if callable(f) and not isinstance(f, Results)} | {
        "np": np, "fmt": fmt}


def diff_of_means(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def ratio_of_means(a, b, axis=-1):
    return np.mean(a, axis=axis) / np.mean(b, axis=axis)


def render(template: str, env: dict, source: str, errors: list[str]) -> str:
    def one(match):
        expression = match.group(1).strip()
        try:
            value = eval(expression, dict(env))  # our own templates, not user input
        except Exception as error:
            line = template[:match.start()].count("\n") + 1
            errors.append(f"{source}:{line}: {{{{ {expression[:120]} }}}}: {type(error).__name__}: {error}")
            return "(missing)"
        return value if isinstance(value, str) else fmt(value) if isinstance(value, (int, float, np.number)) else str(value)
    text = FIELD.sub(one, template)
    return text.rstrip("\n") + "\n"


def outputs(templates: str, docs: str, readme: str) -> dict[str, str]:
    """template path -> output path: docs/templates/README.md -> README.md, the rest -> docs/NAME.md."""
    pairs = {}
    for name in sorted(os.listdir(templates)):
        if name.endswith(".md"):
            pairs[os.path.join(templates, name)] = readme if name == "README.md" else os.path.join(docs, name)
    return pairs


def build(args, results=None) -> dict[str, str]:
    results = results or Results(args.results)
    env = namespace(results, args.results)
    built, errors = {}, []
    for template, out in outputs(args.templates, args.docs, args.readme).items():
        with open(template) as f:
            text = f.read()
        built[out] = ("<!-- Generated by `python benchmarks/report.py` from "
                      f"{os.path.relpath(template, ROOT)}; edit that file, not this one. -->\n"
                      + render(text, env, os.path.relpath(template, ROOT), errors))
    if errors and not getattr(args, "unused", False):
        print("\n".join(errors), file=sys.stderr)
        raise SystemExit(f"{len(errors)} fields could not be filled from the stored results; nothing written")
    return built


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a committed file differs")
    p.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"), help="stored results")
    p.add_argument("--templates", default=os.path.join(ROOT, "docs", "templates"), help="the templates")
    p.add_argument("--docs", default=os.path.join(ROOT, "docs"), help="where the reports go")
    p.add_argument("--readme", default=os.path.join(ROOT, "README.md"), help="where the README goes")
    p.add_argument("--unused", action="store_true", help="write nothing; list the stored results no template reads")
    args = p.parse_args(argv)
    if args.unused:
        results = Results(args.results)
        build(args, results)
        stems = {os.path.splitext(name)[0] for name in results.files}  # a table's .md and pictures go with its .json
        names = sorted(os.listdir(args.results))
        tables = {name[:-5] for name in names if name.endswith(".json")}
        for name in names:
            stem = os.path.splitext(name)[0]
            owner = max((t for t in tables if stem == t or stem.startswith(t + "_")), key=len, default=stem)
            if name not in results.files and owner not in stems:
                print(name)
        return
    built = build(args)
    stale = []
    for out, text in built.items():
        old = open(out).read() if os.path.isfile(out) else ""
        if old == text:
            continue
        if args.check:
            diff = list(difflib.unified_diff(old.split("\n"), text.split("\n"), out, "from the stored results", n=0, lineterm=""))
            stale.append(out)
            print("\n".join(diff[:12]))
        else:
            os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
            with open(out + ".tmp", "w") as f:
                f.write(text)
            os.replace(out + ".tmp", out)
            print(f"wrote {os.path.relpath(out, ROOT)}")
    if args.check:
        if stale:
            print(f"{len(stale)} of {len(built)} files differ from the stored results: run python benchmarks/report.py",
                  file=sys.stderr)
            raise SystemExit(1)
        print(f"{len(built)} files match the stored results")


if __name__ == "__main__":
    main()
