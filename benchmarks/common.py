"""Shared helpers of the benchmarks: the machine, medians, peak memory, model builders and the result table.

Every benchmark prints rows `figure | value | anchor | anchor value | ratio | target` and writes the same rows,
plus the raw measurements, to `<out>/<name>.json` and `<out>/<name>.txt`. Medians of repeated measurements are
used throughout, and compared configurations are run side by side, interleaved, in the same process or run.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"  # full-size data, beside the checkout where present
SAMPLE_DATA = REPO_ROOT / "hf_lth" / "sample_data"  # the small samples shipped with hf_lth

# BERT-base encoder: 12 layers of Q, K, V, attention output (768x768), intermediate (3072x768), output (768x3072).
BERT_BASE_LAYER = [
    ("attention.self.query.weight", (768, 768)),
    ("attention.self.key.weight", (768, 768)),
    ("attention.self.value.weight", (768, 768)),
    ("attention.output.dense.weight", (768, 768)),
    ("intermediate.dense.weight", (3072, 768)),
    ("output.dense.weight", (768, 3072)),
]


@dataclass
class Row:
    """One line of a result table: a figure beside its anchor, and the target for their ratio (or the figure)."""

    figure: str
    value: float
    unit: str
    anchor: str = ""
    anchor_value: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    paired_ratio: float | None = None  # the median of ratios taken turn by turn, where the benchmark pairs turns
    command: str = ""  # the command that measured this row, where it differs from its benchmark's

    @property
    def ratio(self) -> float | None:
        """`paired_ratio` where measured (what the docs quote), else value / anchor value."""
        if self.paired_ratio is not None:
            return self.paired_ratio
        if self.anchor_value in (None, 0):
            return None
        return self.value / self.anchor_value


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def data_file(dataset: str, split: str, sample: bool = False) -> Path:
    """The shipped sample `hf_lth/sample_data/<dataset>_<split>.parquet` when `sample` (the `--quick` sizes, so that
    a smoke test reads nothing outside the repository); else `../shared/data/<dataset>/<split>.parquet` (full size)
    where present, the sample (with a one-line notice on stderr) where not."""
    full = SHARED_DATA / dataset / f"{split}.parquet"
    if not sample:
        if full.is_file():
            return full
        _sample_notice(dataset)
    return SAMPLE_DATA / f"{dataset}_{split}.parquet"


@functools.cache
def _sample_notice(dataset: str) -> None:
    print(f"note: {SHARED_DATA / dataset} is missing; using the shipped {dataset} sample in hf_lth/sample_data "
          "(smaller, so figures are not comparable with full-size runs)", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    model_name = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model_name = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "")
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "cpu": model_name or platform.processor(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_average_at_start": [round(x, 2) for x in load],
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def proc_status_kib(field_name: str) -> int:
    """A `VmRSS`/`VmHWM` line of /proc/self/status, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field_name} not in /proc/self/status")


def reset_peak_rss() -> bool:
    """Return freed heap memory to the system (glibc `malloc_trim`), so that a later allocation shows in the RSS,
    then reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs). False if not allowed."""
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit in ("x", "ratio"):
        return f"{value:.3f}x"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 1:
        text = f"{value:.3f}"
    else:
        text = f"{value:.4f}"
    return f"{text} {unit}".strip()


def table(rows: list[Row]) -> str:
    header = ["figure", "value", "anchor", "anchor value", "ratio", "target", "met"]
    lines = [header]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "NO")
        lines.append([
            row.figure,
            fmt(row.value, row.unit),
            row.anchor or "-",
            fmt(row.anchor_value, row.unit) if row.anchor_value is not None else "-",
            fmt(row.ratio, "x") if row.ratio is not None else "-",
            row.target or "-",
            met,
        ])
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append(" | ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            out.append("-+-".join("-" * w for w in widths))
    notes = [f"- {row.figure}: {row.note}" for row in rows if row.note]
    return "\n".join(out + ([""] + notes if notes else []))


def report(name: str, title: str, rows: list[Row], raw: dict[str, Any], out_dir: Path, settings: dict[str, Any]) -> str:
    """Print the table and write `<out_dir>/<name>.json` and `.txt`."""
    info = machine()
    text = (
        f"# {title}\n"
        f"machine: {info['cpu']}, {info['cores']} cores, torch threads {info['torch_threads']}, "
        f"{info['memory_gib']} GiB; torch {info['torch']}; load average at start {info['load_average_at_start']}\n"
        f"command: {settings.get('command', '')}\n\n" + table(rows) + "\n"
    )
    print(text, flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "title": title,
        "machine": info,
        "settings": settings,
        "rows": [{**asdict(row), "ratio": row.ratio} for row in rows],
        "raw": raw,
    }
    (out_dir / f"{name}.json").write_text(json.dumps(payload, indent=1, default=str) + "\n")
    (out_dir / f"{name}.txt").write_text(text)
    return text


def argument_parser(doc: str | None, quick_help: str = "small sizes, few repetitions (smoke test)",
                    repeats_help: str | None = None) -> argparse.ArgumentParser:
    """The flags every benchmark has: --quick, --repeats (default chosen by the benchmark) and --out."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--repeats", type=int, default=None, help=repeats_help)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the .json and .txt results")
    return parser


def command_line() -> str:
    """The command that produced a result, with paths inside the repository made relative to it."""
    args = [os.path.relpath(sys.argv[0], REPO_ROOT)] + sys.argv[1:]
    root = str(REPO_ROOT) + os.sep
    return "python " + " ".join(a[len(root):] if a.startswith(root) else a for a in args)


def bert_base_sized_weights(seed: int = 0, layers: int = 12, hidden: int = 768, scale: float = 0.02) -> dict[str, Any]:
    """The 72 prunable matrices of a BERT-base encoder (84.9M weights), N(0, 0.02) as BERT initialises them
    (`layers` and `hidden` shrink it for quick runs)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    weights = {}
    for layer in range(layers):
        for name, shape in BERT_BASE_LAYER:
            shape = tuple(d * hidden // 768 for d in shape)
            weights[f"bert.encoder.layer.{layer}.{name}"] = torch.randn(shape, generator=generator).mul_(scale)
    return weights


def process_facts() -> dict[str, Any]:
    """What this process runs on, for benchmarks that compare fresh processes: torch's threads, the CPUs the process
    may use and each of its threads last ran on, its context switches and page faults, the CPU clock the kernel
    reports, the load average and the environment variables that place threads or change the allocator."""
    import resource

    import torch

    threads = {}
    for task in sorted(Path("/proc/self/task").glob("*")) if Path("/proc/self/task").is_dir() else []:
        try:
            stat = (task / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            status = dict(line.split(":", 1) for line in (task / "status").read_text().splitlines() if ":" in line)
            threads[task.name] = {"last_cpu": int(fields[36]), "allowed_cpus": status["Cpus_allowed_list"].strip(),
                                  "involuntary_switches": int(status["nonvoluntary_ctxt_switches"]),
                                  "cpu_seconds": (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")}
        except (OSError, ValueError, KeyError, IndexError):
            continue
    try:
        mhz = [float(line.split(":")[1]) for line in Path("/proc/cpuinfo").read_text().splitlines()
               if line.startswith("cpu MHz")]
    except OSError:
        mhz = []
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "torch_threads": torch.get_num_threads(),
        "allowed_cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "threads": threads,
        "voluntary_switches": usage.ru_nvcsw, "involuntary_switches": usage.ru_nivcsw,
        "minor_page_faults": usage.ru_minflt, "major_page_faults": usage.ru_majflt,
        "cpu_mhz": mhz,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "env": {k: v for k, v in os.environ.items()
                if k.startswith(("OMP_", "GOMP_", "KMP_", "MKL_", "DNNL_", "ONEDNN_", "MALLOC_", "GLIBC_TUNABLES"))
                or k == "LD_PRELOAD"},
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
