import json

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, HfArgumentParser, PreTrainedTokenizerFast

from hf_lth.errors import LTHInputError
from hf_lth.loading.models import (
    MODEL_PRESETS,
    ModelArguments,
    apply_config_overrides,
    check_model_sources,
    closest_preset,
    load_model,
    load_tokenizer,
)
from hf_lth.models import (
    TextCNNConfig,
    TextCNNForSequenceClassification,
    TextRNNConfig,
    TextRNNForSequenceClassification,
)

TEXTS = [
    "a wonderful film with a great cast",
    "the plot was dull and the acting was bad",
    "I loved every minute of it, truly great",
    "boring, too long, and badly written",
    "great music but a weak ending",
] * 4
ID2LABEL = {0: "neg", 1: "mixed", 2: "pos"}
SMALL = {  # shrink the seed-sized presets where a test does not need their size
    "cnn": "embedding_dim=8,num_filters=4",
    "lstm": "embedding_dim=8,hidden_size=4",
    "gru": "embedding_dim=8,hidden_size=4",
    "rnn": "embedding_dim=8,hidden_size=4",
    "bert-tiny": "hidden_size=16,intermediate_size=32",
}


def args(name: str, **kwargs) -> ModelArguments:
    return ModelArguments(model_name_or_path=name, vocab_size=60, **kwargs)


@pytest.fixture(scope="module")
def word_tokenizer() -> PreTrainedTokenizerFast:
    return load_tokenizer(args("cnn"), TEXTS)


def test_preset_table():
    assert set(MODEL_PRESETS) == {"cnn", "rnn", "lstm", "gru", "bert-tiny"}
    assert MODEL_PRESETS["cnn"].config_kwargs["filter_sizes"] == [3, 4, 5]
    seed_rnn = {"embedding_dim": 100, "hidden_size": 256, "num_layers": 2, "bidirectional": True, "dropout": 0.5}
    for name in ("lstm", "gru"):
        assert MODEL_PRESETS[name].config_kwargs == {**seed_rnn, "cell": name}
    assert MODEL_PRESETS["rnn"].config_kwargs["cell"] == "rnn"
    assert MODEL_PRESETS["bert-tiny"].tokenizer == "wordpiece"
    assert {MODEL_PRESETS[n].tokenizer for n in ("cnn", "rnn", "lstm", "gru")} == {"word"}


@pytest.mark.parametrize("name", sorted(MODEL_PRESETS))
def test_presets_build_from_a_trained_tokenizer(name):
    model_args = args(name, config_overrides=SMALL[name])
    tokenizer = load_tokenizer(model_args, TEXTS)
    assert tokenizer.pad_token_id == 0
    if name != "bert-tiny":  # WordPiece keeps every character of the alphabet, whatever vocab_size says
        assert len(tokenizer) <= 60
    model = load_model(model_args, tokenizer, num_labels=3, id2label=ID2LABEL)
    expected_class = {"cnn": TextCNNForSequenceClassification, "bert-tiny": BertForSequenceClassification}
    assert isinstance(model, expected_class.get(name, TextRNNForSequenceClassification))
    assert model.config.vocab_size == len(tokenizer) and model.get_input_embeddings().num_embeddings == len(tokenizer)
    assert model.config.pad_token_id == tokenizer.pad_token_id
    assert model.config.id2label == ID2LABEL and model.config.label2id == {"neg": 0, "mixed": 1, "pos": 2}
    batch = tokenizer(["a great film", "bad"], padding=True, return_tensors="pt")
    if name == "bert-tiny":
        assert batch["input_ids"][0, 0] == tokenizer.cls_token_id
    else:
        assert "token_type_ids" not in batch  # the custom models' forward does not take them
    assert model(**batch).logits.shape == (2, 3)


def test_seed_sized_presets_keep_the_seed_sizes(word_tokenizer):
    cnn = load_model(args("cnn"), word_tokenizer, num_labels=2)
    assert [conv.kernel_size[0] for conv in cnn.convs] == [3, 4, 5]
    assert cnn.embedding.embedding_dim == 100 and cnn.convs[0].out_channels == 100
    lstm = load_model(args("lstm"), word_tokenizer, num_labels=2)
    assert isinstance(lstm.rnn, torch.nn.LSTM)
    assert (lstm.rnn.hidden_size, lstm.rnn.num_layers, lstm.rnn.bidirectional) == (256, 2, True)
    rnn = load_model(args("rnn"), word_tokenizer, num_labels=2)
    assert isinstance(rnn.rnn, torch.nn.RNN) and rnn.rnn.nonlinearity == "tanh" and rnn.rnn.bidirectional


def test_presets_are_seeded_by_torch_manual_seed(word_tokenizer):
    def build(seed: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(seed)
        return load_model(args("lstm", config_overrides=SMALL["lstm"]), word_tokenizer, num_labels=2).state_dict()

    first, again, other = build(3), build(3), build(4)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["rnn.weight_ih_l0"], other["rnn.weight_ih_l0"])


def test_config_overrides_are_applied(word_tokenizer):
    lstm = load_model(
        args("lstm", config_overrides="embedding_dim=8, hidden_size=4,num_layers=1,bidirectional=false,cell=gru"),
        word_tokenizer,
        num_labels=2,
    )
    assert isinstance(lstm.rnn, torch.nn.GRU)
    assert (lstm.rnn.input_size, lstm.rnn.hidden_size, lstm.rnn.num_layers, lstm.rnn.bidirectional) == (8, 4, 1, False)
    cnn = load_model(args("cnn", config_overrides="filter_sizes=[2,6],dropout=0"), word_tokenizer, num_labels=2)
    assert [conv.kernel_size[0] for conv in cnn.convs] == [2, 6]
    assert cnn.config.dropout == 0.0 and isinstance(cnn.config.dropout, float)


@pytest.mark.parametrize(
    "overrides, words",
    [
        ("embeding_dim=8", ["embeding_dim"]),
        ("embedding_dim=eight", ["embedding_dim", "eight"]),
        ("bidirectional=1", ["bidirectional"]),
        ("vocab_size=10", ["vocab_size"]),
        ("embedding_dim", ["embedding_dim"]),
        ("cell=transformer", ["transformer", "lstm"]),
    ],
)
def test_bad_config_overrides_raise_input_error(word_tokenizer, overrides, words):
    with pytest.raises(LTHInputError) as error:
        load_model(args("lstm", config_overrides=overrides), word_tokenizer, num_labels=2)
    assert all(word in str(error.value) for word in words), str(error.value)


def test_apply_config_overrides_converts_to_the_field_types():
    rnn = TextRNNConfig()
    applied = apply_config_overrides(rnn, "embedding_dim=8, dropout=1e-3,bidirectional=False,cell=gru,num_layers=-2")
    assert applied == {"embedding_dim": 8, "dropout": 0.001, "bidirectional": False, "cell": "gru", "num_layers": -2}
    assert (rnn.embedding_dim, rnn.dropout, rnn.bidirectional, rnn.cell) == (8, 0.001, False, "gru")
    cnn = TextCNNConfig()
    applied = apply_config_overrides(cnn, "filter_sizes=[2, 6],dropout=0, problem_type=regression")
    assert applied == {"filter_sizes": [2, 6], "dropout": 0.0, "problem_type": "regression"}
    assert type(cnn.dropout) is float and type(cnn.num_filters) is int
    bert = BertConfig()  # a field that is None takes JSON
    assert apply_config_overrides(bert, "classifier_dropout=0.1,is_decoder=TRUE") == {
        "classifier_dropout": 0.1, "is_decoder": True,
    }  # fmt: skip
    assert apply_config_overrides(TextCNNConfig(), None) == {} and apply_config_overrides(TextCNNConfig(), " ") == {}


@pytest.mark.parametrize("overrides", ["filter_sizes=(2,3)", "filter_sizes=3", "num_filters=[1,2]", "dropout=none"])
def test_list_and_scalar_fields_refuse_the_other_kind(overrides):
    with pytest.raises(LTHInputError, match=overrides.split("=")[0]):
        apply_config_overrides(TextCNNConfig(), overrides)


def test_model_arguments_parse_from_cli_and_json(tmp_path):
    parser = HfArgumentParser(ModelArguments)
    (defaults,) = parser.parse_args_into_dataclasses([])
    assert defaults == ModelArguments()
    assert defaults.model_name_or_path == "cnn" and defaults.model_revision == "main" and not defaults.trust_remote_code
    cli = ["--model_name_or_path", "lstm", "--config_overrides", "filter_sizes=[2,3]", "--trust_remote_code", "true"]
    (parsed,) = parser.parse_args_into_dataclasses(cli)
    assert parsed.model_name_or_path == "lstm" and parsed.config_overrides == "filter_sizes=[2,3]"
    assert parsed.trust_remote_code is True and parsed.tokenizer_name is None
    (tmp_path / "args.json").write_text(json.dumps({"model_name_or_path": "gru", "vocab_size": 100}))
    (from_json,) = parser.parse_json_file(tmp_path / "args.json")
    assert from_json.model_name_or_path == "gru" and from_json.vocab_size == 100
    for action in parser._actions[1:]:
        assert action.help, action.dest


def test_unknown_name_raises_input_error(word_tokenizer):
    for call in (lambda: load_tokenizer(args("lstmm"), TEXTS), lambda: load_model(args("lstmm"), word_tokenizer, 2)):
        with pytest.raises(LTHInputError) as error:
            call()
        message = str(error.value)
        assert message.startswith("--model_name_or_path 'lstmm' is not a preset (did you mean 'lstm'?), not a local folder")
        assert "HF_HUB_OFFLINE" in message and "\n" not in message


@pytest.fixture
def online(monkeypatch):
    """The Hub asked (HF_HUB_OFFLINE off) through `HfApi.model_info`, replaced by `answer(name)`: set `online.answer`."""
    import huggingface_hub
    import huggingface_hub.constants

    from hf_lth.loading import models as model_loading

    class Hub:
        answer = staticmethod(lambda name: None)
        asked: list[str] = []

    def model_info(self, name, revision=None, timeout=None, **kwargs):
        Hub.asked.append(name)
        assert timeout is not None and timeout <= 10
        return Hub.answer(name)

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
    model_loading._ask_hub.cache_clear()
    yield Hub
    model_loading._ask_hub.cache_clear()


def test_an_unreachable_hub_fails_at_once_naming_the_closest_preset(online):
    def unreachable(name):
        raise ConnectionError("[Errno -2] Name or service not known")

    online.answer = unreachable
    with pytest.raises(LTHInputError) as error:
        check_model_sources(args("lstn"))
    assert str(error.value) == (
        "--model_name_or_path 'lstn' is not a preset (did you mean 'lstm'?), not a local folder, and the Hub cannot "
        "be reached ([Errno -2] Name or service not known; set HF_HUB_OFFLINE=1 to use the Hub cache only).")
    check_model_sources(args("cnn"))  # presets never ask the Hub
    assert online.asked == ["lstn"]


def test_a_name_the_hub_does_not_know_lists_the_presets(online):
    from huggingface_hub.errors import RepositoryNotFoundError

    def not_found(name):
        error = RepositoryNotFoundError.__new__(RepositoryNotFoundError)
        Exception.__init__(error, "404 Client Error")
        raise error

    online.answer = not_found
    with pytest.raises(LTHInputError, match=r"'bert-base-uncasd' is not a preset \(cnn, lstm, gru, rnn, bert-tiny, "
                                            r"minilm\), not a local folder, and no Hub repository has that name"):
        check_model_sources(args("bert-base-uncasd"))


def test_hub_ids_that_exist_or_are_cached_and_local_folders_pass(online, tmp_path, monkeypatch):
    check_model_sources(args("org/model"))  # the Hub answers
    assert online.asked == ["org/model"]
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    snapshot = tmp_path / "cache" / "models--org--cached" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "cache" / "models--org--cached" / "refs").mkdir()
    (tmp_path / "cache" / "models--org--cached" / "refs" / "main").write_text("abc123")
    check_model_sources(args("org/cached", cache_dir=str(tmp_path / "cache")))
    check_model_sources(args(str(tmp_path)))
    with pytest.raises(LTHInputError, match=r"--tokenizer_name 'org/other' is not a preset .* not in the Hub cache"):
        check_model_sources(args("cnn", tokenizer_name="org/other"))
    assert online.asked == ["org/model"]


def test_closest_preset():
    assert closest_preset("lstn") == "lstm" and closest_preset("CNN") == "cnn" and closest_preset("minlm") == "minilm"
    assert closest_preset("bert-base-uncased") is None and closest_preset("distilroberta-base") is None


def test_folder_without_a_model_raises_input_error(tmp_path, word_tokenizer):
    with pytest.raises(LTHInputError, match="folder"):
        load_model(args(str(tmp_path)), word_tokenizer, num_labels=2)


def test_id2label_must_match_num_labels(word_tokenizer):
    with pytest.raises(LTHInputError, match="num_labels"):
        load_model(args("cnn"), word_tokenizer, num_labels=2, id2label=ID2LABEL)


def test_local_bert_folder_loads_with_new_labels_and_overrides(tmp_path):
    tokenizer = load_tokenizer(args("bert-tiny"), TEXTS)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(tmp_path / "bert")
    tokenizer.save_pretrained(tmp_path / "bert")
    model_args = args(str(tmp_path / "bert"), config_overrides="hidden_dropout_prob=0.2", ignore_mismatched_sizes=True)

    loaded_tokenizer = load_tokenizer(model_args, ["ignored for a pretrained tokenizer"])
    assert loaded_tokenizer.get_vocab() == tokenizer.get_vocab()
    model = load_model(model_args, loaded_tokenizer, num_labels=3, id2label=ID2LABEL)
    assert isinstance(model, BertForSequenceClassification)
    assert model.config.hidden_dropout_prob == 0.2 and model.config.id2label == ID2LABEL
    assert model.classifier.out_features == 3
    saved = BertForSequenceClassification.from_pretrained(tmp_path / "bert")
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, saved.bert.embeddings.word_embeddings.weight)


def test_local_custom_folder_and_tokenizer_name(tmp_path, word_tokenizer):
    cnn = load_model(args("cnn", config_overrides=SMALL["cnn"]), word_tokenizer, num_labels=3, id2label=ID2LABEL)
    cnn.save_pretrained(tmp_path / "cnn")
    word_tokenizer.save_pretrained(tmp_path / "cnn")

    # A preset with tokenizer_name takes that tokenizer instead of training one.
    tokenizer = load_tokenizer(args("lstm", tokenizer_name=str(tmp_path / "cnn")), ["zebra zebra zebra"])
    assert tokenizer.get_vocab() == word_tokenizer.get_vocab()

    model_args = args(str(tmp_path / "cnn"))
    model = load_model(model_args, load_tokenizer(model_args, []), num_labels=3, id2label=ID2LABEL)
    assert isinstance(model, TextCNNForSequenceClassification)
    expected, loaded = cnn.state_dict(), model.state_dict()
    assert expected.keys() == loaded.keys() and all(torch.equal(expected[k], loaded[k]) for k in expected)


def test_a_new_head_is_said_once_in_hf_lths_words(tmp_path, caplog, capfd):
    """A pretrained encoder without a classification head: no transformers load report (a table, repeated under some
    logging setups) and no "Loading weights" bar; one INFO line from hf_lth naming the new weights."""
    import logging

    from transformers import BertModel

    tokenizer = load_tokenizer(args("bert-tiny"), TEXTS)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32)
    BertModel(config).save_pretrained(tmp_path / "encoder")
    tokenizer.save_pretrained(tmp_path / "encoder")
    capfd.readouterr()
    library = logging.getLogger("transformers")  # it does not propagate to the root logger: listen to it here
    library.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="hf_lth"):
            load_model(args(str(tmp_path / "encoder")), tokenizer, num_labels=3)
    finally:
        library.removeHandler(caplog.handler)
    notes = [r for r in caplog.records if r.name == "hf_lth.loading.models"]
    assert [r.levelno for r in notes] == [logging.INFO]
    assert notes[0].getMessage() == (
        f"{tmp_path / 'encoder'}: the weights classifier.bias, classifier.weight are new, for 3 labels, initialised "
        "at random (a new classification head that training fits).")
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("transformers")]
    assert "Loading weights" not in "".join(capfd.readouterr())


def test_loading_note():
    from hf_lth.loading.models import loading_note

    assert loading_note("m", {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": []}, 2) is None
    note = loading_note("m", {"missing_keys": [], "unexpected_keys": ["pooler.a", "pooler.b"],
                              "mismatched_keys": [("classifier.weight", (2, 8), (5, 8))]}, 5)
    assert note == ("m: classifier.weight had another shape and start again at random (--ignore_mismatched_sizes); "
                    "2 weight(s) of the checkpoint are not used (pooler.a, pooler.b).")
