"""PyMC-Marketing on a PyMC Labs benchmark panel, for the side-by-side in docs/results.md.

Not a dependency of dcmmm: run it from a virtual environment under target/, e.g.

    python3 -m venv target/pymc-venv && target/pymc-venv/bin/pip install pymc-marketing
    target/pymc-venv/bin/python benches/peers/pymc_marketing_peer.py \
        ../shared/data/pymc_labs_benchmark/small_business --chains 4 --draws 1000 --tune 1000

The model is PyMC-Marketing's multidimensional MMM with its default priors: geometric adstock
(l_max 8), logistic saturation, two yearly Fourier pairs, the `ctrl_*` columns as controls and the
region as a dimension. It is fitted on the training weeks (the last --holdout-weeks weeks of every
region are left out, as dcmmm's fit does); each channel's contribution is summed over the training
weeks in target units and scored against `contribution_train` of truth.json: share MAE (pp), how many
90 % intervals (p05-p95) of share and ROI hold the truth, their mean widths, ROI rank correlation,
and seconds. Prints one JSON object.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("panel", type=Path, help="folder with data.csv and truth.json")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--holdout-weeks", type=int, default=13)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    from pymc_marketing.mmm import GeometricAdstock, LogisticSaturation
    from pymc_marketing.mmm.multidimensional import MMM

    truth = json.loads((args.panel / "truth.json").read_text())
    df = pd.read_csv(args.panel / "data.csv", parse_dates=["week"])
    channels = truth["channels"]
    controls = truth.get("controls") or [c for c in df.columns if c.startswith("ctrl_")]
    weeks = np.sort(df["week"].unique())
    train = df[df["week"].isin(weeks[: len(weeks) - args.holdout_weeks])].reset_index(drop=True)

    mmm = MMM(
        date_column="week",
        target_column="sales",
        channel_columns=channels,
        control_columns=controls or None,
        dims=("region",),
        adstock=GeometricAdstock(l_max=8),
        saturation=LogisticSaturation(),
        yearly_seasonality=2,
    )
    x = train.drop(columns=["sales"])
    y = train["sales"]
    start = time.time()
    mmm.build_model(x, y)
    mmm.add_original_scale_contribution_variable(var=["channel_contribution"])
    mmm.fit(
        x,
        y,
        chains=args.chains,
        draws=args.draws,
        tune=args.tune,
        cores=min(args.chains, 2),
        random_seed=args.seed,
        progressbar=False,
    )
    seconds = time.time() - start

    post = mmm.idata.posterior
    contrib = post["channel_contribution_original_scale"]
    per_draw = contrib.sum(dim=[d for d in contrib.dims if d not in ("chain", "draw", "channel")])
    per_draw = per_draw.transpose("chain", "draw", "channel").values.reshape(-1, len(channels))
    share = per_draw / per_draw.sum(axis=1, keepdims=True)
    spend = train[channels].sum().values
    roi = per_draw / spend

    true_c = np.array([truth["contribution_train"][c] for c in channels])
    true_share = true_c / true_c.sum()
    true_roi = true_c / spend

    def interval(a):
        return np.percentile(a, 5, axis=0), np.percentile(a, 95, axis=0)

    s_lo, s_hi = interval(share)
    r_lo, r_hi = interval(roi)
    rhat = float(np.nanmax(__import__("arviz").rhat(mmm.idata, var_names=["channel_contribution"]).to_array()))
    out = {
        "panel": args.panel.name,
        "chains": args.chains,
        "draws": args.draws,
        "tune": args.tune,
        "seconds": round(seconds, 1),
        "share_mae_pp": float(100 * np.abs(share.mean(axis=0) - true_share).mean()),
        "equal_split_mae_pp": float(100 * np.abs(1 / len(channels) - true_share).mean()),
        "roi_spearman": float(spearmanr(roi.mean(axis=0), true_roi).statistic),
        "share_covered": int(((s_lo <= true_share) & (true_share <= s_hi)).sum()),
        "roi_covered": int(((r_lo <= true_roi) & (true_roi <= r_hi)).sum()),
        "channels": len(channels),
        "share_width_pp": float(100 * (s_hi - s_lo).mean()),
        "roi_rel_width": float(((r_hi - r_lo) / true_roi).mean()),
        "divergences": int(mmm.idata.sample_stats["diverging"].sum()),
        "rhat_max": rhat,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
