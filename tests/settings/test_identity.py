"""Experiment identity: a rerun with any result-changing setting changed is refused, naming it; the allowed
changes (more rounds, logging) continue the experiment."""

import pytest

from hf_lth.errors import LTHInputError
from hf_lth.settings.identity import canonical_settings, identity_settings, normalise, split_settings

from helpers.tiny import make_trainer, tiny_bert


@pytest.mark.parametrize("setting, value, shown", [
    ("weight_decay", 0.0, "weight_decay: 0.1 -> 0.0"),
    ("lr_scheduler_type", "cosine", "lr_scheduler_type: 'linear' -> 'cosine'"),
    ("warmup_steps", 2, "warmup_steps: 0 -> 2"),
    ("max_grad_norm", 0.5, "max_grad_norm: 1.0 -> 0.5"),
])
def test_a_changed_training_setting_is_refused_and_the_folder_untouched(tmp_path, dataset, setting, value, shown):
    """Failed before: only ~14 settings made the identity, so these reruns continued the old experiment."""
    make_trainer(tmp_path, dataset, lth_rounds=0, num_train_epochs=1).find_tickets()
    folder = tmp_path / "run"
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    with pytest.raises(LTHInputError, match=f"holds an experiment with other settings \\(.*{shown}"):
        make_trainer(tmp_path, dataset, lth_rounds=1, num_train_epochs=1, **{setting: value}).find_tickets()
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before


def test_data_settings_are_part_of_the_identity(tmp_path, dataset):
    first = make_trainer(tmp_path, dataset, lth_rounds=0, num_train_epochs=1)
    first.experiment_settings = {"data": {"max_seq_length": 64, "preprocessing_num_workers": 1}}
    first.find_tickets()
    again = make_trainer(tmp_path, dataset, lth_rounds=0, num_train_epochs=1, logging_steps=5)
    again.experiment_settings = {"data": {"max_seq_length": 64, "preprocessing_num_workers": 2}}
    again.find_tickets()  # workers may change
    other = make_trainer(tmp_path, dataset, lth_rounds=0, num_train_epochs=1)
    other.experiment_settings = {"data": {"max_seq_length": 128}}
    with pytest.raises(LTHInputError, match="data.max_seq_length: 64 -> 128"):
        other.find_tickets()


@pytest.mark.slow
def test_more_rounds_controls_and_logging_continue_the_experiment(tmp_path, dataset):
    make_trainer(tmp_path, dataset, lth_rounds=1, num_train_epochs=1).find_tickets()
    results = make_trainer(tmp_path, dataset, lth_rounds=2, num_train_epochs=1, logging_steps=3, disable_tqdm=False,
                           lth_controls="random_pruning", lth_control_rounds="2",
                           per_device_eval_batch_size=7).find_tickets()
    assert [r["round"] for r in results["rounds"]] == [0, 1, 2]


def test_identity_splits_trunk_from_line_settings():
    from hf_lth.settings.arguments import LTHArguments

    args = LTHArguments(output_dir="x", lth_rewind="lr", hub_token="secret", report_to=[])
    settings = identity_settings(args, tiny_bert())
    trunk, line = split_settings(settings)
    assert line["lth_rewind"] == "lr" and "lth_rewind" not in trunk and "learning_rate" in trunk
    assert "config.hidden_size" in trunk and "output_dir" not in trunk and "lth_rounds" not in trunk
    assert "secret" not in str(settings)


def test_list_flags_recorded_as_comma_strings_are_the_same_settings_as_lists():
    """Before they were lists, --lth_controls, --lth_control_rounds and --lth_rewind_steps were strings: a
    folder whose settings hold the string form must match a rerun given lists."""
    from hf_lth.settings.arguments import LTHArguments

    common = dict(output_dir="x", report_to=[], lth_strategy="layerwise_magnitude", lth_selection_metric="f1")
    old = LTHArguments(**common, lth_controls="random_pruning,random_reinit", lth_control_rounds="10,5",
                       lth_rewind_steps="0,50")
    new = LTHArguments(**common, lth_controls=["random_pruning", "random_reinit"], lth_control_rounds=[5, 10],
                       lth_rewind_steps=[0, 50])
    model = tiny_bert()
    assert identity_settings(old, model) == identity_settings(new, model)
    recorded = {  # as an earlier version wrote them (JSON), beside the choice flags, plain strings then and now
        "lth_controls": "random_pruning,random_reinit", "lth_control_rounds": "10,5", "lth_rewind_steps": "0,50",
        "lth_strategy": "layerwise_magnitude", "lth_selection_metric": "f1",
    }
    now = canonical_settings(normalise(new.to_dict()))
    assert canonical_settings(recorded) == {k: now[k] for k in recorded}
    assert canonical_settings({"lth_control_rounds": "all"}) == canonical_settings({"lth_control_rounds": None})


def test_a_folder_started_with_comma_strings_continues_with_lists(tmp_path, dataset):
    make_trainer(tmp_path, dataset, lth_rounds=1, num_train_epochs=1, lth_controls="random_pruning",
                 lth_control_rounds="1", lth_rewind_steps="0,2").find_tickets()
    stamp = (tmp_path / "run" / "round_01" / "model.safetensors").stat().st_mtime_ns
    results = make_trainer(tmp_path, dataset, lth_rounds=1, num_train_epochs=1, lth_controls=["random_pruning"],
                           lth_control_rounds=[1], lth_rewind_steps=[0, 2]).find_tickets()
    assert [r["round"] for r in results["rounds"]] == [0, 1] and list(results["controls"]) == ["random_pruning"]
    assert (tmp_path / "run" / "round_01" / "model.safetensors").stat().st_mtime_ns == stamp


def test_the_data_arguments_come_back_from_the_experiment_folder(tmp_path, dataset):
    """What the instability analysis rebuilds its data from: the recorded `data.` group, through the folder."""
    from dataclasses import asdict

    from hf_lth.data.loading import DataArguments
    from hf_lth.settings.identity import data_arguments
    from hf_lth.storage.folder import ExperimentFolder

    data_args = DataArguments(dataset_name="imdb_sample", max_seq_length=64, max_train_samples=96,
                              validation_split_percentage=20.0, preprocessing_num_workers=2, overwrite_cache=True)
    trainer = make_trainer(tmp_path, dataset, lth_rounds=0, num_train_epochs=1)
    trainer.experiment_settings = {"data": asdict(data_args), "model_args": {"model_name_or_path": "tiny"}}
    trainer.find_tickets()
    rebuilt = data_arguments(ExperimentFolder(trainer.args.output_dir).trunk_settings())
    # the settings a rerun may change are not recorded: they come back as their defaults
    assert rebuilt == DataArguments(**{**asdict(data_args), "preprocessing_num_workers": None,
                                       "overwrite_cache": False})


def test_data_arguments_refuse_a_record_without_data_settings():
    from hf_lth.settings.identity import data_arguments

    with pytest.raises(LTHInputError, match="none recorded"):
        data_arguments({"learning_rate": 0.1, "model_args.model_name_or_path": "cnn"})
    with pytest.raises(LTHInputError, match="unknown: colour"):
        data_arguments({"data.max_seq_length": 64, "data.colour": "red"})
