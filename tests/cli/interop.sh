#!/usr/bin/env bash
# Other tools read the graph files sdegen writes: a dataset converted to .graphml and .h5 is
# read back by networkx (GraphMLReader, every graph) and by h5dump, and both agree with the
# text file graph by graph (node and edge counts, edge sets). Exit 77 (skip) without python3 +
# networkx or h5dump.   usage: interop.sh SDEGEN DATA_DIR
set -euo pipefail
exe=$1; data=$2
command -v h5dump >/dev/null && python3 -c "import networkx" 2>/dev/null || exit 77
[ -f "$data/graphs/ego_small.txt" ] || exit 77
tmp=$(mktemp -d /tmp/sdegen-interop-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$exe" convert "$data/graphs/ego_small.txt" "$tmp/g.graphml" >/dev/null
"$exe" convert "$tmp/g.graphml" "$tmp/g.h5" >/dev/null
h5dump -d /num_nodes -y -w 0 "$tmp/g.h5" >"$tmp/nn.txt"
h5dump -d /edge_offsets -y -w 0 "$tmp/g.h5" >"$tmp/off.txt"
h5dump -d /edges -y -w 0 "$tmp/g.h5" >"$tmp/edges.txt"
python3 - "$data/graphs/ego_small.txt" "$tmp" <<'PY'
import re, sys
from networkx.readwrite.graphml import GraphMLReader
txt, tmp = sys.argv[1], sys.argv[2]
tok = [l.split() for l in open(txt) if l.strip() and not l.startswith('#')]
G = int(tok[0][0]); k = 1; ref = []
for _ in range(G):
    n, m, _y = map(int, tok[k]); k += 1
    if n: k += 1
    ref.append((n, {tuple(map(int, tok[k + e])) for e in range(m)})); k += m
gml = list(GraphMLReader()(path=f"{tmp}/g.graphml"))
assert len(gml) == G, (len(gml), G)
for (n, es), g in zip(ref, gml):
    idx = {v: i for i, v in enumerate(g.nodes())}
    got = {tuple(sorted((idx[u], idx[v]))) for u, v in g.edges()}
    assert g.number_of_nodes() == n and got == es
def ints(name):
    body = open(f"{tmp}/{name}").read()
    body = body[body.index("DATA {") + 6:]
    return [int(x) for x in re.findall(r"-?\d+", re.sub(r"\(\d+(,\d+)*\):", "", body.split("}")[0]))]
nn, off, ed = ints("nn.txt"), ints("off.txt"), ints("edges.txt")
assert nn == [n for n, _ in ref] and len(off) == G + 1
for g, (n, es) in enumerate(ref):
    got = {(ed[2 * e], ed[2 * e + 1]) for e in range(off[g], off[g + 1])}
    assert got == es, g
print(f"networkx and h5dump read {G} graphs as written")
PY
