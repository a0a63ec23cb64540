"""Find lottery tickets for a text classifier: the command-line entry point of hf_lth.

`python -m hf_lth.run`, the `hf-lth-run` console script, `accelerate launch -m hf_lth.run` and the repository's
`examples/run_lth.py` (a thin wrapper) all run `main()`.

examples:
  python -m hf_lth.run                       # CNN on the shipped IMDb sample, 5 pruning rounds
  python examples/run_lth.py --lth_rounds 10 --lth_controls random_pruning random_reinit --lth_control_rounds 5 10
  python examples/run_lth.py experiments/imdb_cnn.json --seed 43   # flags from a JSON file, then overrides
  accelerate launch examples/run_lth.py --model_name_or_path lstm --dataset_name imdb --lth_rounds 10

Every field of ModelArguments, DataArguments and LTHArguments (Trainer's arguments plus --lth_*) is a flag:
hf_lth's come first below, Trainer's common ones after them (--help-all lists all of Trainer's). Running the same command again on the same --output_dir
skips finished rounds and continues. `accelerate launch` lists the defaults it picked (--num_processes ...)
until `accelerate config` has been run once, or unless --num_processes, --num_machines, --mixed_precision and
--dynamo_backend are given.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict

import datasets
import transformers
from transformers import set_seed

from hf_lth import (
    DataArguments,
    LTHArgumentParser,
    LTHArguments,
    LTHHubError,
    LTHInputError,
    LTHTrainer,
    ModelArguments,
    build_data_collator,
    compute_metrics,
    fit_mask_to_model,
    load_model,
    load_ticket_mask,
    load_text_classification_data,
    load_tokenizer,
    push_ticket,
    tokenize_dataset,
    write_report,
)
from hf_lth.loading.models import check_model_sources
from hf_lth.progress import library_progress_bars, set_log_level

logger = logging.getLogger("hf_lth.run")


def build_parser() -> LTHArgumentParser:
    return LTHArgumentParser((ModelArguments, DataArguments, LTHArguments), description=__doc__)


def parse_args(argv: list[str]) -> tuple[ModelArguments, DataArguments, LTHArguments]:
    """Flags, or a JSON file of flags followed by flags that override it (`config.json --seed 43`)."""
    return build_parser().parse_cli(argv)


def setup_logging(args: LTHArguments) -> None:
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    level = args.get_process_log_level()
    set_log_level(args.log_level, level, args.should_log)  # hf_lth's loggers: INFO on the main process by default
    datasets.utils.logging.set_verbosity(level)
    transformers.utils.logging.set_verbosity(level)


def run(model_args: ModelArguments, data_args: DataArguments, lth_args: LTHArguments) -> dict:
    setup_logging(lth_args)
    logger.info("Model %s, data %s, output %s", model_args.model_name_or_path,
                data_args.dataset_name or data_args.train_file or "the shipped IMDb sample", lth_args.output_dir)
    set_seed(lth_args.seed)
    check_model_sources(model_args)  # before the data: a misspelled model name fails in seconds

    # no bar for each split read, shuffled and tokenised (a few seconds): one line says what was read
    with lth_args.main_process_first(desc="loading and tokenising the data"), library_progress_bars(False):
        data = load_text_classification_data(data_args, seed=lth_args.seed)
        logger.info("Data: %s; %d labels; tokenising", ", ".join(f"{len(split):,} {name}" for name, split
                                                                in data.raw.items()), data.num_labels)
        tokenizer = load_tokenizer(model_args, data.raw["train"]["text"])
        encoded = tokenize_dataset(
            data, tokenizer, data_args.max_seq_length, pad_to_max_length=data_args.pad_to_max_length,
            num_proc=data_args.preprocessing_num_workers, load_from_cache_file=not data_args.overwrite_cache,
        )
    model = load_model(model_args, tokenizer, data.num_labels, data.id2label)
    mask = None
    if lth_args.lth_init_mask:
        mask = fit_mask_to_model(load_ticket_mask(lth_args.lth_init_mask, token=lth_args.hub_token), model,
                                 allow_mismatched=model_args.ignore_mismatched_sizes)

    trainer = LTHTrainer(
        model=model,
        args=lth_args,
        train_dataset=encoded["train"],
        eval_dataset=encoded["validation"],
        test_dataset=encoded.get("test"),
        processing_class=tokenizer,
        data_collator=build_data_collator(tokenizer, data_args.pad_to_max_length),
        compute_metrics=compute_metrics,
        mask=mask,
        ticket_metadata={
            "init_mask": lth_args.lth_init_mask,
            "model_name_or_path": model_args.model_name_or_path,
            "dataset": data_args.dataset_name or data_args.train_file or "hf_lth IMDb sample",
        },
        experiment_settings={"data": asdict(data_args), "model_args": asdict(model_args)},
    )
    results = trainer.find_tickets()
    if trainer.is_world_process_zero():
        report, plot = write_report(trainer.folder.base)
        print(report)
        logger.info("Results in %s, report in %s, plot in %s", trainer.folder.results_path,
                    trainer.folder.report_path, plot)
        if trainer.push_ticket_to_hub:
            push_ticket(trainer.folder.base, lth_args.hub_model_id or trainer.folder.base.resolve().name,
                        round_index=lth_args.lth_push_round, private=lth_args.hub_private_repo,
                        token=lth_args.hub_token, command=" ".join(["python"] + sys.argv),
                        shrink=lth_args.lth_push_shrunk)
    return results


def main(argv: list[str] | None = None) -> int:
    try:
        run(*parse_args(sys.argv[1:] if argv is None else argv))
    except LTHInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except LTHHubError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _mp_fn(index: int) -> None:
    """Entry point for accelerate's TPU launcher (xla_spawn)."""
    main()


def release_process_group() -> None:
    """Destroy the torch.distributed process group (torchrun) before the interpreter exits; left to interpreter
    teardown, its threads can abort the process (SIGABRT) after the run has finished.

    The run's objects go first: the trainer and its model sit in reference cycles, and FSDP2's sharded parameters
    hold the device mesh and its process groups; collected during interpreter teardown, gloo's threads were still
    joinable and one process in eight aborted ("terminate called without an active exception")."""
    import gc

    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


def cli() -> None:
    """Console script `hf-lth-run`: `main()`, then release the process group, exiting with main's code."""
    exit_code = main()
    release_process_group()
    sys.exit(exit_code)


if __name__ == "__main__":
    cli()
