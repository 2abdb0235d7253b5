"""Las imágenes de la etapa 05, dibujadas desde el registro docs/cifras/mantenimiento.json (`make pictures`).

    05-canario.png   (a) y (b): peso de la candidata, su tasa de errores y los cambios de decisión por paso
    05-deriva.png    el simulacro: PSI de cada variable por tanda, con los umbrales «vigilar» y «alerta»
"""

import json
from pathlib import Path

from workshop.spanish import number

from .thresholds import load_thresholds

TITLES = {"a": "(a) candidata mala: retirada", "b": "(b) candidata reentrenada: promovida"}


def spanish_axis(axis, decimals=0, percent=False):
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: number(value * (100 if percent else 1), decimals)
                                           + (" %" if percent else "")))


def canary_chart(record, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    for axis, key in zip(axes, ("a", "b"), strict=True):
        story = record["stories"].get(key, {"timeline": []})
        steps = story["timeline"]
        times = [step["t_s"] for step in steps]
        for field, label, style in (("weight", "peso de la candidata", "s-"),
                                    ("candidate_share", "parte que respondió la candidata", "^:"),
                                    ("flip_rate", "cambios de decisión", "o--"),
                                    ("error_rate", "tasa de errores (5xx)", "x-.")):
            axis.plot(times, [step.get(field) or 0.0 for step in steps], style, label=label)
        for time_s, step in zip(times, steps, strict=True):
            axis.annotate(step["action"], (time_s, step["weight"]), textcoords="offset points", xytext=(4, 8),
                          fontsize=8)
        axis.set_title(f"{TITLES[key]} · {number(story.get('sent', 0), 0)} peticiones, "
                       f"{number(story.get('failed', 0), 0)} fallidas", fontsize=10)
        if len(times) == 1:  # una sola decisión: un margen legible a los lados
            axis.set_xlim(times[0] - 10, times[0] + 10)
        axis.set_xlabel("segundos desde el inicio de la demo (cada punto: una decisión del juez)")
        spanish_axis(axis.xaxis)
        spanish_axis(axis.yaxis, 0, percent=True)
        axis.grid(alpha=0.3)
    axes[0].set_ylim(-0.05, 1.05)
    axes[0].legend(fontsize=8, loc="center left")
    figure.suptitle(f"El juez del canario (make demo-5, {record['date'][:10]}, {record['machine']['cores']} núcleos)",
                    fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def drift_chart(record, path, limits):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batches = record.get("drill") or {}
    tables = {name: next((table for table in batch["psi"].values() if any(v is not None for v in table.values())),
                         {}) for name, batch in batches.items()}
    features = sorted({feature for table in tables.values() for feature in table})
    figure, axis = plt.subplots(figsize=(11, 4.8))
    width = 0.8 / max(len(tables), 1)
    for index, (name, table) in enumerate(tables.items()):
        axis.bar([i + (index - (len(tables) - 1) / 2) * width for i in range(len(features))],
                 [max(table.get(feature) or 0.0, 1e-3) for feature in features], width, label=f"tanda «{name}»")
    for value, label in ((limits["vigilar"], "vigilar"), (limits["alerta"], "alerta")):
        axis.axhline(value, linestyle="--", color="grey")
        axis.text(len(features) - 0.5, value, f" {label} ({number(value, 2)})", va="bottom", fontsize=8)
    axis.set_yscale("log")
    axis.set_xticks(range(len(features)), features, rotation=20, fontsize=8)
    axis.set_ylabel("PSI frente a la ficha (escala logarítmica)")
    axis.yaxis.set_major_formatter(__import__("matplotlib.ticker").ticker.FuncFormatter(
        lambda value, _: number(value, 3 if value < 0.1 else 1)))
    axis.set_title("Simulacro de deriva: solo salta la variable que cambió", fontsize=11)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw(record_path, folder):
    """Dibuja las dos imágenes en `folder` desde el registro; devuelve sus rutas."""
    record = json.loads(Path(record_path).read_text(encoding="utf-8"))
    folder = Path(folder)
    canary, drift = folder / "05-canario.png", folder / "05-deriva.png"
    canary_chart(record, canary)
    drift_chart(record, drift, load_thresholds()["deriva"])
    return [canary, drift]
