"""`hf-lth-analyze`: analyses of finished experiment folders, written as JSON and PNG.

    hf-lth-analyze masks runs/imdb_sample_cnn_seed42 runs/imdb_sample_cnn_seed43 runs/imdb_sample_cnn_seed44 \
        --round 10 --lines main,step20,lr --out results/imdb_sample_cnn_masks
    hf-lth-analyze instability runs/imdb_sample_cnn_seed42 --steps 0,5,20 --rounds 0,10 \
        --out results/imdb_sample_cnn_instability

`masks` compares round R's masks between seeds (per line) and between lines (per seed) as IoU beside random masks
of the same per-tensor sparsities, draws the rounds × tensors sparsity map of the first folder's main line, and,
where the embedding is pruned, which vocabulary rows survive by word frequency. Nothing is trained; rerunning
rewrites the outputs (each written atomically).

`instability` trains, for each rewind step K and each round (0: dense; r: under round r's mask), two copies from
step K with different data orders, and measures the validation error along the line between them (Frankle et al.,
2020; see `hf_lth.analysis.instability`). It resumes: pairs already in `instability.json` are skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import LTHInputError
from ..pruning.masks import TicketMask
from ..report.results import load_results
from ..storage.atomic import write_json_atomic
from ..storage.folder import ExperimentFolder
from .masks import overlap_between_lines, overlap_between_seeds
from .plots import plot_overlap, plot_sparsity_heatmap, plot_vocabulary
from .vocabulary import embedding_row_survival


def analyze_masks(folders: list[Path], index: int, lines: list[str | None], out: Path) -> dict:
    """Run the mask analyses of round `index` and write `out/masks.json` and its figures; return the JSON."""
    for folder in folders:
        if not ExperimentFolder(folder).results_path.is_file():
            raise LTHInputError(f"{folder} holds no lth_results.json: is it the output_dir of a finished experiment?")
        missing = [line for line in lines if index not in ExperimentFolder(folder, line).finished_rounds()]
        if missing:
            names = ", ".join(line or "main" for line in missing)
            raise LTHInputError(f"{folder}: round {index} is not finished on line(s) {names}.")
    main = load_results(folders[0])
    result = {
        "round": index,
        "folders": [str(f) for f in folders],
        "between_seeds": overlap_between_seeds(folders, lines, index),
        "between_lines": overlap_between_lines(folders, lines, index),
        "sparsity_by_round": {r["round"]: r["layer_sparsity"] for r in main["rounds"] if r["round"] > 0},
    }
    out.mkdir(parents=True, exist_ok=True)
    name = folders[0].name
    plot_sparsity_heatmap(main["rounds"], out / "sparsity_rounds_tensors.png", f"{name}: sparsity per tensor")
    overlaps = {f"seeds: {k}": v for k, v in result["between_seeds"].items()}
    overlaps.update({f"lines: {k}": v for k, v in result["between_lines"].items()})
    if overlaps:
        plot_overlap(overlaps, out / "overlap.png", f"mask IoU at round {index} ({len(folders)} seed(s))")
    survival = _vocabulary(folders[0], index)
    if survival is not None:
        result["vocabulary"] = survival
        plot_vocabulary(survival, out / "vocabulary.png", f"{name}, round {index}: embedding rows kept")
    write_json_atomic(out / "masks.json", result)
    return result


def _vocabulary(folder: Path, index: int) -> dict | None:
    """Embedding-row survival of the main line's round `index`, if it prunes a word embedding."""
    from tokenizers import Tokenizer

    experiment = ExperimentFolder(folder)
    round_dir, mask = experiment.round_dir(index), TicketMask.load(experiment.mask_path(index))
    record = load_results(folder)["rounds"][index]
    embeddings = [n for n in record.get("embedding_parameters", []) if n in set(mask) and "position" not in n]
    if not embeddings:
        return None
    tokenizer = Tokenizer.from_file(str(round_dir / "tokenizer.json"))
    tokens = [tokenizer.id_to_token(i) or "" for i in range(tokenizer.get_vocab_size())]
    return embedding_row_survival(mask, embeddings[0], tokens)


def _instability(args) -> int:
    from .instability import run_instability
    from .plots import plot_instability

    try:
        steps = [int(s) for s in args.steps.split(",") if s.strip()]
        rounds = [int(r) for r in args.rounds.split(",") if r.strip()]
    except ValueError:
        print(f"error: --steps and --rounds take comma-separated integers, got {args.steps!r} and {args.rounds!r}.",
              file=sys.stderr)
        return 2
    if args.points < 3:
        print(f"error: --points must be at least 3, got {args.points}.", file=sys.stderr)
        return 2
    line = None if args.line == "main" else args.line
    try:
        result = run_instability(args.folder, steps, rounds, args.out / "instability.json", line, args.points,
                                 progress=lambda message: print(message, flush=True))
    except LTHInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    plot_instability(result["runs"], args.out / "instability.png", f"{args.folder.name}: instability")
    for key, run in result["runs"].items():
        print(f"{key} ({100 * run['sparsity']:.1f}% sparse): instability {100 * run['instability']:.2f} points")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hf-lth-analyze", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    masks = commands.add_parser("masks", help="mask overlap, sparsity per tensor and round, vocabulary survival")
    masks.add_argument("folders", nargs="+", type=Path, help="experiment folders (one per seed)")
    masks.add_argument("--round", type=int, required=True, help="the pruned round to compare")
    masks.add_argument("--lines", default="main", help="comma-separated lines: main and branch names")
    masks.add_argument("--out", type=Path, required=True, help="folder for masks.json and the figures")
    unstable = commands.add_parser("instability", help="linear mode connectivity of copies trained from step K")
    unstable.add_argument("folder", type=Path, help="an experiment folder that kept the rewind points")
    unstable.add_argument("--steps", required=True, help="comma-separated rewind steps K, e.g. 0,5,20")
    unstable.add_argument("--rounds", default="0", help="comma-separated rounds: 0 dense, r under round r's mask")
    unstable.add_argument("--line", default="main", help="the line whose masks are used (main or a branch)")
    unstable.add_argument("--points", type=int, default=11, help="points on the path, ends included (>= 3)")
    unstable.add_argument("--out", type=Path, required=True, help="folder for instability.json and its figure")
    args = parser.parse_args(argv)
    if args.command == "instability":
        return _instability(args)
    lines = [None if line.strip() == "main" else line.strip() for line in args.lines.split(",") if line.strip()]
    try:
        result = analyze_masks(args.folders, args.round, lines, args.out)
    except LTHInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(describe_masks(result, args.out)))
    return 0


def describe_masks(result: dict, out: Path) -> list[str]:
    """What `analyze_masks` found, in lines: the round's sparsity, the mask overlaps (or why there are none), the
    embedding rows kept by word frequency, and the files written.

    Args:
        result: `analyze_masks`'s result (the contents of `masks.json`).
        out: the folder the files were written to.

    Returns:
        The lines to print.
    """
    index, folder = result["round"], Path(result["folders"][0])
    layers = result["sparsity_by_round"].get(index) or result["sparsity_by_round"].get(str(index)) or {}
    lines = []
    if layers:
        low, high = min(layers.values()), max(layers.values())
        lines.append(f"round {index} of {folder.name}: {len(layers)} pruned tensors, {100 * low:.1f}% to "
                     f"{100 * high:.1f}% sparse (sparsity_rounds_tensors.png: every round and tensor)")
    for kind in ("between_seeds", "between_lines"):
        for label, v in result[kind].items():
            lines.append(f"{kind.replace('_', ' ')} {label}: IoU {100 * v['iou']:.1f}% ± {100 * v['iou_std']:.1f} "
                         f"(random {100 * v['random_iou']:.1f}%, {v['pairs']} pair(s))")
    if not result["between_seeds"] and not result["between_lines"]:
        lines.append("no mask overlap: it compares several folders (seeds) or several --lines (main and branches)")
    vocabulary = result.get("vocabulary")
    if vocabulary:
        bands = vocabulary["bands"]
        lines.append(f"{vocabulary['tensor']}: {100 * bands[0]['kept']:.1f}% of the weights of the most frequent "
                     f"words kept (ids {bands[0]['ids'][0]}–{bands[0]['ids'][1]}), {100 * bands[-1]['kept']:.1f}% of "
                     f"the rarest; {vocabulary['fully_pruned']} of {vocabulary['rows']} rows fully pruned (vocabulary.png)")
    written = ["masks.json", "sparsity_rounds_tensors.png"]
    written += ["overlap.png"] * bool(result["between_seeds"] or result["between_lines"])
    written += ["vocabulary.png"] * bool(vocabulary)
    lines.append(f"written to {out}: {', '.join(written)}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
