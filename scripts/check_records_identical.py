#!/usr/bin/env python
"""Check that a refactoring leaves hf_lth's records bit-identical.

Runs a tiny set of experiments (TextCNN on the shipped IMDb sample, one thread) that covers IMP with `init` and
`step:K` rewinding and both controls, a branch, one-shot, GMP, early-bird, channel and N:M granularity, and
resumes (after a finished round, inside a GMP round from a Trainer checkpoint, and from a round whose training had
finished but whose ticket was not written), then writes a digest of every record:

- each round's (and control's) `lth` block of config.json, without the time fields;
- the sha256 of the content (tensors and metadata) of its model.safetensors, lth_mask.safetensors and
  lth_predictions.safetensors;
- its Trainer log (lth_log_history.json) without runtimes and throughputs;
- each line's lth_results.json (without time fields), lth_experiment.json, lth_branch.json and rewind points.

    python scripts/check_records_identical.py run --out /tmp/before.json      # on the old code
    python scripts/check_records_identical.py run --out /tmp/after.json       # on the new code
    python scripts/check_records_identical.py compare /tmp/before.json /tmp/after.json

`run` uses the hf_lth of this checkout (PYTHONPATH is set to it, or to `--repo`), whatever is installed. A resume is
simulated by interrupting a child process at a set moment (KeyboardInterrupt raised from a patched hook) and running the same
command again, so that it is deterministic.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIME_FIELDS = {"train_time_s", "eval_time_s", "wall_time_s", "eval_runtime", "test_runtime", "search_time_s",
               "train_runtime", "train_samples_per_second", "train_steps_per_second", "eval_samples_per_second",
               "eval_steps_per_second", "test_samples_per_second", "test_steps_per_second"}
TINY = ["--model_name_or_path", "cnn", "--config_overrides", "embedding_dim=16,num_filters=8", "--vocab_size", "2000",
        "--max_train_samples", "96", "--max_eval_samples", "48", "--max_test_samples", "48", "--max_seq_length", "64",
        "--num_train_epochs", "1", "--per_device_train_batch_size", "16", "--lth_rounds", "2",
        "--disable_tqdm", "true", "--report_to", "none"]
CHECKPOINTS = ["--save_strategy", "steps", "--save_steps", "2"]
CONTROLS = ["--lth_controls", "random_pruning,random_reinit"]

# name -> list of (flags, interrupt) runs on the same output_dir, in order; interrupt: None, or
# ("save", folder, step): stop right after Trainer saved checkpoint-step of the round trained in `folder`;
# ("write", round): stop when the ticket of main-line round `round` is about to be written.
EXPERIMENTS: dict[str, list[tuple[list[str], tuple | None]]] = {
    "imp": [
        (CONTROLS + ["--lth_rewind_steps", "2"], None),
        (["--lth_branch", "late", "--lth_rewind", "step:2", "--lth_rewind_steps", "2"] + CONTROLS, None),
        (["--lth_branch", "lr", "--lth_rewind", "lr", "--lth_rounds", "1", "--lth_rewind_steps", "2"], None),
    ],
    "step": [(["--lth_rewind", "step:2", "--lth_controls", "random_pruning", "--lth_control_rounds", "2"], None)],
    "one_shot": [(["--lth_one_shot", "--lth_target_sparsity", "0.5", "--lth_controls", "random_reinit"], None)],
    "gmp": [(["--lth_method", "gmp", "--lth_target_sparsity", "0.5", "--lth_gmp_frequency", "1",
              "--lth_controls", "random_pruning"], None)],
    "early_bird": [(["--lth_method", "early_bird", "--lth_target_sparsity", "0.5", "--lth_eb_interval", "1",
                     "--lth_eb_window", "2", "--lth_eb_epsilon", "0.3"], None)],
    "channel": [(["--lth_granularity", "channel", "--lth_controls", "random_pruning,random_reinit"], None)],
    "nm": [(["--lth_granularity", "2:4", "--lth_controls", "random_pruning"], None)],
    "resume_rounds": [(["--lth_rounds", "1"], None), ([], None)],
    "resume_gmp_checkpoint": [
        (["--lth_method", "gmp", "--lth_target_sparsity", "0.5", "--lth_gmp_frequency", "1"] + CHECKPOINTS,
         ("save", "round_01", 2)),
        (["--lth_method", "gmp", "--lth_target_sparsity", "0.5", "--lth_gmp_frequency", "1"] + CHECKPOINTS, None),
    ],
    "resume_gmp_trained": [
        (["--lth_method", "gmp", "--lth_target_sparsity", "0.5", "--lth_gmp_frequency", "1"] + CHECKPOINTS,
         ("write", 1)),
        (["--lth_method", "gmp", "--lth_target_sparsity", "0.5", "--lth_gmp_frequency", "1"] + CHECKPOINTS, None),
    ],
    "resume_step_trained": [
        (["--lth_rewind", "step:2", "--lth_rounds", "1"] + CHECKPOINTS, ("write", 1)),
        (["--lth_rewind", "step:2", "--lth_rounds", "1"] + CHECKPOINTS, None),
    ],
}


# ---------------------------------------------------------------- the child: one run, maybe interrupted


def child(argv: list[str], interrupt: str | None) -> int:
    if interrupt:
        kind, *where = json.loads(interrupt)
        if kind == "save":
            _stop_after_checkpoint(*where)
        else:
            _stop_before_ticket(*where)
    from hf_lth.run import main

    return main(argv)


def _stop_after_checkpoint(folder: str, step: int) -> None:
    from transformers import Trainer, TrainerCallback

    class Stop(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == step:
                raise KeyboardInterrupt(f"stopped after checkpoint-{step} of {folder}")

    train = Trainer.train

    def patched(self, *args, **kwargs):
        if Path(self.args.output_dir).name == folder:
            self.add_callback(Stop())
        return train(self, *args, **kwargs)

    Trainer.train = patched


def _stop_before_ticket(index: int) -> None:
    from hf_lth.storage.folder import ExperimentFolder

    write_round = ExperimentFolder.write_round

    def patched(self, round_index, control, *args, **kwargs):
        if round_index == index and control is None:
            raise KeyboardInterrupt(f"stopped before the ticket of round {index} was written")
        return write_round(self, round_index, control, *args, **kwargs)

    ExperimentFolder.write_round = patched


# ---------------------------------------------------------------- the parent: run all, digest


def run_all(root: Path, only: list[str] | None, repo: Path = REPO) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(repo),
           "TOKENIZERS_PARALLELISM": "false", "CUDA_VISIBLE_DEVICES": ""}
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    digest = {}
    for name, runs in EXPERIMENTS.items():
        if only and name not in only:
            continue
        out = root / name
        started = time.time()
        for flags, interrupt in runs:
            command = [sys.executable, str(Path(__file__).resolve()), "child"]
            if interrupt:
                command += ["--interrupt", json.dumps(interrupt)]
            command += ["--", *TINY, *flags, "--output_dir", str(out)]
            done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True)
            stopped = "KeyboardInterrupt" in done.stderr
            if (done.returncode != 0) != bool(interrupt) or (interrupt and not stopped):
                sys.stderr.write(done.stdout[-3000:] + done.stderr[-6000:])
                raise SystemExit(f"{name}: {' '.join(flags)} exited with {done.returncode} "
                                 f"(interrupt {interrupt}, stopped: {stopped})")
        print(f"{name}: {time.time() - started:.0f} s", flush=True)
        digest[name] = digest_folder(out)
    return digest


def digest_folder(out: Path) -> dict:
    found = {}
    for path in sorted(out.rglob("*")):
        rel = str(path.relative_to(out))
        if "checkpoints" in path.parts or not path.is_file():
            continue
        if path.name == "config.json":
            found[rel] = _strip(json.loads(path.read_text())["lth"])
        elif path.name in ("lth_results.json", "lth_log_history.json"):
            found[rel] = _strip(json.loads(path.read_text()))
        elif path.name in ("lth_experiment.json", "lth_branch.json"):
            found[rel] = json.loads(path.read_text())
        elif path.suffix == ".safetensors":
            found[rel] = safetensors_digest(path)
    leftovers = [str(p.relative_to(out)) for p in out.rglob("*") if "checkpoints" in p.parts or p.name.startswith(".")]
    found["leftovers"] = sorted(leftovers)
    return found


def safetensors_digest(path: Path) -> str:
    """sha256 of a safetensors file's content: each tensor's name, dtype, shape and bytes in name order, and the
    metadata sorted by key. (The file's own bytes are not reproducible: safetensors writes a metadata dict of
    several entries, such as a mask's or a rewind point's, in a random order.)"""
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    body = data[8 + size:]
    digest = hashlib.sha256(json.dumps(header.pop("__metadata__", {}), sort_keys=True).encode())
    for name in sorted(header):
        entry = header[name]
        start, end = entry["data_offsets"]
        digest.update(json.dumps([name, entry["dtype"], entry["shape"]]).encode())
        digest.update(body[start:end])
    return digest.hexdigest()


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIME_FIELDS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def compare(before: dict, after: dict) -> list[str]:
    differences = []

    def walk(a, b, where):
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key not in a or key not in b:
                    differences.append(f"{where}/{key}: only in {'after' if key not in a else 'before'}")
                else:
                    walk(a[key], b[key], f"{where}/{key}")
        elif a != b:
            differences.append(f"{where}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}")

    walk(before, after, "")
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the experiments and write their digest")
    run.add_argument("--out", required=True, type=Path, help="the digest (JSON) to write")
    run.add_argument("--root", type=Path, default=Path("/tmp/hf_lth_identity_runs"),
                     help="where the experiments run (cleared first)")
    run.add_argument("--only", nargs="*", help="run only these experiments")
    run.add_argument("--repo", type=Path, default=REPO,
                     help="the checkout whose hf_lth runs (default: this one), e.g. a worktree of the old code")
    run.add_argument("--against", type=Path, help="then compare with this digest (exit 1 on a difference)")
    cmp = sub.add_parser("compare", help="compare two digests")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    kid = sub.add_parser("child", help=argparse.SUPPRESS)
    kid.add_argument("--interrupt")
    kid.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.command == "child":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        return child(argv, args.interrupt)
    if args.command == "run":
        digest = run_all(args.root, args.only, args.repo)
        args.out.write_text(json.dumps(digest, indent=1, sort_keys=True))
        print(f"{sum(len(v) for v in digest.values())} records of {len(digest)} experiments in {args.out}")
        if not args.against:
            return 0
        before, after = json.loads(args.against.read_text()), digest
        if args.only:
            before = {k: v for k, v in before.items() if k in args.only}
    else:
        before, after = json.loads(args.before.read_text()), json.loads(args.after.read_text())
    differences = compare(before, after)
    for line in differences[:50]:
        print(line)
    print("identical" if not differences else f"{len(differences)} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
