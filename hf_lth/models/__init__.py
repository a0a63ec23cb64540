"""The custom text classifiers, registered with the Auto classes.

Importing this package makes `AutoConfig` and `AutoModelForSequenceClassification` know the `text_cnn` and
`text_rnn` model types, and makes `save_pretrained` copy the configuration/modeling files into the model folder
(with an `auto_map` in `config.json`), so that the folder also loads with `trust_remote_code=True` elsewhere.
"""

from transformers import AutoConfig, AutoModelForSequenceClassification

from .configuration_text_cnn import TextCNNConfig
from .configuration_text_rnn import TextRNNConfig
from .modeling_text_cnn import TextCNNForSequenceClassification, TextCNNPreTrainedModel
from .modeling_text_rnn import TextRNNForSequenceClassification, TextRNNPreTrainedModel

for _config, _model in (
    (TextCNNConfig, TextCNNForSequenceClassification),
    (TextRNNConfig, TextRNNForSequenceClassification),
):
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    AutoModelForSequenceClassification.register(_config, _model, exist_ok=True)
    _config.register_for_auto_class()
    _model.register_for_auto_class("AutoModelForSequenceClassification")

__all__ = [
    "TextCNNConfig",
    "TextCNNPreTrainedModel",
    "TextCNNForSequenceClassification",
    "TextRNNConfig",
    "TextRNNPreTrainedModel",
    "TextRNNForSequenceClassification",
]
