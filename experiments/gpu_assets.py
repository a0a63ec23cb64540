#!/usr/bin/env python
"""Build `.gpu/`, what `experiments/gpu_study.sh` needs on a GPU machine that has no network; unpack it there.

The GPU machine gets the git working tree plus the ignored folder `.gpu/`, 64 MiB in all (the tree is ~10 MB), so
`.gpu/` must stay under ~50 MiB. It holds:

- `wheels/`: the Python packages that machine lacks (datasets, evaluate and what they need beyond torch,
  transformers, accelerate, tokenizers, safetensors, huggingface_hub, pyarrow, pandas, numpy, scipy, statsmodels,
  matplotlib, scikit-learn, tqdm, pyyaml, xxhash and fsspec), at the versions installed here, all pure-Python
  wheels; `wheels-fallback/`: an older datasets (4.8.5: huggingface_hub < 2, pyarrow >= 21) that the study installs
  instead if datasets 5.2.0 does not import against that machine's huggingface_hub or pyarrow.
- `minilm/`: all-MiniLM-L6-v2 (hf_lth's `minilm` preset) with its weight matrices rounded to float16 (biases and
  LayerNorm stay float32), 45 MB. A documented deviation: "pretrained weights rounded to fp16 for transport";
  `minilm/fp16_rounding.json` records the rounding error. Even so the budget does not hold the safetensors file
  as it is (45 MB + 13 MB of data + the tree > 64 MiB): it travels as `model.safetensors.planes.xz`, the file's
  data bytes split into even and odd planes (the low and high bytes of each float16) and xz-compressed (39 MB),
  with the sha256 of the safetensors file it unpacks to. `config.json` says `"dtype": "float32"`, so that
  `from_pretrained` upcasts the weights and training keeps float32 master weights (under `--bf16` autocast).
- `imdb/{train,test}.parquet`: the full IMDb train (25,000) and test (25,000) splits, each review cut just after
  the word holding the last token that fits in `max_seq_length` (256) MiniLM tokens, so that tokenising with
  truncation at 256 gives exactly the same input_ids (checked on every row); columns `text`, `label`, row order
  kept; zstd level 19 in one data page per column (13 MB instead of 28 MB).

Usage:
  python experiments/gpu_assets.py                  # build .gpu/ (idempotent: finished parts are kept), print sizes
  python experiments/gpu_assets.py --check          # print sizes only; exit 1 if over the budget
  python experiments/gpu_assets.py --unpack DIR     # on the GPU machine: DIR/minilm, a from_pretrained folder
  python experiments/gpu_assets.py --tiny --out D   # a tiny stand-in (tiny BERT, 100 sample reviews, 32 tokens)
                                                    # for the CPU test of gpu_study.sh
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / ".gpu"
DEFAULT_DATA = REPO.parent / "shared" / "data" / "imdb"
MAX_SEQ_LENGTH = 256
BUDGET_MIB = 60.0  # .gpu/ alone; with the ~10 MB working tree the carried total must stay under 64 MiB
CARRY_LIMIT_MIB = 64.0

# Packages the GPU machine lacks (datasets, evaluate and their requirements not installed there), at this
# machine's versions; a wheel is installed there only when its module does not import.
WHEEL_PACKAGES = ["datasets", "evaluate", "dill", "multiprocess", "requests", "urllib3", "idna",
                  "charset_normalizer", "certifi"]
FALLBACK_WHEELS = ["datasets==4.8.5"]
MODEL_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
PACKED_WEIGHTS = "model.safetensors.planes.xz"
ROUNDING_FILE = "fp16_rounding.json"
MANIFEST = "assets.json"


def mib(n: int) -> float:
    return n / 2**20


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- weights: pack and unpack ----------------------------------------------------------------------


def pack_safetensors(src: Path, dest: Path) -> None:
    """Write `src` (a safetensors file) as xz of [header][even bytes of the data][odd bytes of the data]."""
    raw = src.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    head, data = raw[: 8 + header_len], raw[8 + header_len:]
    payload = head + data[0::2] + data[1::2]
    dest.write_bytes(lzma.compress(payload, preset=9 | lzma.PRESET_EXTREME))


def unpack_safetensors(src: Path, dest: Path) -> None:
    """Invert `pack_safetensors`."""
    payload = lzma.decompress(src.read_bytes())
    (header_len,) = struct.unpack("<Q", payload[:8])
    head, planes = payload[: 8 + header_len], payload[8 + header_len:]
    n = len(planes)
    data = bytearray(n)
    half = (n + 1) // 2
    data[0::2], data[1::2] = planes[:half], planes[half:]
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_bytes(head + bytes(data))
    os.replace(tmp, dest)


def unpack(out: Path, target: Path) -> Path:
    """Make `target/minilm` a from_pretrained folder from `out/minilm` (skipped when it is already there)."""
    manifest = json.loads((out / MANIFEST).read_text())
    src, dst = out / "minilm", target / "minilm"
    weights = dst / "model.safetensors"
    want = manifest["minilm"]["model_sha256"]
    if weights.is_file() and sha256(weights) == want:
        print(f"{dst} is unpacked already")
        return dst
    dst.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES + [ROUNDING_FILE]:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
    unpack_safetensors(src / PACKED_WEIGHTS, weights)
    if sha256(weights) != want:
        raise SystemExit(f"error: {weights} does not have the sha256 recorded in {out / MANIFEST}")
    print(f"unpacked {src / PACKED_WEIGHTS} -> {weights} ({mib(weights.stat().st_size):.1f} MiB, sha256 checked)")
    return dst


# --- the model ---------------------------------------------------------------------------------------


def build_model(source: Path, out: Path, tiny: bool = False) -> dict:
    """`out/minilm`: config (dtype float32), tokenizer, matrices rounded to float16, packed; returns its manifest."""
    import torch
    from safetensors.torch import load_file, save_file

    dst = out / "minilm"
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    tensors = load_file(str(source / "model.safetensors"))
    rounded, stats = {}, {}
    worst_rel = worst_rel_normal = worst_abs = 0.0
    n_total = n_subnormal = n_zeroed = 0
    tiny_normal = torch.finfo(torch.float16).tiny  # 2**-14: below it float16 is subnormal (less precision)
    for name, tensor in tensors.items():
        if not tensor.is_floating_point() or tensor.dim() < 2:
            rounded[name] = tensor.contiguous()  # biases, LayerNorm, position_ids: as they are
            continue
        x = tensor.float()
        y = x.half()
        err = (y.float() - x).abs()
        nonzero = x != 0
        rel = torch.where(nonzero, err / x.abs().clamp_min(1e-45), torch.zeros_like(err))
        normal = x.abs() >= tiny_normal
        stats[name] = {"shape": list(x.shape), "max_abs_error": err.max().item(), "max_rel_error": rel.max().item(),
                       "max_rel_error_normal_range": rel[normal].max().item() if normal.any() else 0.0,
                       "subnormal": int((nonzero & ~normal).sum()), "rounded_to_zero": int((nonzero & (y == 0)).sum())}
        worst_abs = max(worst_abs, stats[name]["max_abs_error"])
        worst_rel = max(worst_rel, stats[name]["max_rel_error"])
        worst_rel_normal = max(worst_rel_normal, stats[name]["max_rel_error_normal_range"])
        n_total += x.numel()
        n_subnormal += stats[name]["subnormal"]
        n_zeroed += stats[name]["rounded_to_zero"]
        rounded[name] = y.contiguous()
    summary = {
        "what": "every floating tensor with 2+ dimensions (the embeddings, the encoder's and pooler's weight "
                "matrices) rounded to float16 for transport; 1-D tensors (biases, LayerNorm) kept in float32; "
                "from_pretrained upcasts to float32 (config dtype float32)",
        "rounded_parameters": n_total,
        "max_abs_error": worst_abs,
        "max_rel_error_normal_range": worst_rel_normal,
        "max_rel_error_all": worst_rel,
        "subnormal_values": n_subnormal,
        "values_rounded_to_zero": n_zeroed,
        "note": "float16 keeps 11 significant bits: the relative error is at most 2**-11 = 4.9e-4 for |x| >= 2**-14; "
                "smaller values are subnormal (absolute error at most 2**-25 = 3.0e-8, relative error larger).",
    }
    (dst / ROUNDING_FILE).write_text(json.dumps({"summary": summary, "tensors": stats}, indent=1) + "\n")

    config = json.loads((source / "config.json").read_text())
    config.pop("torch_dtype", None)
    config["dtype"] = "float32"  # from_pretrained's dtype "auto" reads this: float32 master weights
    (dst / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for name in MODEL_FILES[1:]:
        if (source / name).is_file():
            shutil.copy2(source / name, dst / name)
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "model.safetensors"
        save_file(rounded, str(plain), metadata={"format": "pt"})
        digest, plain_size = sha256(plain), plain.stat().st_size
        pack_safetensors(plain, dst / PACKED_WEIGHTS)
        check = Path(tmp) / "check.safetensors"
        unpack_safetensors(dst / PACKED_WEIGHTS, check)
        assert sha256(check) == digest, "pack/unpack round trip changed the weights"
        if not tiny:
            _check_loads_as_float32(dst, plain, rounded)
    print(f"minilm: {plain_size / 1e6:.1f} MB float16 safetensors -> {PACKED_WEIGHTS} "
          f"{(dst / PACKED_WEIGHTS).stat().st_size / 1e6:.1f} MB; max relative rounding error "
          f"{worst_rel_normal:.2e} (normal range), {worst_rel:.2e} (all, {n_subnormal} subnormal values), "
          f"max absolute {worst_abs:.2e}")
    return {"source": str(source), "model_sha256": digest, "model_bytes": plain_size, "rounding": summary}


def _check_loads_as_float32(folder: Path, weights: Path, rounded: dict) -> None:
    """from_pretrained (as hf_lth's load_model calls it) gives float32 parameters equal to the rounded values."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    with tempfile.TemporaryDirectory() as tmp:
        for name in MODEL_FILES:
            if (folder / name).is_file():
                shutil.copy2(folder / name, Path(tmp) / name)
        shutil.copy2(weights, Path(tmp) / "model.safetensors")
        config = AutoConfig.from_pretrained(tmp, num_labels=2)
        model = AutoModelForSequenceClassification.from_pretrained(tmp, config=config)
    dtypes = {p.dtype for p in model.parameters()}
    assert dtypes == {torch.float32}, f"the model loads as {dtypes}, not float32"
    state = model.state_dict()
    for name, value in rounded.items():
        key = name if name in state else f"bert.{name}"
        if key in state and value.is_floating_point():
            assert torch.equal(state[key], value.float()), f"{key} differs from its rounded value"


# --- the data ----------------------------------------------------------------------------------------


def cut_texts(texts: list[str], tokenizer, max_length: int) -> list[str]:
    """Each text cut just after the word that holds its last token within `max_length` (specials included)."""
    room = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    encodings = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True).encodings
    cut = []
    for text, enc in zip(texts, encodings):
        if len(enc.ids) <= room:
            cut.append(text)
            continue
        word = enc.word_ids[room - 1]
        end = max(offset[1] for offset, w in zip(enc.offsets, enc.word_ids) if w == word)
        cut.append(text[:end])
    return cut


def check_same_ids(full: list[str], cut: list[str], tokenizer, max_length: int, where: str) -> None:
    a = tokenizer(full, truncation=True, max_length=max_length)["input_ids"]
    b = tokenizer(cut, truncation=True, max_length=max_length)["input_ids"]
    bad = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if bad:
        raise SystemExit(f"error: {len(bad)} rows of {where} tokenise differently once cut (first: row {bad[0]})")


def build_data(files: dict[str, Path], out: Path, tokenizer, max_length: int, rows: int | None = None) -> dict:
    """`out/imdb/{train,test}.parquet`: `files[split]`'s first `rows` rows (all: None), each text cut."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    dst = out / "imdb"
    dst.mkdir(parents=True, exist_ok=True)
    record = {}
    for split in ("train", "test"):
        table = pq.read_table(files[split], columns=["text", "label"])
        if rows is not None:
            table = table.slice(0, rows)
        texts = table.column("text").to_pylist()
        cut = cut_texts(texts, tokenizer, max_length)
        check_same_ids(texts, cut, tokenizer, max_length, str(files[split]))
        new = pa.table({"text": pa.array(cut, pa.string()), "label": table.column("label")})
        path = dst / f"{split}.parquet"
        pq.write_table(new, path, compression="zstd", compression_level=19, row_group_size=len(cut),
                       data_page_size=1 << 30)
        back = pq.read_table(path)
        assert back.column("text").to_pylist() == cut and back.column("label").equals(table.column("label"))
        record[split] = {"rows": len(cut), "chars": sum(map(len, texts)), "chars_cut": sum(map(len, cut)),
                         "rows_cut": sum(a != b for a, b in zip(texts, cut)), "source": str(files[split]),
                         "bytes": path.stat().st_size, "sha256": sha256(path)}
        print(f"imdb/{split}.parquet: {len(cut)} rows, {record[split]['rows_cut']} cut at {max_length} tokens "
              f"(same input_ids on every row), {path.stat().st_size / 1e6:.1f} MB")
    return {"max_seq_length": max_length, **record}


# --- the wheels --------------------------------------------------------------------------------------


def download_wheels(out: Path) -> dict:
    pins = {"wheels": [f"{name}=={version(name)}" for name in WHEEL_PACKAGES], "wheels-fallback": FALLBACK_WHEELS}
    for folder, specs in pins.items():
        dst = out / folder
        have = {p.name.split("-")[0].lower().replace("_", "-") + "==" + p.name.split("-")[1] for p in dst.glob("*.whl")}
        want = {s.lower().replace("_", "-") for s in specs}
        if want <= have and len(have) == len(want):
            continue
        shutil.rmtree(dst, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--python-version", "3.12", "--implementation", "py", "--abi", "none", "--platform", "any",
                        "-d", str(dst), *specs], check=True)
    return {folder: sorted(p.name for p in (out / folder).glob("*.whl")) for folder in pins}


# --- sizes -------------------------------------------------------------------------------------------


def tree_bytes() -> int:
    """What the working tree adds to the carry: tracked files and untracked files git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.split(b"\0")
    return sum((REPO / os.fsdecode(p)).stat().st_size for p in listed if p and (REPO / os.fsdecode(p)).is_file())


def report_sizes(out: Path, budget_mib: float) -> bool:
    print(f"\n{out}:")
    for path in sorted(out.rglob("*")):
        if path.is_file():
            print(f"  {mib(path.stat().st_size):8.2f} MiB  {path.relative_to(out)}")
    total = folder_size(out)
    ok = mib(total) <= budget_mib
    print(f"  {mib(total):8.2f} MiB  total ({total} bytes; budget {budget_mib:g} MiB){'' if ok else '  OVER BUDGET'}")
    try:
        tree = tree_bytes()
        carried = mib(tree + total)
        print(f"working tree {mib(tree):.2f} MiB + .gpu {mib(total):.2f} MiB = {carried:.2f} MiB carried "
              f"(limit {CARRY_LIMIT_MIB:g} MiB)")
        ok = ok and carried < CARRY_LIMIT_MIB
    except (subprocess.CalledProcessError, FileNotFoundError):
        pass
    return ok


# --- main --------------------------------------------------------------------------------------------


def build(out: Path, data: Path, max_length: int) -> None:
    from transformers import AutoTokenizer

    from hf_lth.loading.pretrained import pretrained_preset_path

    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    source = pretrained_preset_path("minilm")
    packed = out / "minilm" / PACKED_WEIGHTS
    if not (packed.is_file() and manifest.get("minilm", {}).get("source") == str(source)):
        manifest["minilm"] = build_model(source, out)
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    else:
        print(f"minilm: kept ({packed})")
    tokenizer = AutoTokenizer.from_pretrained(out / "minilm")
    have = manifest.get("imdb", {})
    if not (have.get("max_seq_length") == max_length
            and all((out / "imdb" / f"{s}.parquet").is_file() and sha256(out / "imdb" / f"{s}.parquet")
                    == have.get(s, {}).get("sha256") for s in ("train", "test"))):
        manifest["imdb"] = build_data({s: data / f"{s}.parquet" for s in ("train", "test")}, out, tokenizer, max_length)
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    else:
        print(f"imdb: kept ({out / 'imdb'})")
    manifest["wheels"] = download_wheels(out)
    manifest["versions_here"] = {name: version(name) for name in ("torch", "transformers", "tokenizers")}
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")


def build_tiny(out: Path, rows: int = 100, max_length: int = 32) -> None:
    """A stand-in for the CPU test: a tiny BERT (random weights, saved as a checkpoint) packed like MiniLM, and
    `rows` reviews of each split of the shipped IMDb sample cut at `max_length` tokens. No wheels."""
    import pyarrow.parquet as pq
    from transformers import BertConfig, BertModel

    from hf_lth.data.loading import SAMPLE_FILES
    from hf_lth.data.tokenization import train_wordpiece_tokenizer

    out.mkdir(parents=True, exist_ok=True)
    texts = pq.read_table(SAMPLE_FILES["train"], columns=["text"]).column("text").to_pylist()
    tokenizer = train_wordpiece_tokenizer(texts, vocab_size=1000)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, pad_token_id=tokenizer.pad_token_id)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "tiny-bert"
        BertModel(config).save_pretrained(source)
        tokenizer.save_pretrained(source)
        manifest = {"minilm": build_model(source, out, tiny=True)}
    manifest["minilm"]["source"] = "a tiny random BERT (GPU_STUDY_TINY)"
    manifest["imdb"] = build_data(SAMPLE_FILES, out, tokenizer, max_length, rows=rows)
    manifest["wheels"] = {}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the assets folder (default: .gpu)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the full IMDb train/test parquet")
    parser.add_argument("--max_seq_length", type=int, default=MAX_SEQ_LENGTH)
    parser.add_argument("--budget_mib", type=float, default=BUDGET_MIB)
    parser.add_argument("--check", action="store_true", help="print the sizes only")
    parser.add_argument("--unpack", type=Path, metavar="DIR", help="unpack the model into DIR/minilm")
    parser.add_argument("--tiny", action="store_true", help="build the tiny stand-in for the CPU test")
    args = parser.parse_args(argv)
    if args.unpack:
        unpack(args.out, args.unpack)
        return 0
    if args.tiny:
        build_tiny(args.out)
        return 0
    if not args.check:
        build(args.out, args.data, args.max_seq_length)
    return 0 if report_sizes(args.out, args.budget_mib) else 1


if __name__ == "__main__":
    sys.exit(main())
