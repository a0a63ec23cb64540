import dataclasses

import pytest
from transformers import HfArgumentParser

from hf_lth.errors import LTHInputError
from hf_lth.pruning.strategies import PRUNING_STRATEGIES, register_strategy
from hf_lth.rewinding import RewindToInit, RewindToStep, parse_rewind
from hf_lth.settings import arguments
from hf_lth.settings.arguments import LTHArguments
from hf_lth.settings.parser import LTHArgumentParser


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--lth_prune_rate", "0"], r"lth_prune_rate must be in \(0, 1\), got 0.0"),
        (["--lth_prune_rate", "1.2"], r"lth_prune_rate must be in \(0, 1\), got 1.2"),
        (["--lth_rounds", "-1"], "lth_rounds must be >= 0, got -1"),
        (["--lth_rewind", "step:x"], "unknown lth_rewind 'step:x'"),
        (["--lth_rewind", "epoch"], "unknown lth_rewind 'epoch'"),
        (["--lth_controls", "shuffle"], r"unknown lth_controls \['shuffle'\]"),
        (["--lth_one_shot"], "lth_one_shot needs lth_target_sparsity"),
        (["--lth_target_sparsity", "1.0"], r"lth_target_sparsity must be in \(0, 1\)"),
        (["--lth_control_rounds", "0,5"], r"lth_control_rounds must be 'all' or pruned round numbers .* got '0,5'"),
        (["--lth_control_rounds", "0", "5"], r"lth_control_rounds must be 'all' or pruned round numbers .* got '0,5'"),
        (["--lth_control_rounds", "last"], r"lth_control_rounds .* got 'last'"),
        (["--lth_rewind_steps", "50,-1"], r"lth_rewind_steps must be steps >= 0 like '0,50,200', got '50,-1'"),
        (["--lth_rewind_steps", "5", "x"], r"lth_rewind_steps must be steps >= 0 .* got '5,x'"),
        (["--lth_granularity", "filters"], r"lth_granularity must be unstructured, channel or N:M .* got 'filters'"),
        (["--lth_granularity", "4:4"], r"0 < N < M \(e.g. 2:4\), got '4:4'"),
        (["--lth_push_shrunk"], "lth_push_shrunk needs a channel ticket"),
    ],
)
def test_bad_flags_are_named(flags, message):
    with pytest.raises(LTHInputError, match=message):
        HfArgumentParser(LTHArguments).parse_args_into_dataclasses(args=flags)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lth_strategy": "largest"}, "unknown lth_strategy 'largest'; choose one of global_magnitude"),
        ({"lth_selection_metric": "loss"}, "lth_selection_metric must be accuracy or f1, got 'loss'"),
        ({"lth_controls": ["random_pruning", "shuffle"]}, r"unknown lth_controls \['shuffle'\]"),
        ({"lth_control_rounds": [0, 5]}, "lth_control_rounds must be 'all' or pruned round numbers .* got '0,5'"),
        ({"lth_rewind_steps": [-3]}, "lth_rewind_steps must be steps >= 0 .* got '-3'"),
    ],
)
def test_bad_values_from_python_are_named(kwargs, message):
    """What argparse refuses on the command line is refused, in one sentence, when built from Python."""
    with pytest.raises(LTHInputError, match=message):
        LTHArguments(**kwargs)


def test_choices_are_listed_in_help_and_refused_by_argparse(capsys):
    parser = HfArgumentParser(LTHArguments)
    text = parser.format_help()
    assert "{" + ",".join(PRUNING_STRATEGIES) + "}" in text and "{accuracy,f1}" in text
    for flag, value in (("--lth_strategy", "largest"), ("--lth_selection_metric", "loss")):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args_into_dataclasses(args=[flag, value])
        line = next(line for line in capsys.readouterr().err.splitlines() if "invalid choice" in line)
        assert exit_.value.code == 2 and f"argument {flag}/" in line and value in line


def test_a_strategy_registered_later_is_a_choice_too():
    register_strategy("test_only_strategy")(PRUNING_STRATEGIES["random"])
    try:
        (args,) = HfArgumentParser(LTHArguments).parse_args_into_dataclasses(["--lth_strategy", "test_only_strategy"])
        assert args.lth_strategy == "test_only_strategy"
    finally:
        del PRUNING_STRATEGIES["test_only_strategy"]


@pytest.mark.parametrize(
    "flags",
    [
        ["--lth_controls", "random_pruning,random_reinit", "--lth_control_rounds", "10,5",
         "--lth_rewind_steps", "50,0"],
        ["--lth_controls", "random_pruning", "random_reinit", "--lth_control_rounds", "10", "5",
         "--lth_rewind_steps", "50", "0"],
    ],
    ids=["comma form", "list form"],
)
def test_list_flags_take_the_list_and_the_comma_form(flags):
    (args,) = HfArgumentParser(LTHArguments).parse_args_into_dataclasses(args=flags)
    assert args.lth_controls == args.controls == ["random_pruning", "random_reinit"]
    assert args.lth_control_rounds == args.control_rounds == [5, 10]
    assert args.lth_rewind_steps == args.rewind_steps == [0, 50]


def test_list_flags_from_python_strings_and_lists():
    from_strings = LTHArguments(lth_controls="random_reinit", lth_control_rounds="10, 5,5", lth_rewind_steps="0,50")
    from_lists = LTHArguments(lth_controls=["random_reinit"], lth_control_rounds=[10, 5], lth_rewind_steps=[50, 0])
    normalised = (["random_reinit"], [5, 10], [0, 50])
    for args in (from_strings, from_lists):
        assert (args.lth_controls, args.lth_control_rounds, args.lth_rewind_steps) == normalised
    for every in ("all", ["all"], None):
        assert LTHArguments(lth_control_rounds=every).lth_control_rounds is None
    assert LTHArguments(lth_controls="").controls == [] and LTHArguments(lth_rewind="step:20").rewind_steps == [20]
    # normalising again (dataclasses.replace runs __post_init__ once more) changes nothing
    again = dataclasses.replace(from_strings)
    assert (again.lth_controls, again.lth_control_rounds, again.lth_rewind_steps) == normalised


def test_pin_memory_only_where_an_accelerator_is(monkeypatch):
    monkeypatch.setattr(arguments, "accelerator_available", lambda: False)
    assert LTHArguments().dataloader_pin_memory is False
    assert LTHArguments(dataloader_pin_memory=True).dataloader_pin_memory is True  # set by the user: kept
    monkeypatch.setattr(arguments, "accelerator_available", lambda: True)
    assert LTHArguments().dataloader_pin_memory is True
    assert LTHArguments(use_cpu=True).dataloader_pin_memory is False
    parser = LTHArgumentParser([LTHArguments])
    for flags, pinned in ((["--dataloader_pin_memory"], True), (["--dataloader_pin_memory", "false"], False),
                          (["--no_dataloader_pin_memory"], False), ([], True)):
        assert parser.parse_args_into_dataclasses(flags)[0].dataloader_pin_memory is pinned, flags


def test_rounds_from_target_sparsity_and_one_shot():
    assert LTHArguments(lth_target_sparsity=0.9).num_pruning_rounds == 11  # 0.8**11 = 0.086 <= 0.1
    assert LTHArguments(lth_target_sparsity=0.2).num_pruning_rounds == 1
    one_shot = LTHArguments(lth_target_sparsity=0.9, lth_one_shot=True)
    assert one_shot.num_pruning_rounds == 1 and one_shot.prune_fraction(1) == 0.9


def test_defaults_suit_models_trained_from_scratch():
    args = LTHArguments()
    assert (args.output_dir, args.learning_rate, args.per_device_train_batch_size) == ("lth_output", 1e-3, 32)
    assert args.rewind == RewindToInit() and args.controls == []


def test_control_rounds():
    assert LTHArguments().control_rounds is None
    assert LTHArguments(lth_control_rounds="10, 5,5").control_rounds == [5, 10]


def test_rewind_specs():
    assert parse_rewind("step:0") == RewindToInit()
    assert parse_rewind("step:25") == RewindToStep(25) and str(parse_rewind("step:25")) == "step:25"
    assert parse_rewind("step:25").rewind_steps() == (25,) and parse_rewind("lr").rewind_steps() == ()


def test_bf16_alone_trains_on_a_cpu_with_bf16_instructions(tmp_path, monkeypatch):
    import hf_lth.settings.arguments as arguments

    monkeypatch.setattr(arguments, "accelerator_available", lambda: False)
    monkeypatch.setattr(arguments, "accelerator_with_bf16", lambda: False)
    monkeypatch.setattr(arguments, "cpu_bf16_instructions", lambda: ("avx512_bf16",))
    args = LTHArguments(output_dir=str(tmp_path), bf16=True)
    assert args.use_cpu and args.bf16
    monkeypatch.setattr(arguments, "cpu_bf16_instructions", lambda: ())
    with pytest.raises(LTHInputError, match="amx_bf16 or avx512_bf16"):
        LTHArguments(output_dir=str(tmp_path), bf16=True)
    assert LTHArguments(output_dir=str(tmp_path), bf16=True, use_cpu=True).bf16  # asked for explicitly: emulated
