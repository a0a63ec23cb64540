"""`hf-lth-study`: run, publish and report studies (YAML files, see `hf_lth.study.spec`).

    hf-lth-study run experiments/studies/imdb_cnn_full.yaml --jobs 2     # resumable: run it again to continue
    hf-lth-study run A.yaml B.yaml --jobs 2 --seeds 42 --lines main      # several studies share the workers
    hf-lth-study run A.yaml --dry-run                                    # print the commands
    hf-lth-study publish A.yaml                                          # records and predictions -> results/
    hf-lth-study report A.yaml                                           # results/NAME.md and NAME.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import LTHInputError
from ..settings.flags import split_list
from .publish import publish_study
from .runner import run_studies
from .spec import load_study


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hf-lth-study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the studies' lines (finished rounds are skipped)")
    run.add_argument("studies", nargs="+", help="study files (YAML)")
    run.add_argument("--jobs", type=int, default=1, help="processes at once (seeds run side by side)")
    run.add_argument("--seeds", help="only these seeds, e.g. 42,43")
    run.add_argument("--lines", help="only these lines, e.g. main,step500")
    run.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    run.add_argument("--publish", action="store_true",
                     help="publish each seed's records as its rounds finish (checked every minute) and after each line")
    report = commands.add_parser("report", help="one table and one plot of a study, with intervals and verdicts")
    report.add_argument("study", help="a study file (YAML)")
    report.add_argument("--out", help="folder for STUDY.md and STUDY.png (default: results/)", default="results")
    publish = commands.add_parser("publish", help="copy records, reports and predictions to the results folders")
    publish.add_argument("studies", nargs="+", help="study files (YAML)")
    publish.add_argument("--seeds", help="only these seeds")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console script `hf-lth-study`; returns the exit code (2: bad input, 1: a line failed)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "report":
            return _report(load_study(args.study), Path(args.out))
        studies = [load_study(path) for path in args.studies]
        seeds = [int(s) for s in split_list(args.seeds)] if args.seeds else None
        if args.command == "run":
            if args.jobs < 1:
                raise LTHInputError(f"--jobs must be at least 1, got {args.jobs}.")
            lines = split_list(args.lines) if args.lines else None
            for study in studies:
                for name in lines or []:
                    study.line(name)
            publish = (lambda study, outcome: publish_study(study, [outcome.seed])) if args.publish else None
            poll = (lambda study, seed: publish_study(study, [seed])) if args.publish else None
            outcomes = run_studies(studies, jobs=args.jobs, seeds=seeds, lines=lines, dry_run=args.dry_run,
                                   on_line_done=publish, on_poll=poll)
            failed = [o for o in outcomes if o.exit_code != 0]
            for outcome in failed:
                print(f"failed: {outcome.study} seed {outcome.seed} {outcome.line}: see {outcome.log}", file=sys.stderr)
            return 1 if failed else 0
        for study in studies:
            written = publish_study(study, seeds)
            print(f"{study.name}: {len(written)} file(s) published under {study.results or '(no results field)'}")
        return 0
    except (LTHInputError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _report(study, out: Path) -> int:
    from .report import write_report

    try:
        md, png, text = write_report(study, out)
    except FileNotFoundError as err:
        raise LTHInputError(str(err)) from err
    print(text)
    print(f"report written to {md}, plot to {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
