import pytest
from transformers import HfArgumentParser

from hf_lth.arguments import LTHArguments
from hf_lth.errors import LTHInputError
from hf_lth.rewinding import RewindToInit, RewindToStep, parse_rewind


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--lth_prune_rate", "0"], r"lth_prune_rate must be in \(0, 1\), got 0.0"),
        (["--lth_prune_rate", "1.2"], r"lth_prune_rate must be in \(0, 1\), got 1.2"),
        (["--lth_rounds", "-1"], "lth_rounds must be >= 0, got -1"),
        (["--lth_strategy", "largest"], "unknown lth_strategy 'largest'"),
        (["--lth_rewind", "step:x"], "unknown lth_rewind 'step:x'"),
        (["--lth_rewind", "epoch"], "unknown lth_rewind 'epoch'"),
        (["--lth_controls", "shuffle"], r"unknown lth_controls \['shuffle'\]"),
        (["--lth_one_shot"], "lth_one_shot needs lth_target_sparsity"),
        (["--lth_target_sparsity", "1.0"], r"lth_target_sparsity must be in \(0, 1\)"),
        (["--lth_control_rounds", "0,5"], r"lth_control_rounds must be 'all' or pruned round numbers .* got '0,5'"),
        (["--lth_control_rounds", "last"], r"lth_control_rounds .* got 'last'"),
    ],
)
def test_bad_flags_are_named(flags, message):
    with pytest.raises(LTHInputError, match=message):
        HfArgumentParser(LTHArguments).parse_args_into_dataclasses(args=flags)


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
