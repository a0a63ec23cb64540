"""bf16 mixed precision on CPUs that have bf16 instructions (AVX512-BF16 or AMX), as a first-class choice.

transformers' `TrainingArguments` accepts `--bf16` without a GPU only together with `--use_cpu`. hf_lth lets
`--bf16` alone pick the CPU when no accelerator is there and the CPU computes bf16 natively (detected here); on a
CPU without those instructions it refuses, naming them, since torch would emulate bf16 more slowly than fp32.
Under `torch.autocast("cpu", dtype=torch.bfloat16)` the parameters, their gradients and the optimizer's moments
stay fp32; the matrix products and convolutions run in bf16.
"""

from __future__ import annotations

from functools import lru_cache

import torch

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@lru_cache(maxsize=1)
def cpu_bf16_instructions() -> tuple[str, ...]:
    """The bf16 instruction sets of this CPU that torch can use (`amx_bf16`, `avx512_bf16`); empty if none."""
    found = []
    if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
        found.append("amx_bf16")
    if getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
        found.append("avx512_bf16")
    if not found:  # torch builds without the probes: read the flags the kernel reports
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as handle:
                flags = next((line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), [])
        except OSError:
            flags = []
        found = [flag for flag in BF16_CPU_FLAGS if flag in flags]
    return tuple(found)


def accelerator_with_bf16() -> bool:
    """True where an accelerator that Trainer trains in bf16 is present (a bf16 GPU, or an XLA device)."""
    from transformers.utils import is_torch_bf16_gpu_available, is_torch_xla_available

    return is_torch_bf16_gpu_available() or is_torch_xla_available()
