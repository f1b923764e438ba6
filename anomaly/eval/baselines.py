#!/usr/bin/env python3
"""The evaluation's Python baselines, scored on the same features as onewall's detectors.

Usage: baselines.py FEATURES.csv SCORES.csv

FEATURES.csv (written by `cargo bench -p onewall-anomaly --bench evaluation`) has one row per
bucket or event: kind, month, entity, t, x, hour, working; rows of one (kind, month) are in
time order. SCORES.csv gets one line per row, in the same order: `hst,z`, the two baselines'
anomaly scores (higher is more anomalous). Each (kind, month) starts from fresh models: both
are streaming, scoring a row before learning it.

- hst: river's HalfSpaceTrees (river 0.26), the standard streaming anomaly detector of the
  Python ecosystem. Per entity for the numeric kinds (volume, outlier) on
  [x min-max scaled per entity, hour of day as sine and cosine, working day], and for
  time_of_day on [hour as sine and cosine, working day]; one model for first_seen (on
  1 / (1 + times seen before)) and rare (on the share), whose features already speak of the
  entity's own history.
- z: the robust z-score per entity, |x - median| / (1.4826 MAD), over the entity's last values
  (MAD falling back to 1.2533 times the mean absolute deviation when it is 0); 0 until the
  entity has 5 values.
"""

import csv
import math
import sys
import warnings
from collections import defaultdict
from multiprocessing import Pool

import numpy as np
from river import anomaly, preprocessing

HISTORY = {"volume": 336, "outlier": 200, "first_seen": 200, "rare": 200, "time_of_day": 200}
MIN_HISTORY = 5


def robust_z(x, window):
    """Per row i of one entity's values `x`, the robust z of x[i] against x[i-window:i]."""
    n = len(x)
    padded = np.concatenate([np.full(window, np.nan), x])
    past = np.lib.stride_tricks.sliding_window_view(padded, window)[:n]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(past, axis=1)
        dev = np.abs(past - med[:, None])
        scale = 1.4826 * np.nanmedian(dev, axis=1)
        scale = np.where(scale > 0, scale, 1.2533 * np.nanmean(dev, axis=1))
        z = np.abs(x - med) / scale
    z = np.where(scale > 0, z, np.where(x == med, 0.0, 1e6))
    seen = np.minimum(np.arange(n), window)
    return np.where(seen >= MIN_HISTORY, z, 0.0)


def hour_features(hour, working):
    angle = 2 * math.pi * hour / 24
    return {
        "hs": (math.sin(angle) + 1) / 2,
        "hc": (math.cos(angle) + 1) / 2,
        "w": float(working),
    }


def new_hst(kind):
    window = {"volume": 168, "outlier": 50, "time_of_day": 20}.get(kind, 250)
    return anomaly.HalfSpaceTrees(n_trees=10, height=6, window_size=window, seed=42)


def hst_scores(kind, rows):
    """HalfSpaceTrees' score of each row, scored before it is learnt."""
    models, scalers, out = {}, {}, []
    for entity, x, hour, working in rows:
        if kind in ("volume", "outlier"):
            scaler = scalers.get(entity)
            if scaler is None:
                scaler = scalers[entity] = preprocessing.MinMaxScaler()
            scaler.learn_one({"x": x})
            feats = {"x": scaler.transform_one({"x": x})["x"], **hour_features(hour, working)}
        elif kind == "time_of_day":
            feats = hour_features(x, working)
        else:
            feats = {"x": 1.0 / (1.0 + x)} if kind == "first_seen" else {"x": x}
        key = "" if kind in ("first_seen", "rare") else entity
        model = models.get(key)
        if model is None:
            model = models[key] = new_hst(kind)
        out.append(model.score_one(feats))
        model.learn_one(feats)
    return out


def score_group(args):
    kind, rows = args
    hst = hst_scores(kind, rows)
    z = np.zeros(len(rows))
    by_entity = defaultdict(list)
    for i, row in enumerate(rows):
        by_entity[row[0]].append(i)
    for idx in by_entity.values():
        x = np.array([rows[i][1] for i in idx])
        z[idx] = robust_z(x, HISTORY[kind])
    return hst, z.tolist()


def main(features, scores):
    groups = []
    with open(features, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["kind"], row["month"])
            if not groups or groups[-1][0] != key:
                groups.append((key, []))
            groups[-1][1].append(
                (row["entity"], float(row["x"]), float(row["hour"]), int(row["working"]))
            )
    with Pool(2) as pool:
        results = pool.map(score_group, [(key[0], rows) for key, rows in groups], chunksize=1)
    with open(scores, "w", newline="") as out:
        out.write("hst,z\n")
        for hst, z in results:
            for h, s in zip(hst, z):
                out.write(f"{h:.6g},{s:.6g}\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: baselines.py FEATURES.csv SCORES.csv")
    main(sys.argv[1], sys.argv[2])
