"""A study file: the base experiment, its seeds and its lines, read from YAML into `Study`.

    name: imdb_cnn_full                       # names the logs folder
    base: experiments/imdb_cnn_full.json      # a run_lth config (flags as JSON); paths are relative to where you run
    output: runs/imdb_cnn_full_seed{seed}     # one experiment folder per seed
    results: results/imdb_cnn_full_seed{seed} # where `hf-lth-study publish` copies the records (optional)
    publish_masks: false                      # also publish the masks, so that a line outlives its run folder
    seeds: [42, 43, 44]
    flags: {bf16: true}                       # flags of every line
    lines:                                    # `main` trains the trunk (round 0) and comes first; the others are
      main: {lth_rewind: init}                #   branches on that trunk (`--lth_branch NAME`), run after it
      step500: {lth_rewind: "step:500", lth_controls: [random_pruning, random_reinit], lth_control_rounds: [5, 10]}

With `publish_masks: true`, `publish` adds each line's packed masks and the digest of its initial weights
(`hf_lth.engine.line_state`, about 1/8 byte a prunable weight a round), and `run` passes the main line
`--lth_resume_from RESULTS`: on a machine whose run folder is gone, the line goes on from its published records
(`init` rewinding, IMP or one-shot; `hf_lth.engine.restore`).

A flag's value may be a string, number, bool or list (joined with commas, as `--lth_controls a,b` takes it).

An optional `report:` block says what `hf-lth-study report` writes (`ReportSpec`; default: the lines table):

    report: {metrics: [f1, accuracy], compare: {channel: main}}    # kind: lines (the default)
    report:                                                        # kind: time_to_ticket
      kind: time_to_ticket
      references: [main, imp_fast]                                 # the IMP lines every method is compared with
      targets: {"67.2%": {main: 5, imp_fast: 2, gmp67: 1}}         # at each sparsity: line -> its round there
    report: {kind: instability, analysis: results/NAME_instability_seed{seed}}   # hf-lth-analyze's instability.json
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LTHInputError

MAIN_LINE = "main"
# TrainingArguments flags that pick the machine's precision: they leave a study's plan as it is.
PRECISION_FLAGS = ("bf16", "fp16", "bf16_full_eval", "fp16_full_eval", "tf32", "half_precision_backend")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KEYS = {"name", "base", "output", "results", "publish_masks", "seeds", "flags", "lines", "description", "report"}
REPORT_KINDS = ("lines", "time_to_ticket", "instability")
METRICS = ("accuracy", "f1")
_REPORT_KEYS = {"lines": {"kind", "metrics", "compare", "tensors"},
                "time_to_ticket": {"kind", "metrics", "references", "targets"},
                "instability": {"kind", "analysis"}}


@dataclass
class ReportSpec:
    """What `hf-lth-study report` writes for a study.

    Args:
        kind: `lines` (every line's rounds with intervals and verdicts), `time_to_ticket` (each method's ticket at
            given sparsities against its cost and the IMP references) or `instability` (hf-lth-analyze's
            instability over seeds).
        metrics: the metrics, one table each (None: the one the records select on).
        compare: lines: line -> another line; adds the paired difference line − other at each round.
        tensors: lines: `{line: NAME, round: R}` adds the per-tensor sparsity of that round (mean over seeds), as a
            layer × matrix grid where the names hold `layer.N.`.
        references: time_to_ticket: the IMP lines every method is compared with.
        targets: time_to_ticket: label -> {line: the round at which that line reaches the label's sparsity}.
        analysis: instability: the folder of each seed's `instability.json`, with `{seed}`.
    """

    kind: str = "lines"
    metrics: list[str] | None = None
    compare: dict[str, str] = field(default_factory=dict)
    tensors: dict[str, Any] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    targets: dict[str, dict[str, int]] = field(default_factory=dict)
    analysis: str | None = None


@dataclass
class Line:
    """One line of a study: the main line or a branch on its trunk.

    Args:
        name: `main`, or the branch's name.
        flags: the line's own flags (over the study's).
    """

    name: str
    flags: dict[str, Any] = field(default_factory=dict)

    @property
    def is_main(self) -> bool:
        """True for the main line, which trains the trunk."""
        return self.name == MAIN_LINE


@dataclass
class LinePlan:
    """What a line runs to: its last pruned round and, per control, the rounds that get it."""

    rounds: int
    controls: dict[str, list[int]]


@dataclass
class Study:
    """A study: one experiment folder per seed, each holding the same lines.

    Args:
        name: the study's name.
        base: the run_lth config every line starts from.
        output: the experiment folder of a seed, with `{seed}`.
        seeds: the seeds.
        lines: the lines, the main line first.
        flags: flags of every line.
        results: where published records go, with `{seed}` (None: not published).
        publish_masks: publish the masks too, and let the main line go on from them (`--lth_resume_from`).
        description: free text.
        path: the study file.
        report: what `hf-lth-study report` writes.
    """

    name: str
    base: Path
    output: str
    seeds: list[int]
    lines: list[Line]
    flags: dict[str, Any] = field(default_factory=dict)
    results: str | None = None
    publish_masks: bool = False
    description: str = ""
    path: Path | None = None
    report: ReportSpec = field(default_factory=ReportSpec)

    def output_dir(self, seed: int) -> Path:
        """The experiment folder of `seed`."""
        return Path(self.output.format(seed=seed))

    def results_dir(self, seed: int) -> Path | None:
        """Where the records of `seed` are published (None: not published)."""
        return Path(self.results.format(seed=seed)) if self.results else None

    def line(self, name: str) -> Line:
        """The line called `name`."""
        for line in self.lines:
            if line.name == name:
                return line
        raise LTHInputError(f"{self.path}: no line '{name}'; its lines are {[l.name for l in self.lines]}.")

    def plan(self, line: Line) -> LinePlan:
        """The pruned rounds and control rounds `line` runs to: its flags over the study's over the base config, read
        as `LTHArguments` (defaults and list flags normalised), with the rounds its method runs (`num_rounds`)."""
        import dataclasses

        from ..methods import get_method
        from ..settings.arguments import LTHArguments

        settings = {**json.loads(Path(self.base).read_text(encoding="utf-8")), **self.flags, **line.flags}
        # Precision flags do not change the plan, and TrainingArguments checks them against this machine: a study
        # run in bf16 elsewhere is planned (and reported) on a CPU without bf16 instructions too.
        names = {f.name for f in dataclasses.fields(LTHArguments)} - set(PRECISION_FLAGS)
        args = LTHArguments(**{key: value for key, value in settings.items() if key in names})
        rounds = get_method(args.lth_method)(args).num_rounds()
        at = args.lth_control_rounds or list(range(1, rounds + 1))
        return LinePlan(rounds, {kind: [r for r in at if r <= rounds] for kind in args.lth_controls})

    def command(self, seed: int, line: Line) -> list[str]:
        """The `python -m hf_lth.run` command of one line of one seed."""
        flags = {**self.flags, **line.flags}
        command = [sys.executable, "-m", "hf_lth.run", str(self.base), "--seed", str(seed),
                   "--output_dir", str(self.output_dir(seed))]
        if not line.is_main:
            command += ["--lth_branch", line.name]
        elif self.publish_masks:
            command += ["--lth_resume_from", str(self.results_dir(seed))]
        for key, value in flags.items():
            command += [f"--{key}", flag_text(value)]
        return command


def flag_text(value: Any) -> str:
    """A YAML value as a command-line flag value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(flag_text(v) for v in value)
    return str(value)


def load_study(path: str | Path) -> Study:
    """Read and check a study file.

    Args:
        path: the YAML file.

    Returns:
        The `Study`.

    Raises:
        LTHInputError: the file is missing or unreadable, or a field is missing or wrong (named in the message).
    """
    import yaml

    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise LTHInputError(f"study file {path} cannot be read: {err.strerror or err}.") from err
    except yaml.YAMLError as err:
        raise LTHInputError(f"study file {path} is not valid YAML: {err}".rstrip(".") + ".") from err
    if not isinstance(spec, dict):
        raise LTHInputError(f"study file {path} must be a mapping with {sorted(_KEYS - {'description'})}.")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise LTHInputError(f"study file {path}: unknown field(s) {unknown}; the fields are {sorted(_KEYS)}.")
    missing = [key for key in ("name", "base", "output", "seeds", "lines") if key not in spec]
    if missing:
        raise LTHInputError(f"study file {path} lacks {missing}.")
    seeds = spec["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise LTHInputError(f"study file {path}: seeds must be a list of integers, got {seeds!r}.")
    if "{seed}" not in str(spec["output"]) or (spec.get("results") and "{seed}" not in str(spec["results"])):
        raise LTHInputError(f"study file {path}: output (and results) must contain '{{seed}}', one folder per seed.")
    lines = spec["lines"]
    if not isinstance(lines, dict) or not lines:
        raise LTHInputError(f"study file {path}: lines must map line names to their flags.")
    if next(iter(lines)) != MAIN_LINE:
        raise LTHInputError(f"study file {path}: the first line must be '{MAIN_LINE}' (it trains the trunk the "
                            f"other lines branch from), got '{next(iter(lines))}'.")
    parsed = []
    for name, flags in lines.items():
        if not _NAME.match(str(name)):
            raise LTHInputError(f"study file {path}: line name '{name}' is not valid: letters, digits, '_', '.', '-'.")
        flags = flags or {}
        if not isinstance(flags, dict):
            raise LTHInputError(f"study file {path}: line '{name}' must map flags to values, got {flags!r}.")
        if "lth_branch" in flags or "output_dir" in flags or "seed" in flags:
            raise LTHInputError(f"study file {path}: line '{name}' sets lth_branch, output_dir or seed, which the "
                                "study sets itself.")
        parsed.append(Line(str(name), dict(flags)))
    base = Path(spec["base"])
    if not base.is_file():
        raise LTHInputError(f"study file {path}: base {base} does not exist (paths are relative to the folder you "
                            "run hf-lth-study from).")
    publish_masks = spec.get("publish_masks", False)
    if not isinstance(publish_masks, bool) or (publish_masks and not spec.get("results")):
        raise LTHInputError(f"study file {path}: publish_masks must be true or false, and true needs results, got "
                            f"{publish_masks!r}.")
    report = _report_spec(path, spec.get("report") or {}, [line.name for line in parsed])
    return Study(name=str(spec["name"]), base=base, output=str(spec["output"]), seeds=list(seeds), lines=parsed,
                 flags=dict(spec.get("flags") or {}), results=spec.get("results"), publish_masks=publish_masks,
                 description=str(spec.get("description", "")), path=path, report=report)


def _report_spec(path: Path, spec: Any, lines: list[str]) -> ReportSpec:
    """Check a study file's `report:` block against its lines."""
    if not isinstance(spec, dict):
        raise LTHInputError(f"study file {path}: report must be a mapping, got {spec!r}.")
    kind = spec.get("kind", "lines")
    if kind not in REPORT_KINDS:
        raise LTHInputError(f"study file {path}: report kind '{kind}' is not one of {list(REPORT_KINDS)}.")
    unknown = sorted(set(spec) - _REPORT_KEYS[kind])
    if unknown:
        raise LTHInputError(f"study file {path}: report field(s) {unknown} do not apply to kind '{kind}'; its "
                            f"fields are {sorted(_REPORT_KEYS[kind])}.")
    metrics = spec.get("metrics")
    if metrics is not None and (not isinstance(metrics, list) or not metrics or set(metrics) - set(METRICS)):
        raise LTHInputError(f"study file {path}: report metrics must be a list of {list(METRICS)}, got {metrics!r}.")
    compare = spec.get("compare") or {}
    targets = spec.get("targets") or {}
    references = spec.get("references") or []
    tensors = spec.get("tensors") or {}
    if tensors and (set(tensors) != {"line", "round"} or not isinstance(tensors["round"], int)):
        raise LTHInputError(f"study file {path}: report tensors must be {{line: NAME, round: R}}, got {tensors!r}.")
    named = list(compare) + list(compare.values()) + references + [n for t in targets.values() for n in t]
    named += [tensors["line"]] if tensors else []
    missing = sorted({str(n) for n in named} - set(lines))
    if missing:
        raise LTHInputError(f"study file {path}: the report names line(s) {missing} the study does not have; its "
                            f"lines are {lines}.")
    if kind == "time_to_ticket":
        if not targets or not references:
            raise LTHInputError(f"study file {path}: a time_to_ticket report needs targets and references.")
        for label, rounds in targets.items():
            if not isinstance(rounds, dict) or not all(isinstance(r, int) and r >= 1 for r in rounds.values()):
                raise LTHInputError(f"study file {path}: report target '{label}' must map lines to rounds >= 1, "
                                    f"got {rounds!r}.")
            if not set(references) & set(rounds):
                raise LTHInputError(f"study file {path}: report target '{label}' names no reference line "
                                    f"({references}).")
    if kind == "instability" and "{seed}" not in str(spec.get("analysis", "")):
        raise LTHInputError(f"study file {path}: an instability report needs analysis: a folder with '{{seed}}'.")
    return ReportSpec(kind=kind, metrics=list(metrics) if metrics else None, compare=dict(compare), tensors=tensors,
                      references=list(references), targets={str(k): dict(v) for k, v in targets.items()},
                      analysis=spec.get("analysis"))
