"""Controls: what each starts from, under every rewinding kind."""

import pytest
import torch
from safetensors.torch import load_file

from hf_lth.masks import TicketMask

from helpers.tiny import RoundStartRecorder, make_trainer


@pytest.mark.parametrize("rewind", ["lr", "finetune"])
def test_random_pruning_under_lr_and_finetune_starts_from_the_dense_trained_weights(tmp_path, dataset, rewind):
    """Round r of `lr`/`finetune` starts from round r-1's weights, zero wherever IMP pruned; the random-pruning
    control starts from round 0's trained weights instead, so none of the weights it keeps starts at zero
    (failed before: it started from round r-1's weights, and ~20% of its survivors were IMP's zeros)."""
    recorder = RoundStartRecorder()
    trainer = make_trainer(tmp_path, dataset, callbacks=[recorder], lth_rounds=2, lth_rewind=rewind, num_train_epochs=1)
    trainer.find_tickets()
    trainer.run_controls(["random_pruning"], rounds=[2])
    out = tmp_path / "run"
    dense = load_file(str(out / "round_00" / "model.safetensors"))
    control_mask = TicketMask.load(out / "controls" / "random_pruning" / "round_02" / "lth_mask.safetensors")
    start = recorder.starts[-1]
    for name, keep in control_mask.items():
        assert torch.equal(start[name], dense[name] * keep), name
        assert torch.count_nonzero(start[name][keep]) == int(keep.sum()), name
    assert control_mask.layer_kept() == TicketMask.load(out / "round_02" / "lth_mask.safetensors").layer_kept()


def test_random_reinit_keeps_the_mask_and_draws_new_survivors(tmp_path, dataset):
    recorder = RoundStartRecorder()
    trainer = make_trainer(tmp_path, dataset, callbacks=[recorder], lth_rounds=1, num_train_epochs=1)
    trainer.find_tickets()
    results = trainer.run_controls(["random_reinit"])
    ticket_start, reinit_start = recorder.starts[1], recorder.starts[2]
    name = "bert.encoder.layer.1.output.dense.weight"
    assert not torch.equal(ticket_start[name], reinit_start[name])
    assert torch.equal(reinit_start[name] == 0, ticket_start[name] == 0)
    assert torch.equal(ticket_start["classifier.bias"], reinit_start["classifier.bias"])
    assert results["controls"]["random_reinit"][0]["control"] == "random_reinit"
