"""`examples/run_lth.py` under torchrun, instrumented for tests/test_distributed.py (test-only, changes nothing).

Each process records, after every round and control round, the digest of its mask (`TicketMask.digest()`), of the
mask its `TicketMaskCallback` applies, and of its model's weights; an audit hook records every file-system write
the process makes under `--output_dir` (opens for writing, renames, removals, new folders). When `main()` returns,
the processes exchange their records with `torch.distributed.all_gather_object` and process 0 writes them all to
the JSON file named by `HF_LTH_DDP_REPORT` (outside the output folder).

    torchrun --nproc_per_node 2 tests/helpers/ddp_run_lth.py --use_cpu <run_lth.py flags>
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

ARGV = sys.argv[1:]
OUTPUT_DIR = Path(ARGV[ARGV.index("--output_dir") + 1]).resolve()
WRITES: list[list[str]] = []
ROUNDS: list[dict] = []


def _under_output(path) -> str | None:
    if isinstance(path, int):
        return None
    try:
        text = os.fsdecode(path)
    except TypeError:
        return None
    resolved = os.path.abspath(text)
    root = str(OUTPUT_DIR)
    return resolved if resolved == root or resolved.startswith(root + os.sep) else None


def _audit(event: str, args: tuple) -> None:
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            mode is None and isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
        if writes and (target := _under_output(path)):
            WRITES.append([event, target])
    elif event in ("os.rename", "os.remove", "os.rmdir", "shutil.rmtree", "os.truncate", "os.link", "os.symlink"):
        for path in args[:2]:
            if (target := _under_output(path)) is not None:
                WRITES.append([event, target])
    elif event == "os.mkdir":
        target = _under_output(args[0])
        if target is not None and not os.path.exists(target):  # creating a folder, not `exist_ok` on one
            WRITES.append([event, target])


sys.addaudithook(_audit)

import torch  # noqa: E402

from hf_lth.engine.trainer import LTHTrainer  # noqa: E402
from torchrun_report import run_lth_and_report  # noqa: E402


def _weights_digest(model: torch.nn.Module) -> str:
    sha = hashlib.sha256()
    for name, param in sorted(model.named_parameters()):
        sha.update(name.encode())
        sha.update(param.detach().cpu().contiguous().numpy().tobytes())
    return sha.hexdigest()


_original_write_round = LTHTrainer._write_round


def _recording_write_round(self, state, record, predictions):
    _original_write_round(self, state, record, predictions)
    ROUNDS.append({
        "round": state.index,
        "control": state.control,
        "mask": state.mask.digest(),
        "applied_mask": self._mask_callback.mask.digest(),
        "weights": _weights_digest(self.accelerator.unwrap_model(self.model)),
        "sparsity": state.mask.sparsity(),
        "world_size": self.args.world_size,
        "process_index": self.args.process_index,
        "parallel_mode": str(self.args.parallel_mode),
        "distributed_type": str(self.accelerator.distributed_type),
    })


LTHTrainer._write_round = _recording_write_round


def main() -> int:
    return run_lth_and_report(ARGV, {"rounds": ROUNDS, "writes": WRITES}, "HF_LTH_DDP_REPORT")


if __name__ == "__main__":
    sys.exit(main())
