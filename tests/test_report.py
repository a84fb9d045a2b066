"""The reproduction report: claim counts, the catalog against the Makefile, figures not run, the provenance line of
``render``, REPORT.html with inlined images, and byte-identical rebuilds."""

import base64
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sgtheory import figures
from sgtheory.figures import render, write_report
from sgtheory.figures.report import CATALOG, FLOSSING_SNN, PAPERS, claims_text, count_claims, write_provenance
from sgtheory.results import write_table

ROOT = Path(__file__).resolve().parents[1]


def section(stem: str, claims: str) -> str:
    """A report section as ``render`` writes it, with the given claims."""
    return f"## {stem}\n\n![{stem}]({stem}.png)\n\nTable: `results/{stem}.parquet`\n\n{claims}\n"


def summary_row(report: str, paper: str, figure: str) -> list[str]:
    """The cells of the summary row whose figure cell starts with ``figure``."""
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0] == paper and cells[1].startswith(figure):
            return cells
    raise AssertionError(f"no summary row for {paper}, {figure}")


def test_claims_are_counted_from_every_mark_of_a_section():
    text = section("toy", "| ok |\n|---|\n| **no** |\n\n- first: **holds**\n- second: **fails**.\n"
                          "- third: **holds**; fourth: **holds** (2 of 2).\n- fifth: not marked\n"
                          "- sixth: **needs the paper profile**.")
    assert count_claims(text) == (3, 1, 1)
    assert claims_text(3, 1, 1) == "3 holds / 1 fails / 1 need the paper profile"
    assert claims_text(0, 0, 0) == "no claims" and claims_text(2, 0, 0) == "2 holds / 0 fails"


def test_a_catalog_figure_without_its_section_is_not_run_and_extra_sections_stay(tmp_path):
    (tmp_path / "r1_flossing.md").write_text(section("r1_flossing", "- a: **holds**\n- b: **fails**"))
    (tmp_path / "my_extra.md").write_text(section("my_extra", "- c: **fails**"))
    report = write_report(tmp_path).read_text()
    r1 = summary_row(report, FLOSSING_SNN, "Fig. R1")
    assert r1[2] == "[r1_flossing](#r1_flossing), r1_reconcile" and r1[3:5] == ["1 of 2 built", "1 holds / 1 fails"]
    assert summary_row(report, FLOSSING_SNN, "Fig. R2")[3:5] == ["not run", "not run"]
    extra = summary_row(report, "—", "not in the catalog")
    assert extra[2:5] == ["[my_extra](#my_extra)", "built", "0 holds / 1 fails"]
    assert "\n## my_extra\n" in report and "\n## r1_flossing\n" in report
    (tmp_path / "r1_reconcile.md").write_text(section("r1_reconcile", "- d: **holds**"))
    r1 = summary_row(write_report(tmp_path).read_text(), FLOSSING_SNN, "Fig. R1")
    assert r1[3:5] == ["built", "2 holds / 1 fails"]


def test_html_inlines_every_image_of_the_folder(tmp_path):
    for seed, stem in enumerate(["r1_flossing", "spike_match_stats"]):  # the second has no section
        plt.imsave(tmp_path / f"{stem}.png", np.random.default_rng(seed).random((6, 5)))
    (tmp_path / "r1_flossing.md").write_text(section("r1_flossing", "- a: **holds**"))
    write_report(tmp_path)
    html = (tmp_path / "REPORT.html").read_text()
    inlined = [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]
    assert sorted(inlined) == sorted(p.read_bytes() for p in tmp_path.glob("*.png"))
    assert ".png" not in html
    assert '<h2 id="r1_flossing">' in html and '<a href="#r1_flossing">' in html and "<table>" in html


def test_rebuilding_the_report_gives_identical_bytes(tmp_path):
    plt.imsave(tmp_path / "gf_tanh.png", np.random.default_rng(0).random((6, 5)))
    (tmp_path / "gf_tanh.md").write_text(section("gf_tanh", "- a: **holds**"))
    write_provenance([{"table": "t.parquet", "profile": "quick", "runs": 1, "compute_s": {"a": 9.5}}],
                     tmp_path / "gf_tanh.png")
    report = write_report(tmp_path)
    first = report.read_bytes(), report.with_suffix(".html").read_bytes()
    assert (report.read_bytes(), report.with_suffix(".html").read_bytes()) == first
    copy = shutil.copytree(tmp_path, tmp_path.parent / f"{tmp_path.name}_copy")
    assert write_report(copy).read_bytes() == first[0]


def toy_figure(frame: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(2, 2), layout="constrained")
    ax.plot(frame["x"])
    return fig


def toy_report(frame: pd.DataFrame) -> str:
    return "- toy: **holds**"


def test_render_states_profile_runs_and_summed_compute_time(tmp_path, monkeypatch):
    monkeypatch.setitem(figures.FIGURES, "toy", figures.Figure(__name__, "toy_figure", "toy_report", ()))
    frame = pd.DataFrame({"x": [0.0, 1.0]})
    first = write_table(frame, tmp_path / "a.parquet", {"runs": {"r1": {}, "r2": {}}, "profile": "quick",
                                                         "compute_s": {"r1": 100.0, "r2": 20.0}, "elapsed_s": 70.0})
    second = write_table(frame, tmp_path / "b.csv", {"runs": {"r3": {}}, "profile": "quick",
                                                     "compute_s": {"r3": 30.0}, "elapsed_s": 30.0})
    old = write_table(frame, tmp_path / "c.parquet", {"runs": {"r4": {}}})
    render("toy", [first, second], tmp_path / "new.png")
    assert f"Table: `{first}`, `{second}`\n\nProfile: quick · 3 runs · compute time 2.5 min\n\n- toy" in (
        tmp_path / "new.md").read_text()
    render("toy", old, tmp_path / "old.png")
    assert "\n\nProfile: not recorded · 1 run · compute time not recorded\n\n" in (tmp_path / "old.md").read_text()
    resumed = write_table(frame, tmp_path / "d.parquet", {"runs": {"r5": {}, "r6": {}}, "profile": None,
                                                          "compute_s": {"r5": 60.0, "r6": None}, "elapsed_s": 60.0})
    render("toy", [resumed, second], tmp_path / "partial.png")
    assert "Profile: no profile, quick · 3 runs · compute time ≥ 90 s (part not recorded)" in (
        tmp_path / "partial.md").read_text()
    report = write_report(tmp_path).read_text()
    assert summary_row(report, "—", "not in the catalog")[2:] == [  # rows sorted by stem: new before old
        "[new](#new)", "built", "1 holds / 0 fails", "quick", "2.5 min"]
    assert "Profile: no profile, not recorded, quick · 0 of" in report
    assert "compute time ≥ 3.5 min (part not recorded)" in report  # 100 + 20 + 30 + 60 s: b.csv counted once


def makefile_stems() -> set[str]:
    """Stems of every ``--out $(FIGDIR)/<stem>.png`` in the Makefile, with its variables expanded by make itself."""
    outs = re.findall(r"--out (\$\(FIGDIR\)/\S+\.png)", (ROOT / "Makefile").read_text())
    assert outs, "no figure outputs found in the Makefile"
    rule = f"print-figure-outputs: ; @echo {' '.join(outs)}"
    printed = subprocess.run(["make", "--no-print-directory", "-s", "--eval", rule, "print-figure-outputs",
                              "PROFILE=quick", "TARGET_IMAGE="], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    return {Path(path).stem for path in printed.split()}


def test_catalog_stems_are_exactly_the_makefile_figures():
    catalog = {stem for entry in CATALOG for stem in entry.stems}
    made = makefile_stems()
    assert not catalog - made, f"catalog stems without a Makefile target: {sorted(catalog - made)}"
    assert not made - catalog, f"Makefile figures missing from the catalog: {sorted(made - catalog)}"


def test_catalog_entries_name_a_known_paper_and_fit_a_table_row():
    for entry in CATALOG:
        assert entry.paper in PAPERS and entry.spec.startswith("§")
        assert "|" not in entry.figure + entry.content + entry.reason


def test_gallery_has_the_summary_first_and_one_thumbnail_per_figure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    quick, medium = Path("figures"), Path("figures/medium")
    medium.mkdir(parents=True)
    (quick / "r1_flossing.md").write_text(section("r1_flossing", "- a: **holds**\n- b: **needs the paper profile**"))
    (quick / "sg_vs_true.md").write_text(section("sg_vs_true", "- c: **fails**"))
    (medium / "sg_vs_true.md").write_text(section("sg_vs_true", "- c: **holds**"))
    text = figures.report.gallery_markdown((quick, medium))
    summary, rows = text.split("\n\n")
    assert summary.startswith("| paper | published figures | built |")
    assert f"| {FLOSSING_SNN} | 4 | 1 | 1 holds / 0 fails / 1 need the paper profile | no claims |" in summary
    assert "| Zenke & Vogels 2021 | 6 | 1 | 0 holds / 1 fails | 1 holds / 0 fails |" in summary
    assert rows.count("<img") == 2  # one per figure, the medium one where both folders have it
    assert 'src="figures/medium/sg_vs_true.png"' in rows and 'src="figures/sg_vs_true.png"' not in rows
    assert "`r1_flossing` (quick) | **Engelken & Abbott 2024, Fig. R1**" in rows


def test_the_readme_gallery_is_up_to_date(monkeypatch):
    monkeypatch.chdir(ROOT)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(figures.report.GALLERY_START, 1)[1].split(figures.report.GALLERY_END, 1)[0]
    assert block == "\n" + figures.report.gallery_markdown(), (
        "README gallery is stale: python -c 'from sgtheory.figures.report import write_gallery; write_gallery()'")


def test_sections_link_the_same_figure_at_the_other_profiles(tmp_path):
    quick, medium = tmp_path / "figures", tmp_path / "figures" / "medium"
    medium.mkdir(parents=True)
    (quick / "scale.md").write_text(section("scale", "- a: **needs the paper profile**"))
    (quick / "activity.md").write_text(section("activity", "- b: **holds**"))
    (medium / "scale.md").write_text(section("scale", "- a: **holds**"))
    assert "## scale\n\nAlso at the [medium profile](medium/REPORT.md#scale).\n" in write_report(quick).read_text()
    assert "## activity\n\nAlso at" not in (quick / "REPORT.md").read_text()
    assert "## scale\n\nAlso at the [quick profile](../REPORT.md#scale).\n" in write_report(medium).read_text()
