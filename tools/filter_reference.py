#!/usr/bin/env python3
"""The heuristic rules of `winnow filter`, written plainly in Python 3.

A reference for the C implementation (src/filter/) and the baseline of
tools/bench-filter.sh.  It implements the rules as ../shared/REFERENCE.md and
datatrove state them (Gopher quality, Gopher repetition, C4 quality, FineWeb
quality), with the published defaults and their quirks, over the same word
splitting as winnow (spaCy's English rules, see docs/winnow-filter.md),
written independently from the C code.

    filter_reference.py [--gopher-quality] [--gopher-repetition] [--c4] [--fineweb]
                        [--annotate] [--text-field NAME] [FILE]

Reads JSON Lines (FILE or stdin) and writes one line per record: the JSON
object {"keep": bool, "reason": str|null, "rules": {...}} with, under
--annotate, every rule's measured value and verdict (as `winnow filter
--annotate` writes them into metadata.filter), else only the keep/drop
decision.  --words prints the words of each record instead, one JSON array
per line.  Without any rule set, all four are applied, in FineWeb's order.
Only the standard library is used.
"""

import argparse
import json
import sys
import unicodedata

# ---- characters ------------------------------------------------------------

# Python's str.isspace() is the white space of the rules; the C code uses the
# same set (White_Space plus \x1c-\x1f).

SPECIAL_CURRENCY = ("US$", "C$", "A$")

# ASCII decisions, from spaCy's English punctuation lists.
ASCII_PREFIX = set("!\"#$%&'()*,:;<=>?[]_`{}")
ASCII_SUFFIX = set("!\"#&'()*,:;<>?[]_`{}")
ASCII_QUOTE = set("'\"`,")
ASCII_DOTAFTER = set("0123456789abcdefghijklmnopqrstuvwxyz%-+!\"#&'()*,:;<>?[]_`{}|")

STERM_RANGES = [
    (0x0021, 0x0021), (0x002E, 0x002E), (0x003F, 0x003F), (0x0589, 0x0589),
    (0x061D, 0x061F), (0x06D4, 0x06D4), (0x0700, 0x0702), (0x07F9, 0x07F9),
    (0x0837, 0x0837), (0x0839, 0x0839), (0x083D, 0x083E), (0x0964, 0x0965),
    (0x104A, 0x104B), (0x1362, 0x1362), (0x1367, 0x1368), (0x166E, 0x166E),
    (0x1735, 0x1736), (0x17D4, 0x17D6), (0x17D9, 0x17DA), (0x1803, 0x1803),
    (0x1809, 0x1809), (0x1944, 0x1945), (0x1AA8, 0x1AAB), (0x1B5A, 0x1B5B),
    (0x1B5E, 0x1B5F), (0x1B7D, 0x1B7E), (0x1C3B, 0x1C3C), (0x1C7E, 0x1C7F),
    (0x203C, 0x203D), (0x2047, 0x2049), (0x2E2E, 0x2E2E), (0x2E3C, 0x2E3C),
    (0x2E53, 0x2E54), (0x3002, 0x3002), (0xA4FF, 0xA4FF), (0xA60E, 0xA60F),
    (0xA6F3, 0xA6F3), (0xA6F7, 0xA6F7), (0xA876, 0xA877), (0xA8CE, 0xA8CF),
    (0xA92F, 0xA92F), (0xA9C8, 0xA9C9), (0xAA5D, 0xAA5F), (0xAAF0, 0xAAF1),
    (0xABEB, 0xABEB), (0xFE52, 0xFE52), (0xFE56, 0xFE57), (0xFF01, 0xFF01),
    (0xFF0E, 0xFF0E), (0xFF1F, 0xFF1F), (0xFF61, 0xFF61), (0x10A56, 0x10A57),
    (0x10F55, 0x10F59), (0x10F86, 0x10F89), (0x11047, 0x11048), (0x110BE, 0x110C1),
    (0x11141, 0x11143), (0x111C5, 0x111C6), (0x111CD, 0x111CD), (0x111DE, 0x111DF),
    (0x11238, 0x11239), (0x1123B, 0x1123C), (0x112A9, 0x112A9), (0x1144B, 0x1144C),
    (0x115C2, 0x115C3), (0x115C9, 0x115D7), (0x11641, 0x11642), (0x1173C, 0x1173E),
    (0x11944, 0x11944), (0x11946, 0x11946), (0x11A42, 0x11A43), (0x11A9B, 0x11A9C),
    (0x11C41, 0x11C42), (0x11EF7, 0x11EF8), (0x11F43, 0x11F44), (0x16A6E, 0x16A6F),
    (0x16AF5, 0x16AF5), (0x16B37, 0x16B38), (0x16B44, 0x16B44), (0x16E98, 0x16E98),
    (0x1BC9F, 0x1BC9F), (0x1DA88, 0x1DA88),
]
STERM = {chr(c) for a, b in STERM_RANGES for c in range(a, b + 1)}


def cat(c):
    return unicodedata.category(c)


def is_ws(c):
    return c.isspace()


def is_alpha(c):  # a letter or mark: "a letter" of the split rules
    if c < "\x80":
        return c.isalpha()
    return cat(c)[0] in "LM"


def is_lower(c):
    if c < "\x80":
        return "a" <= c <= "z"
    return cat(c) in ("Ll", "Lo", "Lm")


def is_upper(c):
    if c < "\x80":
        return "A" <= c <= "Z"
    return cat(c) in ("Lu", "Lt", "Lo", "Lm")


def is_digit(c):
    return "0" <= c <= "9"


def is_punct(c):
    return cat(c)[0] == "P"


# datatrove's PUNCTUATION_SET outside ASCII, besides the sentence terminals
DT_PUNCT = set(map(chr, (
    0x00AB, 0x00B4, 0x00BB, 0x2013, 0x2014, 0x2019, 0x201C, 0x201D, 0x201E, 0x2026,
    0x2236, 0x2501, 0x25BA, 0x3001, 0x3008, 0x3009, 0x300A, 0x300B, 0x300C, 0x300D,
    0x3010, 0x3011, 0xFF05, 0xFF08, 0xFF09, 0xFF0C, 0xFF11, 0xFF1A, 0xFF1B, 0xFF5E)))


def is_symbol(c):  # a character of datatrove's "symbol" words
    if c < "\x80":
        return not c.isalnum() and not c.isspace()
    return c in STERM or c in DT_PUNCT or "\x80" <= c <= "\x9f"


def is_prefix(c):
    if c < "\x80":
        return c in ASCII_PREFIX
    k = cat(c)
    return k[0] == "P" or k in ("Sc", "So") or c == "\u00b4"


def is_suffix(c):
    if c < "\x80":
        return c in ASCII_SUFFIX
    k = cat(c)
    return k[0] == "P" or k == "So" or c == "\u00b4"


def is_quote(c):
    if c < "\x80":
        return c in ASCII_QUOTE
    return cat(c) in ("Ps", "Pe", "Pi", "Pf") or c == "\u00b4"


def is_icon(c):
    return c >= "\x80" and cat(c) == "So"


def is_currency(c):
    return cat(c) == "Sc"


def is_dotafter(c):
    if c < "\x80":
        return c in ASCII_DOTAFTER
    k = cat(c)
    return k in ("Ll", "Lm", "Lo") or k[0] == "P" or c in "\u00b2\u00b4"


def is_host(c):
    return (c.isascii() and c.isalnum()) or "\u00a1" <= c <= "\uffff"


# ---- words -----------------------------------------------------------------

ABBREVIATIONS = set("""
a.m. Adm. Ak. Ala. Apr. Ariz. Ark. Aug. Bros. Calif. co. Co. Colo. Conn. Corp. D.C. Dec. Del.
Dr. e.g. E.g. E.G. Feb. Fla. Ga. Gen. Gov. i.e. I.e. I.E. Ia. Id. Ill. Inc. Ind. Jan. Jr. Jul.
Jun. Kan. Kans. Ky. La. Ltd. Mar. Mass. Md. Messrs. Mich. Minn. Miss. Mo. Mont. Mr. Mrs. Ms.
Mt. N.C. N.D. N.H. N.J. N.M. N.Y. Neb. Nebr. Nev. Nov. Oct. Okla. Ore. p.m. Pa. Ph.D. Prof.
Rep. Rev. S.C. Sen. Sep. Sept. St. Tenn. v.s. Va. vs. Wash. Wis.
""".split()) | {c + "." for c in "abcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00fc"}

CLITICS = ["'ll", "'re", "'ve", "'d", "'m", "\u2019ll", "\u2019re", "\u2019ve", "\u2019d", "\u2019m"]
HOURS = [str(h) for h in range(1, 13)]
PERIODS = ["a.m.", "am", "p.m.", "pm"]
UNITS = ("km\u00b2 km\u00b3 m\u00b2 m\u00b3 dm\u00b2 dm\u00b3 cm\u00b2 cm\u00b3 mm\u00b2 mm\u00b3 "
         "\u00b5m \u00b5g m/s km/h kmh mph hPa mbar km dm cm mm ha nm yd in ft kg mg lb oz "
         "Pa mb MB kb KB gb GB tb TB m g t T G M K %").split()


def special(s):
    """None, or the words a special case makes of s."""
    if len(s) < 2:
        return None
    if s in ABBREVIATIONS:
        return [s]
    for nt in ("n't", "n\u2019t"):
        if s.endswith(nt) and len(s) > 3 and all(is_alpha(c) for c in s[:-3]):
            return [s[:-3], s[-3:]]
    for c in CLITICS:
        if s.endswith(c) and len(s) > len(c) and all(is_alpha(x) for x in s[: -len(c)]):
            return [s[: -len(c)], s[-len(c):]]
    for h in HOURS:
        if s.startswith(h) and s[len(h):] in PERIODS:
            return [h, s[len(h):]]
    return None


def prefix_len(s):
    c = s[0]
    if c == ".":
        n = len(s) - len(s.lstrip("."))
        return n if n >= 2 else 0
    if c == "+":
        return 0 if len(s) > 1 and is_digit(s[1]) else 1
    for cur in SPECIAL_CURRENCY:
        if s.startswith(cur):
            return len(cur)
    return 1 if is_prefix(c) else 0


def suffix_len(s):
    if not s:
        return 0
    best = len(s)
    nd = len(s) - len(s.rstrip("."))
    if nd >= 2:
        best = len(s) - nd
    c = s[-1]
    cs = len(s) - 1
    if c == "\u2026":
        best = min(best, cs)
    if is_suffix(c):
        best = min(best, cs)
    if len(s) >= 2 and s[-2:] in ("'s", "'S", "\u2019s", "\u2019S"):
        best = min(best, len(s) - 2)
    before = s[-2] if len(s) >= 2 else ""
    if c == "+" and before and is_digit(before):
        best = min(best, cs)
    if c == ".":
        upper2 = len(s) >= 3 and is_upper(s[-2]) and is_upper(s[-3])
        degree = len(s) >= 3 and s[-3] == "\u00b0" and s[-2] in "FfCcKk"
        if (before and is_dotafter(before)) or upper2 or degree:
            best = min(best, cs)
    if is_currency(c) and before and is_digit(before):
        best = min(best, cs)
    for u in UNITS:
        if len(s) > len(u) and s.endswith(u) and is_digit(s[-len(u) - 1]):
            best = min(best, len(s) - len(u))
            break
    return len(s) - best


def host_label_ok(label):
    if not label or len(label) > 64:
        return False
    if label[0] in "-_" or label[-1] in "-_":
        return False
    return all(is_host(c) or c in "-_" for c in label)


def is_url(s):
    if "." not in s:
        return False
    p = 0
    i = s.find("://")
    if i >= 0:
        scheme = s[:i]
        if len(scheme) >= 2 and all((c.isascii() and c.isalnum()) or c in "_+-." or
                                    (not c.isascii() and cat(c)[0] == "L") for c in scheme):
            p = i + 3
    end = p
    while end < len(s) and s[end] not in "/?#":
        end += 1
    at = s.rfind("@", p, end)
    if at > p:
        p = at + 1
    # host: labels, then the top-level domain, up to ':' '/' '?' '#'
    q = p
    while q < len(s) and (is_host(s[q]) or s[q] in "-_."):
        q += 1
    labels = s[p:q].split(".")
    if len(labels) < 2:
        return False
    for label in labels[:-1]:
        if not host_label_ok(label):
            return False
    tld = labels[-1]
    if not (2 <= len(tld) <= 63) or not all(is_lower(c) for c in tld):
        return False
    p = q
    if p < len(s) and s[p] == ":":
        d = 0
        while p + 1 + d < len(s) and is_digit(s[p + 1 + d]):
            d += 1
        if not 2 <= d <= 5:
            return False
        p += 1 + d
    return p == len(s) or s[p] in "/?#"


def infix_at(s, p):
    c = s[p]
    if c == "." and p + 1 < len(s) and s[p + 1] == ".":
        return len(s[p:]) - len(s[p:].lstrip("."))
    if c == "\u2026":
        return 1
    if is_icon(c):
        return 1
    before = s[p - 1] if p > 0 else ""
    after = s[p + 1] if p + 1 < len(s) else ""
    if c in "+-*^" and before and is_digit(before) and after and (is_digit(after) or after == "-"):
        return 1
    if c == "." and before and (is_lower(before) or is_quote(before)) and after and (
            is_upper(after) or is_quote(after)):
        return 1
    if c == "," and before and is_alpha(before) and after and is_alpha(after):
        return 1
    if before and (is_alpha(before) or is_digit(before)):
        if c == "-":
            for n in (1, 2, 3):
                if s[p:p + n] == "-" * n and p + n < len(s) and is_alpha(s[p + n]):
                    return n
        elif c in "\u2013~":
            if after and is_alpha(after):
                return 1
        elif c == "\u2014":
            if after and is_alpha(after):
                return 1
            if s[p:p + 2] == "\u2014\u2014" and p + 2 < len(s) and is_alpha(s[p + 2]):
                return 2
        if c in ":<>=/" and after and is_alpha(after):
            return 1
    return 0


def split_core(s, out):
    if is_url(s):
        out.append(s)
        return
    start = p = 0
    while p < len(s):
        m = infix_at(s, p)
        if not m:
            p += 1
            continue
        if p != 0:
            if p != start:
                out.append(s[start:p])
            out.append(s[p:p + m])
            start = p + m
        p += m
    if start < len(s):
        out.append(s[start:])


def split_chunk(s, out):
    suffixes = []
    last = 0
    sp = None
    while s and len(s) != last:
        sp = special(s)
        if sp:
            break
        last = len(s)
        pre = prefix_len(s)
        if pre and len(s) > pre:
            sp = special(s[pre:])
            if sp:
                out.append(s[:pre])
                s = s[pre:]
                break
        suf = suffix_len(s[pre:])
        if suf and len(s) > suf:
            sp = special(s[:-suf])
            if sp:
                suffixes.append(s[-suf:])
                s = s[:-suf]
                break
        if pre and suf and pre + suf <= len(s):
            out.append(s[:pre])
            suffixes.append(s[-suf:])
            s = s[pre:-suf]
        elif pre:
            out.append(s[:pre])
            s = s[pre:]
        elif suf:
            suffixes.append(s[-suf:])
            s = s[:-suf]
        if s:
            sp = special(s)
            if sp:
                break
    if sp:
        out.extend(sp)
    elif s:
        split_core(s, out)
    out.extend(reversed(suffixes))


def split_words(text):
    """The words of text, and for each whether white space other than one
    ' ' came before it (spaCy made that a token, which its sentencizer sees)."""
    out, gaps = [], []
    i, n = 0, len(text)
    while i < n:
        ws = i
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        gap = ws > 0 and i > ws and text[ws:i] != " "
        j = i
        while j < n and not text[j].isspace():
            j += 1
        before = len(out)
        split_chunk(text[i:j], out)
        gaps.extend([gap] + [False] * (len(out) - before - 1))
        i = j
    return out, gaps[: len(out)]


def word_is_nonsymbol(w):
    return any(not is_symbol(c) for c in w)


def word_is_punct(w):
    return all(is_punct(c) for c in w)


def count_sentences(words, gaps):
    if not words:
        return 0
    count, seen = 1, False
    for w, gap in zip(words, gaps):
        if seen and gap:
            count += 1
            seen = False
        is_sterm = len(w) == 1 and w in STERM
        if seen and not word_is_punct(w) and not is_sterm:
            count += 1
            seen = False
        elif is_sterm:
            seen = True
    return count


# ---- rules -------------------------------------------------------------------
#
# Each rule set returns its measurements in order as (rule, value, passed); a
# value of None means the rule could not be measured (no words, empty text)
# and passes.  With all_rules false a set stops at its first failure.

def ratio(num, den):
    return None if den == 0 else num / den


class Report:
    def __init__(self, all_rules):
        self.all = all_rules
        self.rules = []   # (name, value, passed)
        self.failed = None

    def note(self, rule, value, passed):
        self.rules.append((rule, value, passed))
        if not passed and self.failed is None:
            self.failed = rule
        return passed or self.all

    def ratio_max(self, rule, num, den, limit):
        v = ratio(num, den)
        return self.note(rule, v, v is None or v <= limit)

    def ratio_min(self, rule, num, den, limit):
        v = ratio(num, den)
        return self.note(rule, v, v is None or v >= limit)


STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]


def gopher_quality(text, words, rep):
    nonsym = [w for w in words if word_is_nonsymbol(w)]
    n = len(nonsym)
    if not rep.note("gopher_short_doc", n, n >= 50):
        return False
    if not rep.note("gopher_long_doc", n, n <= 100000):
        return False
    if n:
        mean = sum(len(w) for w in nonsym) / n
        if not rep.note("gopher_below_avg_threshold", mean, mean >= 3):
            return False
        if not rep.note("gopher_above_avg_threshold", mean, mean <= 10):
            return False
    else:
        rep.note("gopher_below_avg_threshold", None, True)
        rep.note("gopher_above_avg_threshold", None, True)
    if not rep.ratio_max("gopher_too_many_hashes", text.count("#"), len(words), 0.1):
        return False
    if not rep.ratio_max("gopher_too_many_ellipsis", text.count("...") + text.count("\u2026"),
                         len(words), 0.1):
        return False
    lines = text.splitlines()
    bullets = sum(1 for s in lines if s.lstrip().startswith("\u2022") or s.lstrip().startswith("-"))
    if not rep.ratio_max("gopher_too_many_bullets", bullets, len(lines), 0.9):
        return False
    ends = sum(1 for s in lines if s.rstrip().endswith("...") or s.rstrip().endswith("\u2026"))
    if not rep.ratio_max("gopher_too_many_end_ellipsis", ends, len(lines), 0.3):
        return False
    alpha = sum(1 for w in words if any(c.isalpha() for c in w))
    if not rep.ratio_min("gopher_below_alpha_threshold", alpha, len(words), 0.8):
        return False
    stop = len(set(STOP_WORDS) & set(words))
    if not rep.note("gopher_enough_stop_words", stop, stop >= 2):
        return False
    return True


def find_duplicates(items):
    seen, dups, chars = set(), 0, 0
    for x in items:
        if x in seen:
            dups += 1
            chars += len(x)
        else:
            seen.add(x)
    return dups, chars


def gopher_repetition(text, words, rep):
    import re
    paragraphs = re.split(r"\n{2,}", text.strip())
    d, c = find_duplicates(paragraphs)
    if not rep.ratio_max("gopher_dup_para_frac", d, len(paragraphs), 0.3):
        return False
    if not rep.ratio_max("gopher_dup_para_char_frac", c, len(text), 0.2):
        return False
    lines = re.split("\n+", text)
    d, c = find_duplicates(lines)
    if not rep.ratio_max("gopher_dup_line_frac", d, len(lines), 0.3):
        return False
    if not rep.ratio_max("gopher_dup_line_char_frac", c, len(text), 0.2):
        return False
    for n, limit in ((2, 0.20), (3, 0.18), (4, 0.16)):
        grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
        rule = "gopher_top_%d_gram" % n
        if not grams:
            rep.note(rule, None, True)
            continue
        counts = {}
        for g in grams:
            counts[g] = counts.get(g, 0) + 1
        best = max(counts.items(), key=lambda kv: kv[1])  # the first of equals
        if not rep.ratio_max(rule, len(best[0]) * best[1], len(text), limit):
            return False
    for n, limit in ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)):
        seen, chars, i = set(), 0, 0
        while i < len(words) - n + 1:
            g = "".join(words[i:i + n])
            if g in seen:
                chars += len(g)
                i += n
            else:
                seen.add(g)
                i += 1
        if not rep.ratio_max("gopher_duplicated_%d_n_grams" % n, chars, len(text), limit):
            return False
    return True


CITATION = None
POLICY = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
          "use cookies"]


def c4(text, rep):
    """Returns (passed, the kept text)."""
    import re
    global CITATION
    if CITATION is None:
        CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
    sentences, kept, first, lorem, curly = 0, [], None, False, False
    for line in text.splitlines():
        line = line.strip()
        words = line.split()
        if any(len(w) > 1000 for w in words):
            continue
        line = CITATION.sub("", line)
        if not line.endswith((".", "?", "!", '"', "'")) or line.endswith("..."):
            continue
        if len(words) < 3:
            continue
        low = line.lower()
        if "lorem ipsum" in low:
            lorem = True
            first = first or "c4_lorem_ipsum"
            if not rep.all:
                break
        if "javascript" in low:
            continue
        if "{" in line:
            curly = True
            first = first or "c4_curly_bracket"
            if not rep.all:
                break
        if any(p in low for p in POLICY):
            continue
        w, gaps = split_words(line)
        sentences += count_sentences(w, gaps)
        kept.append(line)
    order = [("c4_lorem_ipsum", lorem), ("c4_curly_bracket", curly)]
    if first == "c4_curly_bracket":
        order.reverse()
    for rule, hit in order:
        rep.note(rule, hit, not hit)
    if first and not rep.all:
        return False, None
    ok = rep.note("c4_too_few_sentences", sentences, sentences >= 5)
    return ok and not first, "\n".join(kept).strip()


def fineweb(text, words, rep):
    lines = [line for line in text.split("\n") if line.strip() != ""]
    if not rep.note("fineweb_empty", len(lines), len(lines) > 0) or not lines:
        for rule in ("fineweb_line_punct_ratio", "fineweb_short_line_ratio",
                     "fineweb_char_dup_ratio", "fineweb_list_ratio"):
            rep.note(rule, None, True)
        return False
    r = sum(1 for line in lines if line[-1] in STERM) / len(lines)
    if not rep.note("fineweb_line_punct_ratio", r, r >= 0.12):
        return False
    r = sum(1 for line in lines if len(line) <= 30) / len(lines)
    if not rep.note("fineweb_short_line_ratio", r, r <= 0.67):
        return False
    r = find_duplicates(lines)[1] / len(text.replace("\n", ""))
    if not rep.note("fineweb_char_dup_ratio", r, r <= 0.01):
        return False
    r = text.count("\n") / len(words)
    if not rep.note("fineweb_list_ratio", r, r <= 0.3):
        return False
    return True


def judge(text, sets, all_rules):
    rep = Report(all_rules)
    words, _ = split_words(text)
    if "gopher-repetition" in sets:
        if not gopher_repetition(text, words, rep) and not all_rules:
            return rep
    if "gopher-quality" in sets:
        if not gopher_quality(text, words, rep) and not all_rules:
            return rep
    if "c4" in sets:
        ok, kept = c4(text, rep)
        if not ok and not all_rules:
            return rep
        text = kept if kept is not None else text
        words, _ = split_words(text)
    if "fineweb" in sets:
        fineweb(text, words, rep)
    return rep


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for s in ("gopher-quality", "gopher-repetition", "c4", "fineweb"):
        ap.add_argument("--" + s, action="store_true")
    ap.add_argument("--annotate", action="store_true", help="measure every rule")
    ap.add_argument("--words", action="store_true", help="print the words of each text")
    ap.add_argument("--text-field", default="text")
    ap.add_argument("file", nargs="?")
    a = ap.parse_args()
    sets = [s for s in ("gopher-repetition", "gopher-quality", "c4", "fineweb")
            if getattr(a, s.replace("-", "_"))]
    sets = sets or ["gopher-repetition", "gopher-quality", "c4", "fineweb"]
    inp = open(a.file, encoding="utf-8") if a.file else sys.stdin
    out = sys.stdout
    for line in inp:
        if not line.strip():
            continue
        text = json.loads(line)[a.text_field]
        if a.words:
            out.write(json.dumps(split_words(text)[0], ensure_ascii=False) + "\n")
            continue
        rep = judge(text, sets, a.annotate)
        res = {"keep": rep.failed is None, "reason": rep.failed}
        if a.annotate:
            res["rules"] = {r: {"value": v, "pass": p} for r, v, p in rep.rules}
        out.write(json.dumps(res, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
