"""The instability report reads each seed's instability.json: means over seeds in points, missing seeds named."""

import json

from hf_lth.study.instability import instability_runs, instability_table
from hf_lth.study.spec import Line, ReportSpec, Study


def test_instability_over_seeds(tmp_path):
    for seed, value in ((1, 0.01), (2, 0.03)):
        folder = tmp_path / f"inst{seed}"
        folder.mkdir()
        runs = {"dense": {"round": 0, "line": "main", "step": 0, "sparsity": 0.0, "errors": [0.2, 0.3, 0.2],
                          "instability": value},
                "ticket": {"round": 10, "line": "step20", "step": 20, "sparsity": 0.893, "errors": [0.25, 0.26, 0.27],
                           "instability": 0.001}}
        (folder / "instability.json").write_text(json.dumps({"runs": runs}))
    study = Study(name="inst", base=tmp_path, output=str(tmp_path / "o{seed}"), seeds=[1, 2, 3], lines=[Line("main")],
                  report=ReportSpec(kind="instability", analysis=str(tmp_path / "inst{seed}")))
    table, missing = instability_runs(study)
    assert missing == [3] and list(table) == [("dense", 0), ("ticket: step20 line, round 10", 20)]
    assert table[("dense", 0)]["instability"] == {1: 1.0, 2: 3.0}
    text = instability_table(study)
    assert "| dense | 0 | 0.0 | 2 | 2.00 [" in text and "for seeds [3]" in text
    assert "| ticket: step20 line, round 10 | 20 | 89.3 | 2 | 0.10 [" in text
