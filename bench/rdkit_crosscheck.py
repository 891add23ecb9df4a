#!/usr/bin/env python3
"""Recompute uniqueness and novelty of an sdegen molecule file with RDKit, as GDSS does.

    bench/rdkit_crosscheck.py GEN.h5|GEN.sdf|GEN.smi [--dataset qm9|zinc250k] [--data DIR]

An optional cross-check, not part of sdegen: it needs RDKit (Debian: python3-rdkit) and, for
.h5 input, the h5dump tool (hdf5-tools). sdegen itself canonicalises with Open Babel; this
script repeats GDSS's protocol with RDKit (GDSS sampler.py + MOSES):
  - every generated SMILES is re-parsed and written by Chem.MolToSmiles (empty ones dropped);
  - uniqueness = distinct canonical SMILES / parsed SMILES (MOSES fraction_unique);
  - novelty = distinct canonical SMILES not in the training set / distinct (MOSES novelty),
    the training set being the dataset's rows outside valid_idx_*.json, each written as
    MolToSmiles(MolFromSmiles(s)) (stereo and charges kept, as GDSS does).
It prints the two numbers with their counts, to set beside `sdegen eval molecules`.
"""
import argparse
import json
import os
import re
import subprocess
import sys


def read_generated(path):
    if path.endswith(".h5"):
        out = subprocess.run(["h5dump", "-d", "/smiles", "-y", "-w", "0", path],
                             capture_output=True, text=True, check=True).stdout
        body = out[out.index("{", out.index("DATA")):]
        return re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    if path.endswith(".sdf"):
        smiles, want = [], False
        with open(path) as f:
            for line in f:
                if want:
                    smiles.append(line.strip())
                    want = False
                elif line.startswith(">") and "<smiles>" in line.lower():
                    want = True
        return smiles
    with open(path) as f:
        return [line.split()[0] if line.split() else "" for line in f]


def read_dataset(data, name):
    if name == "qm9":
        with open(os.path.join(data, "qm9", "qm9_smiles.csv")) as f:
            rows = [line.strip() for line in f][1:]
        with open(os.path.join(data, "qm9", "valid_idx_qm9.json")) as f:
            test = set(int(i) for i in json.load(f)["valid_idxs"])
    else:
        with open(os.path.join(data, "zinc250k", "zinc250k.smi")) as f:
            rows = [line.strip() for line in f]
        with open(os.path.join(data, "zinc250k", "valid_idx_zinc250k.json")) as f:
            test = set(int(i) for i in json.load(f))
    return [s for i, s in enumerate(rows) if i not in test]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gen")
    ap.add_argument("--dataset", default="qm9", choices=["qm9", "zinc250k"])
    ap.add_argument("--data", default=os.environ.get("SDEGEN_DATA", "../shared/data"))
    a = ap.parse_args()
    try:
        from rdkit import Chem, RDLogger
    except ImportError:
        sys.exit("rdkit_crosscheck.py: RDKit is not installed (Debian: apt install python3-rdkit)")
    RDLogger.DisableLog("rdApp.*")
    train = set()
    for s in read_dataset(a.data, a.dataset):
        m = Chem.MolFromSmiles(s)
        if m is not None:
            train.add(Chem.MolToSmiles(m))
    gen = read_generated(a.gen)
    can, bad = [], 0
    for s in gen:
        if not s:
            continue
        m = Chem.MolFromSmiles(s)
        if m is None:
            bad += 1
            continue
        can.append(Chem.MolToSmiles(m))
    if not can:
        sys.exit(f"rdkit_crosscheck.py: {a.gen}: no SMILES RDKit can parse")
    u = set(can)
    print(f"# {a.gen}: {len(gen)} records, {len(can)} parsed by RDKit {Chem.rdBase.rdkitVersion}, "
          f"{bad} not parsed; training set {len(train)} canonical SMILES ({a.dataset})")
    print(f"uniqueness_rdkit {len(u) / len(can):.6f}  {len(u)} of {len(can)}")
    print(f"novelty_rdkit    {len(u - train) / len(u):.6f}  {len(u - train)} of {len(u)}")


if __name__ == "__main__":
    main()
