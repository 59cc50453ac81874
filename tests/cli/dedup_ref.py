#!/usr/bin/env python3
"""Test data with known duplicates for `winnow dedup`, and straightforward
reference implementations to compare its output with.

    dedup_ref.py gen SAMPLE.jsonl N SEED     write N records to stdout
    dedup_ref.py genlines SAMPLE.jsonl N SEED
                                             N records of lines and paragraphs
                                             drawn from a pool, with repeats
    dedup_ref.py exact LEVEL [--mark] [--key F]... FILE
                                             the lines `dedup` keeps; with --mark
                                             each record's duplicate_of, or null
    dedup_ref.py lines|paragraphs LEVEL MIN FILE
                                             the records `dedup --lines` writes
                                             (id and text, as JSON lines)

The generated records are variants of the sample's paragraphs: exact copies,
copies that differ only in whitespace, only in case and Unicode
compatibility forms, only in punctuation and digits, and copies with one word
changed (never duplicates); some are written with \\uXXXX escapes, and they
carry metadata.url and lang fields with duplicates of their own for --key.
"""
import json
import random
import re
import sys
import unicodedata

# Unicode White_Space, as winnow's normalisations use it.
WS = "\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
     "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
WS_RUN = re.compile("[" + re.escape(WS) + "]+")
# The default-ignorable code points the generator uses (NFKC_Casefold drops them).
IGNORABLE = "\u00ad\u200b"


def collapse(s):
    return WS_RUN.sub(" ", s).strip(" ") if s.strip(WS) else ""


def nfkc_casefold(s):
    s = "".join(c for c in s if c not in IGNORABLE)
    s = unicodedata.normalize("NFKC", s)
    return unicodedata.normalize("NFKC", s.casefold())


def datatrove(s):
    s = unicodedata.normalize("NFD", s.lower())
    out = []
    digit = False
    for c in s:
        cat = unicodedata.category(c)
        if cat in ("Mn", "Cf"):
            continue
        if cat == "Nd":
            if not digit:
                out.append("0")
            digit = True
            continue
        digit = False
        if c in WS or cat[0] == "P" or cat in ("Sm", "Sc", "Sk", "Cc", "Zs", "Zl", "Zp"):
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


def normalize(level, s):
    if level == "none":
        return s
    if level == "whitespace":
        return collapse(s)
    if level == "nfkc-casefold":
        return collapse(nfkc_casefold(s))
    if level == "datatrove":
        return collapse(datatrove(s))
    raise SystemExit("unknown level " + level)


# ---- generating -------------------------------------------------------------------

def ws_variant(rng, t):
    words = t.split(" ")
    seps = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", " \u3000 ", "\u2009"]
    out = words[0]
    for w in words[1:]:
        out += rng.choice(seps) if rng.random() < 0.3 else " "
        out += w
    return rng.choice(["", " ", "\n", "\t "]) + out + rng.choice(["", "\n", "  "])


def case_variant(rng, t):
    out = []
    for w in t.split(" "):
        r = rng.random()
        if r < 0.2:
            w = w.upper()
        elif r < 0.3:
            w = w.title()
        elif r < 0.35:  # full-width letters
            w = "".join(chr(ord(c) - 0x21 + 0xFF01) if "!" <= c <= "~" else c for c in w)
        elif r < 0.4:
            w = w.replace("fi", "\ufb01")
        elif r < 0.43 and len(w) > 3:
            w = w[:2] + "\u00ad" + w[2:]
        out.append(w)
    return ws_variant(rng, " ".join(out)) if rng.random() < 0.5 else " ".join(out)


def punct_variant(rng, t):
    out = []
    for w in t.split(" "):
        r = rng.random()
        if r < 0.1:
            w = w + rng.choice([",", ";", "...", "!", " -", "\u2014"])
        elif r < 0.15:
            w = "\u201c" + w + "\u201d"
        elif r < 0.2:
            w = w.rstrip(".,;:")
        elif r < 0.25:
            w = w + " " + str(rng.randint(0, 99999))
        out.append(w)
    s = " ".join(out)
    # change every number, keep accents apart from the letters
    s = re.sub(r"\d+", lambda m: str(rng.randint(1, 10 ** len(m.group(0)))), s)
    s = unicodedata.normalize("NFD", s) if rng.random() < 0.5 else s
    return case_variant(rng, s) if rng.random() < 0.5 else s


def word_variant(rng, t):
    words = t.split(" ")
    i = rng.randrange(len(words))
    words[i] = words[i] + "x"
    return " ".join(words)


def gen(sample, n, seed):
    rng = random.Random(seed)
    base = []
    for line in open(sample, encoding="utf-8"):
        t = json.loads(line)["text"]
        base.append(t[: rng.randint(40, 600)])
    # a few with accents, other scripts and numbers, so every level has work
    base += ["Cr\u00e8me br\u00fbl\u00e9e at 12:30, on 2024-05-01 \u2014 \u20ac5!",
             "\u041c\u0438\u0440 \u0438 \u0432\u043e\u0439\u043d\u0430, \u0442\u043e\u043c 1",
             "Stra\u00dfe \u2116 7: caf\u00e9 na\u00efve r\u00e9sum\u00e9"]
    made = []
    urls = ["https://example.org/%d" % i for i in range(n // 3 + 1)]
    for i in range(n):
        r = rng.random()
        if made and r < 0.15:
            text = rng.choice(made)
        elif made and r < 0.3:
            text = ws_variant(rng, rng.choice(made))
        elif made and r < 0.42:
            text = case_variant(rng, rng.choice(made))
        elif made and r < 0.52:
            text = punct_variant(rng, rng.choice(made))
        elif made and r < 0.6:
            text = word_variant(rng, rng.choice(made))
        else:
            text = rng.choice(base)
            if rng.random() < 0.7:
                text = word_variant(rng, text) + " " + str(i)
        made.append(text)
        rec = {"id": "r%d" % i, "text": text,
               "metadata": {"url": rng.choice(urls), "lang": rng.choice(["en", "fr", "de"])}}
        if rng.random() < 0.2:
            del rec["id"]  # dedup names these by file and line
        ascii_only = rng.random() < 0.3
        sys.stdout.write(json.dumps(rec, ensure_ascii=ascii_only,
                                    separators=(",", ":") if rng.random() < 0.5 else (", ", ": "))
                         + "\n")


def genlines(sample, n, seed):
    rng = random.Random(seed)
    words = []
    for line in open(sample, encoding="utf-8"):
        words += json.loads(line)["text"].split()
    pool = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
            for _ in range(max(20, n // 2))]
    pool += ["Share this article", "Cookie policy", "ok", "\u00a9 2024 Example Inc.",
             "  Home | About | Contact  ", "Caf\u00e9 menu"]
    for i in range(n):
        paras = []
        for _ in range(rng.randint(1, 4)):
            lines_ = []
            for _ in range(rng.randint(1, 5)):
                t = rng.choice(pool)
                r = rng.random()
                if r < 0.1:
                    t = "  " + t + " \r"
                elif r < 0.15:
                    t = t.upper()
                elif r < 0.2:
                    t = t.replace(" ", "\t")
                lines_.append(t)
            paras.append("\n".join(lines_))
        sep = rng.choice(["\n\n", "\n\n\n", "\n \n", "\r\n\r\n"])
        text = sep.join(paras) + rng.choice(["", "\n", "\n\n"])
        rec = {"id": "d%d" % i, "text": text}
        sys.stdout.write(json.dumps(rec, ensure_ascii=rng.random() < 0.3) + "\n")


# ---- references ---------------------------------------------------------------------------

def records(path):
    name = path
    for i, line in enumerate(open(path, encoding="utf-8")):
        r = json.loads(line)
        yield r.get("id", "%s/%d" % (name, i)), r, line


def get_path(r, dotted):
    for part in dotted.split("."):
        r = r[part]
    return r


def exact(level, keys, path, mark):
    """The input lines kept; with mark, each record's duplicate_of (or null)."""
    first = {}
    for rid, r, line in records(path):
        if keys:
            vals = []
            for k in keys:
                v = get_path(r, k)
                vals.append(("s", normalize(level, v)) if isinstance(v, str)
                            else ("j", json.dumps(v)))
            key = tuple(vals)
        else:
            key = normalize(level, r["text"])
        if key in first:
            if mark:
                print(json.dumps(first[key]))
            continue
        first[key] = rid
        sys.stdout.write("null\n" if mark else line)


def pieces(text, paragraphs):
    """[(piece, separator)] as winnow cuts them."""
    if not paragraphs:
        parts = text.split("\n")
        return [(p, "\n") for p in parts[:-1]] + [(parts[-1], "")]
    out = []
    start = 0
    for m in re.finditer(r"\n(?:[ \t\r]*\n)+", text):
        out.append((text[start:m.start()], m.group(0)))
        start = m.end()
    out.append((text[start:], ""))
    return out


def lines(level, min_chars, path, paragraphs):
    seen = set()
    for rid, r, _ in records(path):
        ps = pieces(r["text"], paragraphs)
        keys = []
        for p, _ in ps:
            k = normalize(level, p)
            keys.append(k if k and len(k) >= min_chars else None)
        removed = [k is not None and k in seen for k in keys]
        for k in keys:
            if k is not None:
                seen.add(k)
        if not any(removed):
            print(json.dumps({"id": r.get("id"), "text": r["text"]}, ensure_ascii=False))
            continue
        kept = [(p, s) for (p, s), x in zip(ps, removed) if not x]
        text = "".join(p + s for p, s in kept[:-1]) + (kept[-1][0] if kept else "")
        if not text.strip(WS):
            continue
        print(json.dumps({"id": r.get("id"), "text": text}, ensure_ascii=False))


def main(argv):
    if argv[1] == "gen":
        gen(argv[2], int(argv[3]), int(argv[4]))
    elif argv[1] == "genlines":
        genlines(argv[2], int(argv[3]), int(argv[4]))
    elif argv[1] == "exact":
        keys = []
        mark = False
        args = argv[3:]
        while args and args[0] in ("--key", "--mark"):
            if args[0] == "--mark":
                mark = True
                args = args[1:]
                continue
            keys.append(args[1])
            args = args[2:]
        exact(argv[2], keys, args[0], mark)
    elif argv[1] in ("lines", "paragraphs"):
        lines(argv[2], int(argv[3]), argv[4], argv[1] == "paragraphs")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
