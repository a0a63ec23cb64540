"""Controls: what each starts from, under every rewinding kind."""

import pytest
import torch
from safetensors.torch import load_file

from hf_lth.pruning.masks import TicketMask

from helpers.tiny import RoundStartRecorder, make_trainer


@pytest.mark.parametrize("rewind", ["lr", "finetune"])
def test_controls_under_lr_and_finetune_are_refused_in_one_line(tmp_path, dataset, rewind):
    """Their papers' controls repeat the line's rounds at random; one retraining from the dense weights is not that
    (it was, before: one round where the ticket had r), so they are refused, as flags and through the API."""
    from hf_lth.errors import LTHInputError
    from hf_lth.settings.arguments import LTHArguments

    with pytest.raises(LTHInputError, match=f"lth_controls with lth_rewind {rewind}: .*Renda et al"):
        LTHArguments(output_dir=str(tmp_path), lth_rewind=rewind, lth_controls="random_pruning")
    trainer = make_trainer(tmp_path, dataset, lth_rounds=1, lth_rewind=rewind, num_train_epochs=1)
    trainer.find_tickets()
    with pytest.raises(LTHInputError, match="init or step:K line"):
        trainer.run_controls(["random_pruning"], rounds=[1])


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
