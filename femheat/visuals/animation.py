"""Time animations of transient runs: the temperature over the saved steps as a GIF (and MP4).

:func:`animate_result` reads the series of a result folder (``fields.pvd``, one
``fields_NNNNN.vtu`` per saved step) and draws one frame per step:

* 2D: T on the exploded mesh (matplotlib ``tripcolor``, linear per cell, so Kapitza
  jumps stay steps), interfaces outlined, axes in a length unit suited to the body;
* 3D: the three orthogonal slices of :func:`femheat.visuals.slices.slice_image`.

Every frame uses the same colour range (min and max of T over all drawn steps),
a colour bar "T [K]" and a time label with its unit ("t = 2.5 µs"). Runs with more
than ``max_frames`` saved steps are subsampled evenly (the first and the last step
always included): frame k shows step round(k (n − 1)/(m − 1)).

The GIF is written with Pillow (a matplotlib dependency). An MP4 is written
only when an ``ffmpeg`` executable is on PATH; otherwise the result says so
(``mp4_note``) and only the GIF exists.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..io.atomic import atomic_path, write_bytes

__all__ = ["frame_steps", "animate_result", "mp4_encoder"]

log = logging.getLogger(__name__)


def frame_steps(n_steps: int, max_frames: int) -> np.ndarray:
    """Indices of the saved steps drawn: all of them, or ``max_frames`` evenly spaced
    ones including the first and the last."""
    if n_steps < 1 or max_frames < 2:
        raise ValueError(f"need n_steps >= 1 and max_frames >= 2, got {n_steps}, {max_frames}")
    return np.unique(np.linspace(0, n_steps - 1, min(max_frames, n_steps)).round().astype(int))


def mp4_encoder() -> Optional[str]:
    """The ``ffmpeg`` executable on PATH, or None."""
    return shutil.which("ffmpeg")


def _frames_2d(results: list, times: list[float], rng: tuple[float, float], title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.tri as mtri

    from .slices import length_unit, time_label

    first = results[0]
    scale, unit = length_unit(float(np.ptp(first.points[:, :2], axis=0).max()))
    tri = mtri.Triangulation(first.points[:, 0] / scale, first.points[:, 1] / scale, first.cells)
    w, h = np.ptp(first.points[:, :2], axis=0)
    aspect = float(h / w) if w > 0 else 1.0  # the figure follows the body's shape
    fig, ax = plt.subplots(figsize=(7, min(6.0, max(2.6, 5.2 * aspect + 1.4))), dpi=90)
    im = ax.tripcolor(tri, first.temperature, shading="gouraud", cmap="inferno",
                      vmin=rng[0], vmax=rng[1])
    fig.colorbar(im, ax=ax, label="T [K]", shrink=0.9)
    if first.interfaces is not None:
        p = np.asarray(first.interfaces.points) / scale
        for f in np.asarray(first.interfaces.cells[0].data):
            ax.plot(p[f, 0], p[f, 1], color="cyan", lw=1.0)
    ax.set(xlabel=f"x [{unit}]", ylabel=f"y [{unit}]", aspect="equal")
    fig.tight_layout()
    for r, t in zip(results, times):
        if r.temperature.shape != first.temperature.shape:
            raise ValueError(f"{r.vtu.name}: the mesh changed within the series")
        im.set_array(r.temperature)
        ax.set_title(f"{title + ': ' if title else ''}{time_label(t)}")
        fig.canvas.draw()
        yield np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)


def _frames_3d(results: list, times: list[float], rng: tuple[float, float], title: str):
    from .slices import slice_image

    for r, t in zip(results, times):
        iface = r.vtu.with_name(r.vtu.name.replace("fields_", "interfaces_"))
        yield slice_image(r.vtu, scalar_range=rng, time=t, title=title,
                          interfaces_vtu=iface if iface.exists() else None)


def _write_mp4(frames: list[np.ndarray], path: Path, fps: float, ffmpeg: str) -> None:
    h, w, _ = frames[0].shape
    with atomic_path(path) as tmp:
        cmd = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-", "-an", "-vcodec", "libx264",
               "-pix_fmt", "yuv420p", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-f", "mp4",
               str(tmp)]
        proc = subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames),
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg failed writing {path.name}: "
                               f"{proc.stderr.decode(errors='replace')[-500:]}")


def animate_result(folder: str | Path, *, max_frames: int = 60, fps: float = 6.0,
                   mp4: bool = True, title: str = "",
                   out: Optional[str | Path] = None) -> Optional[dict[str, Any]]:
    """Animate the temperature of a transient run's saved steps → ``plots/temperature.gif``.

    Parameters
    ----------
    folder
        A result folder with ``fields.pvd`` (written by ``femheat run``).
    max_frames
        At most this many frames (evenly subsampled steps, first and last included).
    fps
        Frames per second of the GIF/MP4.
    mp4
        Also write ``temperature.mp4`` when ffmpeg is on PATH.
    out
        Output folder (default ``folder/plots``).

    Returns
    -------
    dict or None
        ``gif``, ``mp4`` (paths or None), ``mp4_note`` (why there is none),
        ``frames``, ``steps`` (saved steps in the series), ``step_indices``,
        ``times`` [s] and ``scalar_range`` [K]; None when the folder holds fewer
        than two saved steps.
    """
    from PIL import Image

    from .plots import read_result, series

    folder = Path(folder)
    steps = series(folder)
    if len(steps) < 2:
        log.info("%s: %d saved step(s): no animation", folder, len(steps))
        return None
    pick = frame_steps(len(steps), max_frames)
    results = [read_result(folder, steps[k][1]) for k in pick]
    times = [steps[k][0] for k in pick]
    lo = min(float(r.temperature.min()) for r in results)
    hi = max(float(r.temperature.max()) for r in results)
    if hi <= lo:
        hi = lo + max(abs(lo), 1.0) * 1e-12
    make = _frames_2d if results[0].dim == 2 else _frames_3d
    frames = list(make(results, times, (lo, hi), title))
    out = folder / "plots" if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)
    gif = out / "temperature.gif"
    buf = io.BytesIO()
    images = [Image.fromarray(f) for f in frames]
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(round(1000 / fps)), loop=0, optimize=False, disposal=1)
    write_bytes(gif, buf.getvalue())
    mp4_path, note = None, ""
    if mp4:
        ffmpeg = mp4_encoder()
        if ffmpeg is None:
            note = "no MP4: no ffmpeg executable on PATH (the GIF holds the animation)"
            log.info("%s", note)
        else:
            mp4_path = out / "temperature.mp4"
            _write_mp4(frames, mp4_path, fps, ffmpeg)
    log.info("animation: %d frames of %d saved steps, T in [%.6g, %.6g] K -> %s",
             len(frames), len(steps), lo, hi, gif)
    return {"gif": gif, "mp4": mp4_path, "mp4_note": note, "frames": len(frames),
            "steps": len(steps), "step_indices": pick.tolist(), "times": times,
            "scalar_range": [lo, hi]}
