"""The mask callback: pruned weights get no gradient, so clipping and the optimizer see only the survivors."""

import torch
from torch.nn.utils import prune as torch_prune
from transformers import BertForSequenceClassification, Trainer, TrainingArguments

from hf_lth.engine.trainer import LTHTrainer
from hf_lth.pruning.masks import TicketMask
from hf_lth.pruning.scope import resolve_prune_scope
from hf_lth.settings.arguments import LTHArguments

from helpers.tiny import separable_tokens, tiny_bert

STEP = dict(optim="sgd", learning_rate=0.5, max_grad_norm=1e-3, weight_decay=0.0, max_steps=1,
            per_device_train_batch_size=96, disable_tqdm=True, report_to=[], dataloader_pin_memory=False, seed=3)


def bert_without_dropout() -> BertForSequenceClassification:
    return tiny_bert(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def half_mask(model) -> TicketMask:
    g = torch.Generator().manual_seed(1)
    params = dict(model.named_parameters())
    return TicketMask({n: torch.rand(params[n].shape, generator=g) < 0.5 for n in resolve_prune_scope(model, "weight,!LayerNorm")})


def test_clipped_update_equals_that_of_a_model_without_the_pruned_weights(tmp_path):
    """One clipped SGD step under the mask moves each survivor exactly as in a model whose forward multiplies
    the mask in (torch.nn.utils.prune), where pruned weights cannot contribute a gradient. Failed before the
    gradients were masked: the pruned weights' gradients entered the clipped norm and shrank the step."""
    data = separable_tokens()
    masked = bert_without_dropout()
    mask = half_mask(masked)
    LTHTrainer(model=masked, args=LTHArguments(output_dir=str(tmp_path / "lth"), lth_rounds=0, **STEP),
               train_dataset=data, mask=mask).find_tickets()

    reference = bert_without_dropout()
    modules = dict(reference.named_modules())
    for name, keep in mask.items():
        module_name, _, attr = name.rpartition(".")
        torch_prune.custom_from_mask(modules[module_name], attr, keep)
    Trainer(model=reference, args=TrainingArguments(output_dir=str(tmp_path / "ref"), **STEP), train_dataset=data).train()
    for name in mask:
        module_name, _, attr = name.rpartition(".")
        torch_prune.remove(modules[module_name], attr)

    start = dict(bert_without_dropout().named_parameters())
    after, expected = dict(masked.named_parameters()), dict(reference.named_parameters())
    moved = 0
    for name, keep in mask.items():
        assert torch.count_nonzero(after[name][~keep]) == 0
        torch.testing.assert_close(after[name][keep], expected[name][keep], rtol=0, atol=1e-7)
        moved += int((after[name][keep] != start[name][keep]).sum())
    assert moved > 0, "the survivors must have trained"


def test_gradient_hooks_are_removed_after_each_round(tmp_path):
    model = bert_without_dropout()
    trainer = LTHTrainer(model=model, args=LTHArguments(output_dir=str(tmp_path / "lth"), lth_rounds=1, **STEP),
                         train_dataset=separable_tokens())
    trainer.find_tickets()
    name = "bert.encoder.layer.0.output.dense.weight"
    param = dict(model.named_parameters())[name]
    model.zero_grad()
    model(**{k: torch.tensor(v[:4]) for k, v in separable_tokens()[:4].items()}).loss.backward()
    assert torch.count_nonzero(param.grad) == param.numel(), "no mask hook may outlive its round"


class DriftingSGD(torch.optim.SGD):
    """An optimizer that moves every weight, gradient or not (as noise injection or decay toward a target would)."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        for group in self.param_groups:
            for param in group["params"]:
                param.add_(0.01)
        return loss


def test_pruned_weights_stay_zero_under_adamw_with_weight_decay(tmp_path):
    """Under AdamW (Trainer's default) the weight multiplication after the step is skipped: the masked gradients
    alone must keep every pruned weight exactly zero, weight decay and several steps included."""
    model = bert_without_dropout()
    mask = half_mask(model)
    args = LTHArguments(output_dir=str(tmp_path / "lth"), lth_rounds=0, optim="adamw_torch", learning_rate=1e-2,
                        weight_decay=0.1, max_steps=6, per_device_train_batch_size=16, disable_tqdm=True,
                        report_to=[], dataloader_pin_memory=False)
    LTHTrainer(model=model, args=args, train_dataset=separable_tokens(), mask=mask).find_tickets()
    params = dict(model.named_parameters())
    assert all(torch.count_nonzero(params[n][~keep]) == 0 for n, keep in mask.items())


def test_pruned_weights_stay_zero_under_an_optimizer_that_moves_them(tmp_path):
    """Any other optimizer gets the mask multiplied into the weights after each step."""
    model = bert_without_dropout()
    mask = half_mask(model)
    args = LTHArguments(output_dir=str(tmp_path / "lth"), lth_rounds=0, max_steps=3, per_device_train_batch_size=32,
                        disable_tqdm=True, report_to=[], dataloader_pin_memory=False)
    LTHTrainer(model=model, args=args, train_dataset=separable_tokens(), mask=mask,
               optimizer_cls_and_kwargs=(DriftingSGD, {"lr": 0.1})).find_tickets()
    params = dict(model.named_parameters())
    assert all(torch.count_nonzero(params[n][~keep]) == 0 for n, keep in mask.items())
    unmasked = "bert.embeddings.LayerNorm.weight"  # outside the mask: the drift shows the optimizer ran
    assert not torch.allclose(params[unmasked], bert_without_dropout().get_parameter(unmasked))
