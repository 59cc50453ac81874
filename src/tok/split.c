/*
 * split.c - hand-written matchers for the known split patterns.
 *
 * Pre-tokenization repeatedly takes the regex match that starts at the
 * current position.  For the patterns below every character starts a match
 * (a letter, a digit, white space and anything else each have an
 * alternative), so the match always begins there and only its end is to be
 * found.  On English text PCRE2 spends about as long finding these ends as
 * BPE spends merging; the matchers here find them with a byte table.
 *
 * A matcher decides only from ASCII bytes.  The moment the answer depends
 * on a byte >= 0x80 (is it a letter? white space? a digit? a character
 * that folds to 's'?), it gives up and that one match is left to PCRE2.  So
 * it has to agree with the regex on ASCII text only, with the regex's
 * semantics as compiled by wn_tok_compile: \s is [\t-\r ] on ASCII,
 * possessive and greedy quantifiers, ordered alternation, (?!\S) true at
 * the end.  tests/unit/test_split.c checks that the pieces are those of
 * PCRE2 for every pattern here.
 */
#include <stdint.h>
#include <string.h>

#include "tok/tok.h"

/* Byte classes.  NL bytes are also WS; HI is any byte of a non-ASCII
 * character, which a matcher never classifies. */
enum {
	LO = 1,  /* a-z */
	UP = 2,  /* A-Z */
	DG = 4,  /* 0-9 */
	WS = 8,  /* \t \n \v \f \r and space */
	NL = 16, /* \r \n */
	PU = 32, /* the other ASCII bytes: [^\s\p{L}\p{N}] */
	HI = 64,
	L = LO | UP,
	/* [^\r\n\p{L}\p{N}] */
	X = WS | PU,
};

#define CLS(b)                                                              \
	((b) >= 0x80                   ? HI                                 \
	 : (b) >= 'a' && (b) <= 'z'    ? LO                                 \
	 : (b) >= 'A' && (b) <= 'Z'    ? UP                                 \
	 : (b) >= '0' && (b) <= '9'    ? DG                                 \
	 : (b) == '\r' || (b) == '\n'  ? WS | NL                            \
	 : (b) == ' ' || ((b) >= '\t' && (b) <= '\r') ? WS                  \
	                               : PU)
#define CLS4(b) CLS(b), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define CLS16(b) CLS4(b), CLS4((b) + 4), CLS4((b) + 8), CLS4((b) + 12)
#define CLS64(b) CLS16(b), CLS16((b) + 16), CLS16((b) + 32), CLS16((b) + 48)

static const uint8_t cls[256] = { CLS64(0), CLS64(64), CLS64(128), CLS64(192) };

/* "this match needs PCRE2" */
#define GIVE_UP SIZE_MAX

/* The end of the run of bytes in class c from j, or GIVE_UP when a
 * non-ASCII character ends it (it might be in the class). */
static inline size_t run(const unsigned char *s, size_t n, size_t j, unsigned c)
{
	while (j < n && (cls[s[j]] & c))
		j++;
	return j < n && (cls[s[j]] & HI) ? GIVE_UP : j;
}

/*
 * The end of the run of letters from j: bytes in [lo, hi] once ORed with
 * fold (0x20 for either case); or GIVE_UP as run().  Words are where the
 * time goes, so eight bytes are tested at once: per byte, adding to its low
 * seven bits cannot carry into the next byte.
 */
static inline size_t letters(const unsigned char *s, size_t n, size_t j, unsigned lo,
                             unsigned hi, unsigned fold)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull, high = ones * 0x80;
	for (; n - j >= 8; j += 8) {
		uint64_t w;
		memcpy(&w, s + j, 8);
		uint64_t b = (w | ones * fold) & ~high;
		uint64_t in = (b + ones * (0x80 - lo)) & ~(b + ones * (0x7f - hi)) & ~w & high;
		if (in != high) {
			j += (size_t)__builtin_ctzll(~in & high) / 8;
			return s[j] >= 0x80 ? GIVE_UP : j;
		}
	}
#endif
	while (j < n && (unsigned)(s[j] | fold) - lo <= hi - lo)
		j++;
	return j < n && s[j] >= 0x80 ? GIVE_UP : j;
}

/* s[i] is '\''.  The length of the contraction 's 't 're 've 'm 'll 'd
 * there (in any case when fold: (?i:...)), 0 when there is none, -1 when
 * that depends on a non-ASCII character (under (?i), U+017F folds to s). */
static int contraction(const unsigned char *s, size_t n, size_t i, int fold)
{
	if (i + 1 >= n)
		return 0;
	unsigned a = s[i + 1];
	if (a >= 0x80)
		return -1;
	/* | 0x20 lowers a letter and makes no other byte a letter */
	if (fold)
		a |= 0x20;
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return 2;
	if (a != 'l' && a != 'r' && a != 'v')
		return 0;
	if (i + 2 >= n)
		return 0;
	unsigned b = s[i + 2];
	if (b >= 0x80)
		return -1;
	if (fold)
		b |= 0x20;
	return b == (a == 'l' ? 'l' : 'e') ? 3 : 0;
}

/* Up to max digits from s[i], a digit: \p{N}{1,max}. */
static size_t digits(const unsigned char *s, size_t n, size_t i, size_t max)
{
	size_t end = n - i > max ? i + max : n, j = i + 1;
	while (j < end && (cls[s[j]] & DG))
		j++;
	return j < end && (cls[s[j]] & HI) ? GIVE_UP : j;
}

/*
 * s[i] is white space and no earlier alternative matched.  The run of
 * white space is s[i..j).  In the order of the patterns' alternatives:
 *   \s++$         (dollar) the whole run, when it ends the text;
 *                 possessive, so $ can only hold at the end, whatever the
 *                 multiline flags;
 *   \s*[\r\n]+   (nl) up to the last \r or \n of the run;
 *   \s+(?!\S)     the whole run at the end of the text, else all of it
 *                 but its last character, when that leaves one;
 *   \s+ or \s     the one character left.
 */
static size_t space(const unsigned char *s, size_t n, size_t i, int nl, int dollar)
{
	size_t j = i, last_nl = 0;
	while (j < n && (cls[s[j]] & WS)) {
		if (cls[s[j]] & NL)
			last_nl = j + 1;
		j++;
	}
	if (j < n && (cls[s[j]] & HI))
		return GIVE_UP;
	if (j == n && dollar)
		return n;
	if (nl && last_nl)
		return last_nl;
	if (j == n)
		return n;
	return j - i >= 2 ? j - 1 : i + 1;
}

/*
 * r50k_base:  '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++
 *             |\s++$|\s+(?!\S)|\s
 * GPT-2:      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+
 *             |\s+(?!\S)|\s+
 * The same ends: \s++$ only repeats what \s+(?!\S) does at the end, and
 * \s and \s+ both meet a single white-space character.
 */
static size_t gpt2(const unsigned char *s, size_t n, size_t i)
{
	unsigned c = cls[s[i]];
	size_t j = i + 1;
	if (s[i] == '\'') {
		int k = contraction(s, n, i, 0);
		if (k)
			return k < 0 ? GIVE_UP : i + (size_t)k;
	}
	/* " ?": a space joins a following letter, digit or symbol */
	if (s[i] == ' ' && j < n && !(cls[s[j]] & WS))
		c = cls[s[j++]];
	if (c & HI)
		return GIVE_UP;
	if (c & L)
		return letters(s, n, j, 'a', 'z', 0x20);
	if (c & DG)
		return run(s, n, j, DG);
	if (c & PU)
		return run(s, n, j, PU);
	return space(s, n, i, 0, 0);
}

/*
 * cl100k_base:  '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+
 *               | ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s
 * Llama-3:      (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 *               | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * Qwen2:        Llama-3's with \p{N} for \p{N}{1,3}.
 * On ASCII, [^\r\n\p{L}\p{N}]? gives nothing back that \p{L}+ could use,
 * so possessive or not makes no difference; \s*[\r\n]+ ends after the last
 * \r or \n of the run, as \s*[\r\n] does.
 */
static size_t cl100k(const unsigned char *s, size_t n, size_t i, size_t max_digits,
                     int dollar)
{
	unsigned c = cls[s[i]];
	if (c & HI)
		return GIVE_UP;
	if (s[i] == '\'') {
		int k = contraction(s, n, i, 1);
		if (k)
			return k < 0 ? GIVE_UP : i + (size_t)k;
	}
	/* [^\r\n\p{L}\p{N}]?\p{L}+, the common case: a word after a space */
	if (c & L)
		return letters(s, n, i + 1, 'a', 'z', 0x20);
	if ((c & X) && !(c & NL) && i + 1 < n) {
		unsigned d = cls[s[i + 1]];
		if (d & HI)
			return GIVE_UP;
		if (d & L)
			return letters(s, n, i + 2, 'a', 'z', 0x20);
	}
	if (c & DG)
		return digits(s, n, i, max_digits);
	/* " ?[^\s\p{L}\p{N}]+[\r\n]*"; the byte after a space was seen above */
	size_t j = i;
	if (s[i] == ' ' && i + 1 < n && (cls[s[i + 1]] & PU))
		j++;
	if (cls[s[j]] & PU) {
		j = run(s, n, j + 1, PU);
		/* \r and \n are single bytes: no need to give up on others */
		while (j != GIVE_UP && j < n && (cls[s[j]] & NL))
			j++;
		return j;
	}
	return space(s, n, i, 1, dollar);
}

/*
 * o200k_base:
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 *   |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 *   |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * On ASCII the two letter classes are [A-Z] and [a-z]; either of the first
 * two alternatives is upper case then lower case, at least one letter.
 */
static size_t o200k(const unsigned char *s, size_t n, size_t i)
{
	unsigned c = cls[s[i]];
	if (c & HI)
		return GIVE_UP;
	size_t p = (c & X) && !(c & NL) ? i + 1 : i;
	size_t u = letters(s, n, p, 'A', 'Z', 0);
	if (u == GIVE_UP)
		return GIVE_UP;
	size_t w = letters(s, n, u, 'a', 'z', 0);
	if (w == GIVE_UP)
		return GIVE_UP;
	if (w > p) {
		int k = w < n && s[w] == '\'' ? contraction(s, n, w, 1) : 0;
		return k < 0 ? GIVE_UP : w + (size_t)k;
	}
	if (c & DG)
		return digits(s, n, i, 3);
	size_t j = i;
	if (s[i] == ' ' && i + 1 < n && (cls[s[i + 1]] & PU))
		j++;
	if (cls[s[j]] & PU) {
		j = run(s, n, j + 1, PU);
		while (j != GIVE_UP && j < n && (s[j] == '\r' || s[j] == '\n' || s[j] == '/'))
			j++;
		return j;
	}
	return space(s, n, i, 1, 0);
}

size_t wn_tok_split_end(int kind, const char *text, size_t n, size_t from)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t end = GIVE_UP;
	switch (kind) {
	case WN_TOK_SPLIT_GPT2:
		end = gpt2(s, n, from);
		break;
	case WN_TOK_SPLIT_CL100K:
		end = cl100k(s, n, from, 3, 1);
		break;
	case WN_TOK_SPLIT_LLAMA3:
		end = cl100k(s, n, from, 3, 0);
		break;
	case WN_TOK_SPLIT_QWEN2:
		end = cl100k(s, n, from, 1, 0);
		break;
	case WN_TOK_SPLIT_O200K:
		end = o200k(s, n, from);
		break;
	}
	return end == GIVE_UP ? 0 : end;
}

/* The patterns, exactly as tiktoken.c and hf.c compile them or as
 * tokenizer.json files spell them. */
static const struct {
	const char *pattern;
	int kind;
} known[] = {
	/* r50k_base, p50k_base (tiktoken) */
	{ "'(?:[sdmt]|ll|ve|re)| ?\\p{L}++| ?\\p{N}++| ?[^\\s\\p{L}\\p{N}]++|\\s++$|"
	  "\\s+(?!\\S)|\\s",
	  WN_TOK_SPLIT_GPT2 },
	/* GPT-2's ByteLevel pre-tokenizer */
	{ "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
	  WN_TOK_SPLIT_GPT2 },
	{ "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+"
	  "| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s",
	  WN_TOK_SPLIT_CL100K },
	/* Llama-3's Split; also cl100k_base in tokenizer.json files */
	{ "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
	  "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
	  WN_TOK_SPLIT_LLAMA3 },
	{ "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
	  "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
	  WN_TOK_SPLIT_QWEN2 },
	/* o200k_base (tiktoken and tokenizer.json) */
	{ "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*"
	  "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	  "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
	  "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	  "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
	  WN_TOK_SPLIT_O200K },
};

int wn_tok_split_kind(const char *pattern)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(pattern, known[i].pattern) == 0)
			return known[i].kind;
	return WN_TOK_SPLIT_REGEX;
}

const char *wn_tok_split_known(size_t i, int *kind)
{
	if (i >= sizeof(known) / sizeof(known[0]))
		return NULL;
	*kind = known[i].kind;
	return known[i].pattern;
}
