"""The reproduction report: a catalog of the papers' figures, the provenance of each figure (profile, runs, compute
time) and ``REPORT.md`` / ``REPORT.html`` assembled from the sections that :func:`sgtheory.figures.render` writes."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import markdown

from sgtheory.figures.style import PENDING
from sgtheory.results import read_metadata

NOT_RECORDED = "not recorded"
REPORT_NAME = "REPORT.md"
VERDICT = re.compile(rf"\*\*(holds|fails|{PENDING})\*\*")
PNG_SRC = re.compile(r'src="([^"]+\.png)"')


class Paper(NamedTuple):
    """What a paper is (venue, identifier) and which spec describes it."""

    reference: str
    spec: str  # the file of /work/shared/specs that describes it


FLOSSING_SNN = "Engelken & Abbott 2024"
FLOSSING = "Engelken 2023 (flossing)"
SG_THEORY = "Gygax & Zenke 2025"
ROBUSTNESS = "Zenke & Vogels 2021"
SPARSEPROP = "Engelken 2023 (SparseProp)"
BALANCED = "Engelken et al. 2022"
LYAPUNOV = "Engelken, Wolf & Abbott 2023"

PAPERS = {
    FLOSSING_SNN: Paper("surrogate gradient flossing, SNUFA 2024 talk; figures R1 and R2 of the authors' "
                        "SurrogateGradientFlossing README and rebuttal", "flossing.md"),
    FLOSSING: Paper("gradient flossing, NeurIPS 2023 (arXiv 2312.17306); figures recalled, not verified",
                    "flossing.md"),
    SG_THEORY: Paper("theory of surrogate gradients via stochastic neurons, Neural Computation 37(5) "
                     "(arXiv 2404.14964); figure numbers inferred", "sgtheory.md"),
    ROBUSTNESS: Paper("robustness of surrogate gradient learning, Neural Computation 33(4); numbers other than Fig. 5 "
                      "second-hand or inferred", "robustness.md"),
    SPARSEPROP: Paper("SparseProp, NeurIPS 2023 (arXiv 2312.17216)", "sparseprop_balanced.md"),
    BALANCED: Paper("input correlations and chaos in balanced rate networks, PLOS Comput Biol "
                    "(10.1371/journal.pcbi.1010590)", "sparseprop_balanced.md"),
    LYAPUNOV: Paper("Lyapunov spectra of chaotic rate networks, Phys Rev Research 5, 043044; figure list recalled, "
                    "not verified", "sparseprop_balanced.md"),
}


@dataclass(frozen=True)
class PublishedFigure:
    """A published figure (paper: a key of PAPERS; spec: where our spec describes it) and the stems of our figures
    that rebuild it; without stems, ``reason`` says why none does."""

    paper: str
    figure: str
    content: str
    spec: str
    stems: tuple[str, ...] = ()
    reason: str = "no issue yet"


CATALOG = (
    PublishedFigure(FLOSSING_SNN, "Fig. R1", "flossing lifts the surrogate Lyapunov exponents of a binary "
                    "RNN: λ₁ over flossing epochs for two slopes, spectra after flossing k exponents", "§8.1",
                    ("r1_flossing", "r1_reconcile")),
    PublishedFigure(FLOSSING_SNN, "Fig. R2", "flossing and binary-RNN training on delayed XOR: accuracy "
                    "and initial-state gradient norm over epochs and delays", "§8.2",
                    ("train_baseline", "r2_flossing", "r2_schedules", "model_selection")),
    PublishedFigure(FLOSSING_SNN, "talk, spiking R1", "the talk's spiking results are unpublished; our "
                    "analog repeats R1 with the current-based LIF RNN", "§8.4", ("lif_r1_flossing",)),
    PublishedFigure(FLOSSING_SNN, "talk, spiking R2", "the talk's spiking results are unpublished; our "
                    "analog repeats R2 with the current-based LIF RNN", "§8.4", ("lif_r2_flossing", "lif_success")),
    PublishedFigure(FLOSSING, "Fig. 1 (recalled)", "tanh RNN: λ₁ over flossing epochs for several gains, "
                    "spectra after flossing k exponents", "§8.3", ("gf_tanh",)),
    PublishedFigure(FLOSSING, "Fig. ? (recalled)", "singular values and condition number of the long-term "
                    "Jacobian over time and k", "§8.3", ("gf_tanh",)),
    PublishedFigure(FLOSSING, "Fig. ? (recalled)", "success rate and accuracy vs delay on delayed copy and XOR "
                    "with pre-flossing, pre- and inter-flossing, and none", "§8.3", ("gf_success",)),
    PublishedFigure(FLOSSING, "Fig. ? (recalled)", "the tanh-RNN template of R2: accuracy and initial-state "
                    "gradient over epochs and delays", "§8.3", ("gf_r2_xor", "gf_r2_copy")),
    PublishedFigure(SG_THEORY, "Fig. 1", "deterministic vs escape-noise neuron: rasters, expected output "
                    "and its derivative next to the surrogate", "§1.3, §6", ("stochastic_neuron",)),
    PublishedFigure(SG_THEORY, "Fig. 2", "the SG is the derivative of the expected output for one neuron "
                    "but not through a hidden layer", "§1.4, §6", ("stochastic_neuron",)),
    PublishedFigure(SG_THEORY, "Fig. 3", "smoothed stochastic derivatives along sampled trajectories",
                    "§1.5, §6", reason="a schematic, nothing to compute (spec §6)"),
    PublishedFigure(SG_THEORY, "Fig. 4", "the SG field is not conservative: closed-loop integrals differ "
                    "from zero", "§3.3", ("not_gradients",)),
    PublishedFigure(SG_THEORY, "Fig. 5", "SGs bias the derivative of sigmoid networks and still descend on "
                    "plateaus", "§3.2", ("sigmoid_bias",)),
    PublishedFigure(SG_THEORY, "Fig. 6", "matching a target spike raster with deterministic and stochastic "
                    "networks", "§4, §6", ("spike_match", "spike_match_stats")),
    PublishedFigure(SG_THEORY, "Fig. 7", "stochastic vs deterministic conv SNNs on SHD: accuracy and "
                    "trial-to-trial variability", "§5", ("conv_snn",)),
    PublishedFigure(ROBUSTNESS, "Fig. 1 (inferred)", "the random-manifold task: manifolds by smoothness and "
                    "dimension, input spike rasters", "§2.3, §7", ("randman",)),
    PublishedFigure(ROBUSTNESS, "Fig. 2 (2nd-hand)", "SG learning trains a LIF classifier, the exact "
                    "gradient of the step does not", "§7", ("sg_vs_true",)),
    PublishedFigure(ROBUSTNESS, "Fig. 3 (2nd-hand)", "surrogate shape: derivatives, accuracy over slope "
                    "and learning rate, best accuracy per shape and for a constant surrogate", "§7",
                    ("shape_robustness",)),
    PublishedFigure(ROBUSTNESS, "Fig. 4 (inferred)", "shape robustness on other data sets or depths", "§7",
                    reason="no issue yet (content unknown, spec §7)"),
    PublishedFigure(ROBUSTNESS, "Fig. 5", "surrogate scale: a large peak hurts with a differentiable reset "
                    "or gradients through recurrence", "§7", ("scale",)),
    PublishedFigure(ROBUSTNESS, "Figs. 6–7 (inferred)", "accuracy vs hidden activity under an activity "
                    "regulariser", "§5, §7", ("activity",)),
    PublishedFigure(SPARSEPROP, "Fig. 1", "phases and the event-based update that shifts threshold and reset "
                    "instead of every neuron (schematic)", "§1.1, §1.5"),
    PublishedFigure(SPARSEPROP, "benchmark (number unknown)", "CPU time per spike vs network size, conventional "
                    "vs SparseProp", "§1.10", ("sparseprop",)),
    PublishedFigure(SPARSEPROP, "training (abstract only)", "backpropagation through spike times at O(log N) per "
                    "spike; no training figure or code is public, the task and the adjoint are ours", "§1.1, §1.8",
                    ("sparseprop_train",)),
    PublishedFigure(SPARSEPROP, "others (recalled)", "heap schematic, a second benchmark panel, the EIF "
                    "extension", "§1.10", reason="no issue yet (contents not verified)"),
    PublishedFigure(BALANCED, "Fig. 1 (inferred)", "model setup and example traces", "§2.6"),
    PublishedFigure(BALANCED, "Fig. 2", "largest Lyapunov exponent vs input amplitude, common vs "
                    "independent input, simulation and mean-field theory", "§2.6", ("balanced_lambda",)),
    PublishedFigure(BALANCED, "Fig. 3", "critical input amplitude vs network size (A), balance tightness "
                    "K (B) and gain near the onset of chaos at slow input (C)", "§2.6", ("balanced_crit",)),
    PublishedFigure(BALANCED, "Fig. 4", "how slow common input suppresses chaos: inputs, activity and "
                    "local exponent", "§2.6", ("balanced_mechanism",)),
    PublishedFigure(BALANCED, "Figs. 5–6 (caption unavailable)", "probably the frequency dependence of "
                    "the critical amplitude", "§2.6", reason="no issue yet (content unknown)"),
    PublishedFigure(BALANCED, "Fig. 7", "common input impedes learning in a teacher–student task", "§2.7",
                    ("balanced_learning",)),
    PublishedFigure(BALANCED, "Fig. 8 (inferred)", "the common-input counterpart of Fig. 9", "§2.6",
                    ("balanced_activity_common",)),
    PublishedFigure(BALANCED, "Fig. 9", "independent input: unit activity, population rate and "
                    "autocorrelation at three amplitudes", "§2.6",
                    ("balanced_activity_independent",)),
    PublishedFigure(LYAPUNOV, "Fig. ? (recalled)", "spectra against i/N for several N (extensivity)", "§3.5",
                    ("rate_extensivity",)),
    PublishedFigure(LYAPUNOV, "Fig. ? (recalled)", "λ_max vs gain: simulation and mean-field theory", "§3.5",
                    ("rate_lambda_max",)),
    PublishedFigure(LYAPUNOV, "Fig. ? (recalled)", "attractor dimension and entropy rate per neuron vs gain",
                    "§3.5", ("rate_dimension",)),
    PublishedFigure(LYAPUNOV, "Fig. ? (recalled)", "discrete-time spectra vs random-matrix theory", "§3.5",
                    ("rate_discrete",)),
    PublishedFigure(LYAPUNOV, "Fig. ? (recalled)", "point symmetry of the spectrum", "§3.5",
                    ("rate_extensivity",)),
    PublishedFigure(LYAPUNOV, "Fig. ? (recalled)", "input noise changes dimension and entropy rate", "§3.5",
                    ("rate_noise",)),
    PublishedFigure(LYAPUNOV, "Fig. ? (recalled)", "spectra of trained networks", "§3.5",
                    reason="issue 18: not built yet (needs a trained rate network)"),
    PublishedFigure(LYAPUNOV, "Fig. ? (recalled)", "convergence controls (appendix)", "§3.5",
                    ("rate_convergence",)),
)


# ------------------------------------------------------------------------------- provenance of one figure
def table_record(path: str | Path) -> dict:
    """Profile, number of runs and compute time per run (run_id -> s) of one result table; None where its metadata
    lacks them."""
    try:
        meta = read_metadata(path)
    except (OSError, KeyError, TypeError, ValueError):  # a table written without sgtheory metadata
        meta = {}
    profile = (meta["profile"] or "no profile") if "profile" in meta else NOT_RECORDED
    return {"table": str(path), "profile": profile, "runs": len(meta["runs"]) if "runs" in meta else None,
            "compute_s": meta.get("compute_s")}


def format_duration(seconds: float) -> str:
    """Seconds as s, min or h with about three significant digits."""
    if seconds < 100:
        return f"{seconds:.3g} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def recorded_total(values: Sequence[float | None], unit) -> str:
    """``unit(sum)`` of the recorded values; 'not recorded' if none is, a lower bound if some are missing."""
    known = [v for v in values if v is not None]
    if not known:
        return NOT_RECORDED
    total = unit(sum(known))
    return total if len(known) == len(values) else f"≥ {total} (part {NOT_RECORDED})"


def profiles(records: Sequence[dict]) -> str:
    """The distinct profiles of ``records``, comma-separated."""
    return ", ".join(sorted({r["profile"] for r in records})) or NOT_RECORDED


def compute_time(records: Sequence[dict]) -> str:
    """The summed compute time of the runs of ``records``, each run once (figures may share tables)."""
    per_run, unrecorded_tables = {}, 0
    for record in records:
        if record["compute_s"] is None:
            unrecorded_tables += 1
        else:
            per_run |= record["compute_s"]
    return recorded_total([*per_run.values(), *[None] * unrecorded_tables], format_duration)


def provenance_line(records: Sequence[dict]) -> str:
    """One line such as ``Profile: quick · 27 runs · compute time 5.2 min`` for the tables of one figure."""
    runs = recorded_total([r["runs"] for r in records], lambda n: f"{n} run{'' if n == 1 else 's'}")
    runs = f"runs {NOT_RECORDED}" if runs == NOT_RECORDED else runs
    return f"Profile: {profiles(records)} · {runs} · compute time {compute_time(records)}"


def write_provenance(records: Sequence[dict], out: str | Path) -> Path:
    """Store the table records of figure ``out`` as ``<out>.json``, where :func:`write_report` reads them."""
    path = Path(out).with_suffix(".json")
    path.write_text(json.dumps(list(records), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def write_section(name: str, tables: Sequence, records: Sequence[dict], out: str | Path, claims: str) -> Path:
    """Write the report section ``<out>.md``: heading, image, source tables, provenance line and the claims."""
    out = Path(out)
    sources = ", ".join(f"`{t}`" for t in tables)
    path = out.with_suffix(".md")
    path.write_text(f"## {out.stem}\n\n![{name}]({out.with_suffix('.png').name})\n\nTable: {sources}\n\n"
                    f"{provenance_line(records)}\n\n{claims}\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------- the report of a folder
def count_claims(text: str) -> tuple[int, int, int]:
    """(holds, fails, pending): the claim marks in ``text`` (a line may carry several); pending claims need the
    paper profile."""
    marks = VERDICT.findall(text)
    return marks.count("holds"), marks.count("fails"), marks.count(PENDING)


def claims_text(holds: int, fails: int, pending: int) -> str:
    """``'3 holds / 1 fails'``, with ``' / 2 need the paper profile'`` where some do; 'no claims' without any."""
    if not holds + fails + pending:
        return "no claims"
    return f"{holds} holds / {fails} fails" + (f" / {pending} need the paper profile" if pending else "")


def anchor(stem: str) -> str:
    """The heading anchor of section ``stem`` (GitHub's and Python-Markdown's agree for such names)."""
    return re.sub(r"[^\w\- ]", "", stem.lower()).replace(" ", "-")


def read_folder(folder: Path) -> tuple[dict[str, str], dict[str, list[dict]]]:
    """Section text and table records per figure stem of ``folder``; a PNG without a section gets an image-only
    section, a figure without a ``.json`` one record that says nothing was recorded."""
    sections = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md")) if p.name != REPORT_NAME}
    for png in sorted(folder.glob("*.png")):
        sections.setdefault(png.stem, f"## {png.stem}\n\n![{png.stem}]({png.name})\n\n"
                                      "This figure has no report section of its own.\n")
    records = {}
    for stem in sections:
        sidecar = folder / f"{stem}.json"
        records[stem] = (json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else
                         [{"table": f"{stem} (no record)", "profile": NOT_RECORDED, "runs": None, "compute_s": None}])
    return sections, records


def unique_records(stems: Sequence[str], records: dict[str, list[dict]]) -> list[dict]:
    """The records of ``stems``, each table once (figures may share tables)."""
    return list({r["table"]: r for stem in stems for r in records[stem]}.values())


def built_columns(stems: Sequence[str], sections: dict[str, str], records: dict[str, list[dict]]) -> list[str]:
    """Claims, profile and compute time of the built figures ``stems``."""
    claims = claims_text(*count_claims("\n".join(sections[s] for s in stems)))
    tables = unique_records(stems, records)
    return [claims, profiles(tables), compute_time(tables)]


def catalog_row(entry: PublishedFigure, sections: dict[str, str], records: dict[str, list[dict]]) -> list[str]:
    """The summary-table cells of one published figure."""
    built = [s for s in entry.stems if s in sections]
    ours = ", ".join(f"[{s}](#{anchor(s)})" if s in sections else s for s in entry.stems) or "—"
    figure = f"{entry.figure} — {entry.content} ({PAPERS[entry.paper].spec} {entry.spec})"
    if not entry.stems:
        return [entry.paper, figure, ours, f"not built: {entry.reason}", "—", "—", "—"]
    if not built:
        return [entry.paper, figure, ours, "not run", "not run", "—", "—"]
    status = "built" if len(built) == len(entry.stems) else f"{len(built)} of {len(entry.stems)} built"
    return [entry.paper, figure, ours, status, *built_columns(built, sections, records)]


PROFILE_FOLDERS = ("medium", "paper")  # subfolders of the quick folder (figures/) that hold other profiles


def other_profiles(stem: str, folder: Path) -> list[tuple[str, str]]:
    """(profile, link) of the same figure in the other profile folders (figures/, figures/medium, figures/paper)
    that have its section; links relative to ``folder``."""
    root = folder.parent if folder.name in PROFILE_FOLDERS else folder
    found = []
    for name, other in (("quick", root), *((p, root / p) for p in PROFILE_FOLDERS)):
        if other.resolve() != folder.resolve() and (other / f"{stem}.md").is_file():
            found.append((name, f"{os.path.relpath(other, folder)}/{REPORT_NAME}#{anchor(stem)}".removeprefix("./")))
    return found


def with_other_profiles(section: str, stem: str, folder: Path) -> str:
    """``section`` with a line after its heading that links the same figure at the other profiles."""
    links = other_profiles(stem, folder)
    if not links:
        return section
    heading, _, rest = section.partition("\n")
    line = "Also at the " + ", ".join(f"[{name} profile]({link})" for name, link in links) + "."
    return f"{heading}\n\n{line}\n{rest}"


def report_markdown(folder: str | Path) -> str:
    """REPORT.md of ``folder``: header, summary of every published figure, the papers, then every section."""
    sections, records = read_folder(Path(folder))
    catalogued = list(dict.fromkeys(s for entry in CATALOG for s in entry.stems))
    extra = sorted(set(sections) - set(catalogued))
    rows = [catalog_row(entry, sections, records) for entry in CATALOG]
    rows += [["—", "not in the catalog", f"[{s}](#{anchor(s)})", "built", *built_columns([s], sections, records)]
             for s in extra]
    built = sum(row[3] == "built" for row in rows[:len(CATALOG)])
    claims = claims_text(*count_claims("\n".join(sections.values())))
    everything = unique_records(list(sections), records)
    header = ("# Reproduction report\n\n"
              "Every figure of the papers that sgtheory reproduces, which of our figures rebuilds it, and one section "
              "per figure of this folder: the paper's values next to ours and each qualitative claim marked holds or "
              "fails. Written by `sgtheory report` (the last step of `make all`) from the sections that `sgtheory "
              "plot` leaves beside each figure; REPORT.html holds the same with the images inlined.\n\n"
              f"Profile: {profiles(everything)} · {built} of {len(CATALOG)} published "
              f"figures built · {len(sections)} figures in this folder · {claims} · "
              f"compute time {compute_time(everything)}\n\n")
    table = ["| paper | figure | ours | status | claims | profile | compute time |", "|---|---|---|---|---|---|---|"]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    papers = [f"- **{name}**: {paper.reference} (spec `{paper.spec}`)" for name, paper in PAPERS.items()]
    body = "\n".join(with_other_profiles(sections[s], s, Path(folder))
                     for s in [*(s for s in catalogued if s in sections), *extra])
    return (header + "## Summary\n\n" + "\n".join(table) + "\n\nSpec sections refer to the files in `shared/specs/`. "
            "Papers:\n\n" + "\n".join(papers) + "\n\n" + body)


STYLE = """body { font-family: system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; padding: 0 1rem;
  line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.85rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eee; }
tr:nth-child(even) td { background: #f8f8f8; }
img { max-width: 100%; height: auto; }
code { background: #f3f3f3; padding: 0 0.2rem; }"""


def report_html(text: str, folder: str | Path) -> str:
    """``text`` (markdown) as one self-contained HTML page: every PNG of ``folder`` it shows becomes a data URI."""
    folder = Path(folder)

    def inline(match: re.Match) -> str:
        png = folder / match.group(1)
        data = base64.b64encode(png.read_bytes()).decode("ascii") if png.is_file() else ""
        return f'src="data:image/png;base64,{data}"'

    body = PNG_SRC.sub(inline, markdown.markdown(text, extensions=["tables", "toc"]))
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Reproduction report</title>\n'
            f"<style>\n{STYLE}\n</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def write_report(folder: str | Path) -> Path:
    """Write ``REPORT.md`` and ``REPORT.html`` in ``folder`` from its figures' sections; returns the REPORT.md path."""
    folder = Path(folder)
    text = report_markdown(folder)
    report = folder / REPORT_NAME
    report.write_text(text, encoding="utf-8")
    report.with_suffix(".html").write_text(report_html(text, folder), encoding="utf-8")
    return report


# ------------------------------------------------------------------------------------------ README gallery
def gallery_markdown(folders: Sequence[str | Path] = ("figures", "figures/medium"), width: int = 220) -> str:
    """The README's gallery: the report's summary per paper (figures built, claims per folder), then one row per
    published figure that we rebuild — our figures' thumbnails (the last folder that has each) next to the published
    figure's content."""
    read = {str(folder): read_folder(Path(folder))[0] if Path(folder).is_dir() else {} for folder in folders}
    head = "| paper | published figures | built | " + " | ".join(f"claims in `{f}/`" for f in read) + " |"
    summary = [head, "|---|---|---|" + "---|" * len(read)]
    for paper in PAPERS:
        entries = [e for e in CATALOG if e.paper == paper]
        built = sum(any(s in sections for sections in read.values() for s in e.stems) for e in entries)
        stems = {s for e in entries for s in e.stems}
        counts = [claims_text(*count_claims("\n".join(t for s, t in sections.items() if s in stems)))
                  for sections in read.values()]
        summary.append(f"| {paper} | {len(entries)} | {built} | " + " | ".join(counts) + " |")
    rows = ["| our figure | published figure (its content in our words) |", "|---|---|"]
    for stem in dict.fromkeys(s for entry in CATALOG for s in entry.stems):
        folder = next((f for f in reversed(list(read)) if stem in read[f]), None)
        if folder is None:
            continue
        png = f"{folder}/{stem}.png"
        published = "<br>".join(f"**{e.paper}, {e.figure}**: {e.content}" for e in CATALOG if stem in e.stems)
        profile = "quick" if Path(folder) == Path("figures") else Path(folder).name
        rows.append(f'| <a href="{png}"><img src="{png}" width="{width}" alt="{stem}"></a><br>`{stem}` ({profile}) '
                    f"| {published} |")
    return "\n".join(summary) + "\n\n" + "\n".join(rows) + "\n"


GALLERY_START = "<!-- gallery: written by sgtheory.figures.report.gallery_markdown() -->"
GALLERY_END = "<!-- end gallery -->"


def write_gallery(readme: str | Path = "README.md") -> Path:
    """Replace the text between the gallery markers of ``readme`` with :func:`gallery_markdown` (run from the
    repository root: the image paths are relative to it)."""
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(GALLERY_START, 1)
    _, tail = rest.split(GALLERY_END, 1)
    path.write_text(f"{head}{GALLERY_START}\n{gallery_markdown()}{GALLERY_END}{tail}", encoding="utf-8")
    return path
