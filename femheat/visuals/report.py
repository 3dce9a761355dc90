"""``report.html``: one self-contained page per run, beside summary.json.

The page holds the case (title, description, the resolved input), the mesh, the
model and its DOFs, the heat flows, the interfaces, the conservation audit, the
flux analysis (Helmholtz–Hodge fractions, vortices and eddies) and every
picture of the run (``*.png``, ``plots/*.png``, the animation ``plots/*.gif``),
embedded as base64 data, so it reads offline and can be mailed as one file. No script, no external
resource.
"""

from __future__ import annotations

import base64
import html
import json
import logging
from pathlib import Path
from typing import Any, Iterable, Optional

__all__ = ["write_report", "run_report"]

log = logging.getLogger(__name__)

_CSS = """
body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222;background:#fff}
h1{border-bottom:3px solid #c33;padding-bottom:.2em}
h2{margin-top:1.6em;color:#833}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #bbb;padding:.25em .7em;text-align:left;font-size:14px}
th{background:#f1e6e6}
.ok{color:#070;font-weight:bold}.bad{color:#b00;font-weight:bold}
figure{display:inline-block;margin:.5em;vertical-align:top}
figure img{max-width:520px;border:1px solid #ccc}
figcaption{font-size:13px;color:#555}
pre{background:#f6f6f6;padding:.7em;overflow:auto;font-size:12px;max-height:30em}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return _e(v)


def _table(rows: Iterable[tuple], head: Optional[tuple] = None) -> str:
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = "image/gif" if path.suffix == ".gif" else "image/png"
    return (f'<figure><img alt="{_e(caption)}" src="data:{mime};base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _audit(summary: dict) -> str:
    err = summary.get("energy_balance_relative_error")
    if err is None:
        return "<p>no energy balance recorded</p>"
    cls = "ok" if err < 1e-8 else "bad"
    return (f'<p>relative energy-balance error: <span class="{cls}">{err:.3e}</span> '
            "(energy change = sources − boundary outflow, facet integrals of q)</p>")


def _flux_section(fa: Optional[dict]) -> str:
    if not fa:
        return ("<p>flux analysis (Helmholtz–Hodge, vortices): 2D results only; 3D results "
                "show slices, a clip with streamlines and interface-jump maps</p>")
    h = fa["hodge"]
    rows = [(k, v, h["fractions"].get(k, 1.0)) for k, v in h["l2_norms"].items()]
    v = fa["vortices"]
    if v is None:  # 3D: no critical-point analysis
        return "\n".join(["<h3>Helmholtz–Hodge decomposition q = ∇φ + curl A + h</h3>",
                          _table(rows, ("part", "L² norm [W/m]", "energy fraction")),
                          _table([("max |curl q| [W/m³]", fa.get("vorticity_max"))]),
                          "<p>vortex analysis: 2D results only</p>"])
    parts = ["<h3>Helmholtz–Hodge decomposition q = ∇φ + curl ψ + h</h3>",
             _table(rows, ("part", "L² norm [W/m]", "energy fraction")),
             "<h3>Critical points and eddies</h3>",
             _table([("vortices (index +1)", v["vortices"]), ("saddles (index −1)", v["saddles"]),
                     ("nodes", v["nodes"]), ("closed-streamline eddies", v["eddies"]),
                     ("total index", v["total_index"]), ("eddy area [m²]", v["eddy_area"])])]
    if v["eddy_list"]:
        parts.append(_table(
            [(f"({e['center'][0]:.4g}, {e['center'][1]:.4g})",
              "anticlockwise" if e["sense"] > 0 else "clockwise", e["winding"], e["area"],
              e["circulation"], e["strength"]) for e in v["eddy_list"]],
            ("centre [m]", "sense", "winding", "area [m²]", "circulation [W/m]",
             "recirculating flow [W/m]")))
    return "\n".join(parts)


def write_report(folder: str | Path, plots: Optional[dict] = None) -> Path:
    """Write ``folder/report.html`` from summary.json and the pictures in the folder.

    ``plots`` is the result of :func:`femheat.visuals.plots.plot_result` (its flux
    analysis is shown); without it ``flux_analysis.json`` is read when present.
    """
    from ..io.atomic import write_text

    folder = Path(folder)
    sfile = folder / "summary.json"
    summary = json.loads(sfile.read_text()) if sfile.exists() else {}
    fa = (plots or {}).get("flux_analysis")
    if fa is None and (folder / "flux_analysis.json").exists():
        fa = json.loads((folder / "flux_analysis.json").read_text())
    title = summary.get("title") or folder.name
    mesh = summary.get("mesh", {})
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(title)}</title>",
             f"<style>{_CSS}</style></head><body>", f"<h1>{_e(title)}</h1>"]
    desc = (summary.get("input") or {}).get("description") if isinstance(
        summary.get("input"), dict) else None
    if desc:
        parts.append(f"<p>{_e(desc)}</p>")
    parts.append(_table([
        ("status", summary.get("status")), ("model", summary.get("model")),
        ("degree", summary.get("degree")), ("analysis", summary.get("analysis")),
        ("DOFs", (summary.get("dofs") or {}).get("total")),
        ("wall time [s]", (summary.get("wall_time") or {}).get("total_s")),
        ("femheat", (summary.get("provenance") or {}).get("femheat_version")),
    ]))
    parts.append("<h2>Mesh</h2>")
    parts.append(_table([("dimension", mesh.get("dimension")), ("cells", mesh.get("cells")),
                         ("vertices", mesh.get("vertices")), ("h_max [m]", mesh.get("h_max")),
                         ("subdomains", ", ".join(f"{k} ({v})" for k, v in
                                                  (mesh.get("subdomains") or {}).items())),
                         ("boundaries", ", ".join(mesh.get("boundaries") or [])),
                         ("interfaces", ", ".join(mesh.get("interfaces") or []))]))
    parts.append("<h2>Conservation audit</h2>" + _audit(summary))
    flows = summary.get("heat_flow") or {}
    if flows:
        parts.append("<h2>Heat flows</h2>")
        parts.append(_table(list(flows.items()) + [("sum", sum(flows.values()))],
                            ("boundary", "outward heat flow [W/m or W]")))
    ifaces = summary.get("interfaces") or {}
    if ifaces:
        parts.append("<h2>Interfaces</h2>")
        parts.append(_table([(n, " → ".join(r["sides"]), r["kapitza_resistance"],
                              r["heat_flow"], r["mean_jump"], r["min_jump"], r["max_jump"])
                             for n, r in ifaces.items()],
                            ("interface", "sides", "R_K [m² K/W]", "heat flow",
                             "mean jump [K]", "min jump [K]", "max jump [K]")))
    parts.append("<h2>Flux analysis</h2>" + _flux_section(fa))
    pics = (sorted(folder.glob("*.png")) + sorted((folder / "plots").glob("*.png"))
            + sorted((folder / "plots").glob("*.gif")))
    if pics:
        parts.append("<h2>Pictures</h2>")
        parts += [_figure(p, str(p.relative_to(folder))) for p in pics]
    if summary.get("input") is not None:
        parts.append("<h2>Resolved input</h2><pre>"
                     + _e(json.dumps(summary["input"], indent=2, default=str)) + "</pre>")
    parts.append("</body></html>")
    path = folder / "report.html"
    write_text(path, "\n".join(parts))
    log.info("wrote %s", path)
    return path


def run_report(folder: str | Path) -> list[str]:
    """The runner's ``[output] report = true`` step: the standard pictures (without a
    second PyVista render: the run's own ``temperature.png`` is shown) and
    ``report.html``; returns the file names written, relative to ``folder``."""
    from .plots import plot_result

    folder = Path(folder)
    res = plot_result(folder, render=False)
    files = list(res["files"])
    if res["flux_analysis"] is not None:
        files.append("flux_analysis.json")
    files.append(write_report(folder, res).name)
    return files
