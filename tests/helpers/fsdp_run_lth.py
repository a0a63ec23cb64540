"""`examples/run_lth.py` under torchrun with FSDP2 on the CPU, for tests/test_fsdp.py (test-only; it changes nothing
in hf_lth).

accelerate 1.16 turns FSDP on for GPUs and other accelerators only: two torchrun processes on the CPU are
`MULTI_CPU`, where it drops the FSDP plugin (hf_lth then refuses `--fsdp` rather than train unsharded). This shim lets
accelerate's state take the plugin under `MULTI_CPU` as it does under `MULTI_GPU`, so that `fully_shard` shards the
model over a gloo mesh and hf_lth's FSDP2 path runs on this machine; then it runs `examples/run_lth.py` unchanged.

Each process records, after every round and control round, accelerate's distributed type, whether the model is
sharded, the shape of its local shard of each masked parameter and the digest of its mask; when `main()` returns
the processes exchange their records and process 0 writes them all to the JSON file named by `HF_LTH_FSDP_REPORT`.

    torchrun --nproc_per_node 2 tests/helpers/fsdp_run_lth.py --use_cpu --fsdp <run_lth.py flags>
"""

from __future__ import annotations

import sys

from accelerate.state import AcceleratorState, PartialState
from accelerate.utils import DistributedType

from hf_lth.engine.trainer import LTHTrainer
from hf_lth.pruning.sharded import local
from hf_lth.storage.weights import is_sharded

from torchrun_report import run_lth_and_report

ROUNDS: list[dict] = []
_original_init = AcceleratorState.__init__
_original_write_round = LTHTrainer._write_round


def _init_with_fsdp_on_cpu(self, *args, fsdp_plugin=None, **kwargs):
    _original_init(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
    if fsdp_plugin is not None and self.distributed_type == DistributedType.MULTI_CPU:
        self.distributed_type = DistributedType.FSDP  # what accelerate sets under MULTI_GPU, in both states
        self.fsdp_plugin = fsdp_plugin
        PartialState._shared_state["distributed_type"] = DistributedType.FSDP


def _recording_write_round(self, state, record, predictions):
    _original_write_round(self, state, record, predictions)
    params = dict(self.model.named_parameters())
    ROUNDS.append({
        "round": state.index,
        "control": state.control,
        "distributed_type": str(self.accelerator.distributed_type),
        "sharded": is_sharded(self.model),
        "local_shapes": {name: list(local(params[name]).shape) for name in state.mask},
        "mask": state.mask.digest(),
    })


AcceleratorState.__init__ = _init_with_fsdp_on_cpu
LTHTrainer._write_round = _recording_write_round


def main() -> int:
    return run_lth_and_report(sys.argv[1:], {"rounds": ROUNDS}, "HF_LTH_FSDP_REPORT")


if __name__ == "__main__":
    sys.exit(main())
