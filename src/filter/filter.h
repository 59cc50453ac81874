/*
 * filter.h - the text analysis behind the filter stage: Unicode classes,
 * word splitting, the heuristic rule sets (Gopher quality and repetition,
 * C4, FineWeb), record predicates, and raw record edits.  Not installed;
 * the functions are exported (wn_fl_ prefix) only so the unit tests can
 * reach them.
 *
 * Strings are UTF-8 that the JSON scanner has validated.  Lengths that the
 * rules compare ("characters", "length of a word") count code points, as
 * Python's len() does in the reference implementation (datatrove); line,
 * whitespace and case rules follow Python's str methods, so that the same
 * text gives the same numbers.
 */
#ifndef WN_FILTER_FILTER_H
#define WN_FILTER_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/buf.h"
#include "winnow/status.h"

/* ---- Unicode classes (unicode.c) ---------------------------------------- */

enum {
	WN_FL_WS = 1u << 0,       /* Python str.isspace() */
	WN_FL_ALPHA = 1u << 1,    /* letters and marks: "a letter" in the split rules */
	WN_FL_ISALPHA = 1u << 2,  /* L*: Python str.isalpha() */
	WN_FL_LOWER = 1u << 3,    /* Ll, and letters without case (Lo, Lm) */
	WN_FL_UPPER = 1u << 4,    /* Lu, Lt, and letters without case */
	WN_FL_DIGIT = 1u << 5,    /* 0-9 */
	WN_FL_PUNCT = 1u << 6,    /* P*: punctuation (a token made only of it is punctuation) */
	WN_FL_SYMBOL = 1u << 7,   /* in datatrove's PUNCTUATION_SET: not a word character */
	WN_FL_PREFIX = 1u << 8,   /* split off the start of a chunk */
	WN_FL_SUFFIX = 1u << 9,   /* split off the end of a chunk */
	WN_FL_QUOTE = 1u << 10,   /* quotes and brackets, for the '.' rules */
	WN_FL_ICON = 1u << 11,    /* So: split off wherever it is */
	WN_FL_STERM = 1u << 12,   /* ends a sentence (Unicode Sentence_Terminal) */
	WN_FL_CURRENCY = 1u << 13,/* Sc */
	WN_FL_DOTAFTER = 1u << 14,/* a '.' after this character is split off */
	WN_FL_HOST = 1u << 15,    /* may appear in a host name of a URL */
};

/* The classes of a code point. */
unsigned wn_fl_class_slow(uint32_t cp);
extern const uint32_t wn_fl_ascii_class[128];
static inline unsigned wn_fl_class(uint32_t cp)
{
	return cp < 128 ? wn_fl_ascii_class[cp] : wn_fl_class_slow(cp);
}

/* Decode the code point at p (p < e); *len receives its byte length.
 * Invalid bytes (never in validated input) decode as U+FFFD, one byte. */
static inline uint32_t wn_fl_decode(const unsigned char *p, const unsigned char *e, int *len)
{
	uint32_t c = p[0];
	if (c < 0x80) {
		*len = 1;
		return c;
	}
	if (c >= 0xC2 && c < 0xE0 && e - p >= 2) {
		*len = 2;
		return ((c & 0x1F) << 6) | (p[1] & 0x3F);
	}
	if (c >= 0xE0 && c < 0xF0 && e - p >= 3) {
		*len = 3;
		return ((c & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
	}
	if (c >= 0xF0 && c < 0xF5 && e - p >= 4) {
		*len = 4;
		return ((c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
		       ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
	}
	*len = 1;
	return 0xFFFD;
}

/* The code point that ends just before p (p > s), and its length. */
static inline uint32_t wn_fl_decode_back(const unsigned char *s, const unsigned char *p,
                                         int *len)
{
	const unsigned char *q = p - 1;
	while (q > s && p - q < 4 && (*q & 0xC0) == 0x80)
		q--;
	uint32_t c = wn_fl_decode(q, p, len);
	if (q + *len != p) { /* not a whole character: step back one byte */
		*len = 1;
		return 0xFFFD;
	}
	return c;
}

/* Bits set in x; without -mpopcnt the builtin is a library call. */
static inline unsigned wn_fl_popcount(uint64_t x)
{
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

/* Code points in p[0..n). */
size_t wn_fl_count_cps(const char *p, size_t n);

/* Python's str.strip() / lstrip() / rstrip() on a span: move *s / *e past
 * white space (WN_FL_WS). */
void wn_fl_lstrip(const char *p, size_t *s, size_t e);
void wn_fl_rstrip(const char *p, size_t s, size_t *e);

/* Python's str.splitlines(): line boundaries are \n, \r, \r\n, \v, \f,
 * \x1c, \x1d, \x1e, U+0085, U+2028, U+2029; no empty last line after a
 * final boundary, and no line at all in an empty text.  Call with *pos = 0;
 * returns 1 with the next line in [*ls, *le), 0 at the end. */
int wn_fl_splitlines(const char *p, size_t n, size_t *pos, size_t *ls, size_t *le);

/* ---- words (words.c) ------------------------------------------------------- */

enum {
	WN_FL_W_NONSYM = 1u << 0, /* has a character that is not WN_FL_SYMBOL */
	WN_FL_W_ALPHA = 1u << 1,  /* has a WN_FL_ISALPHA character */
	WN_FL_W_PUNCT = 1u << 2,  /* every character is WN_FL_PUNCT */
	WN_FL_W_STERM = 1u << 3,  /* exactly one WN_FL_STERM character */
	WN_FL_W_GAP = 1u << 4,    /* white space other than one ' ' comes before it */
};

struct wn_fl_word {
	uint32_t off, len; /* bytes in the text */
	uint32_t cps;      /* code points */
	uint32_t flags;    /* WN_FL_W_* */
};

struct wn_fl_chunk;

struct wn_fl_words {
	struct wn_fl_word *v;
	size_t n, cap;
	uint32_t *stack; /* suffixes waiting while a chunk is split */
	size_t nstack, stackcap;
	struct wn_fl_chunk *cache; /* short chunks already split */
};

void wn_fl_words_init(struct wn_fl_words *w);
void wn_fl_words_release(struct wn_fl_words *w);

/*
 * Split text into words the way spaCy's rule-based English tokenizer does
 * (datatrove's split_into_words), appending them to w: white space
 * separates chunks; punctuation, quotes, brackets and symbols at either end
 * of a chunk become words of their own; some infixes (hyphens between
 * letters, ...) split a chunk; English contractions and a list of
 * abbreviations are special cases; URLs stay whole.  docs/winnow-filter.md
 * has the rules and where they differ from spaCy.  Offsets are relative to
 * text; w is not reset.
 */
int wn_fl_split_words(const char *text, size_t n, struct wn_fl_words *w);

/* The number of words that are not all symbols (the "words" of the plain
 * --min-words and Gopher rules), without keeping them. */
int wn_fl_count_words(const char *text, size_t n, uint64_t *count, struct wn_fl_words *scratch);

/* The sentences spaCy's rule-based sentencizer finds in these words: a new
 * sentence starts at the first word that is not punctuation after a
 * sentence-ending mark. */
size_t wn_fl_count_sentences(const struct wn_fl_word *v, size_t n);

/* ---- measurements and verdicts ----------------------------------------------- */

enum wn_fl_kind {
	WN_FL_NONE = 0, /* not measurable here (no words, empty text): the rule passes */
	WN_FL_INT,
	WN_FL_REAL,
	WN_FL_BOOL,
	WN_FL_STR,
};

struct wn_fl_measure {
	const char *rule; /* its name, also the reject reason */
	enum wn_fl_kind kind;
	double value;
	const char *str;  /* WN_FL_STR */
	int pass;
};

#define WN_FL_MAX_MEASURES 80

struct wn_fl_report {
	int all;            /* measure every rule, do not stop at the first failure */
	size_t n;
	struct wn_fl_measure m[WN_FL_MAX_MEASURES];
	const char *failed; /* the first rule that failed, or NULL */
};

void wn_fl_report_reset(struct wn_fl_report *r, int all);
/* Record a rule's measurement; returns whether checking should go on (the
 * rule passed, or every rule is measured). */
int wn_fl_note(struct wn_fl_report *r, const char *rule, enum wn_fl_kind kind, double value,
               int pass);
int wn_fl_note_str(struct wn_fl_report *r, const char *rule, const char *value, int pass);
/* Whether every rule noted from index `from` on passed. */
int wn_fl_report_passed(const struct wn_fl_report *r, size_t from);

/* ---- thresholds --------------------------------------------------------------- */

/* A threshold that may be switched off ("off" on the command line). */
struct wn_fl_limit {
	int on;
	double v;
};

#define WN_FL_MAX_STOP_WORDS 64

struct wn_fl_gopher_quality {
	struct wn_fl_limit min_words, max_words;
	struct wn_fl_limit min_mean_len, max_mean_len;
	struct wn_fl_limit max_symbol_ratio;
	struct wn_fl_limit max_bullet_lines, max_ellipsis_lines;
	struct wn_fl_limit min_alpha_words;
	struct wn_fl_limit min_stop_words;
	const char *stop[WN_FL_MAX_STOP_WORDS];
	size_t stop_len[WN_FL_MAX_STOP_WORDS];
	size_t nstop;
};

struct wn_fl_gopher_repetition {
	struct wn_fl_limit dup_para_frac, dup_para_chars;
	struct wn_fl_limit dup_line_frac, dup_line_chars;
	struct wn_fl_limit top_ngram[3]; /* n = 2, 3, 4 */
	struct wn_fl_limit dup_ngram[6]; /* n = 5 .. 10 */
};

struct wn_fl_c4 {
	struct wn_fl_limit min_sentences;
	struct wn_fl_limit min_words_per_line;
	struct wn_fl_limit max_word_length;
	int terminal_punct; /* drop lines not ending in . ? ! " ' */
	int citations;      /* remove [1], [edit], [citation needed] */
	int lorem_ipsum, javascript, curly_bracket, policy;
};

struct wn_fl_fineweb {
	struct wn_fl_limit min_punct_lines;
	int punct_exclude_zero;
	struct wn_fl_limit max_short_lines;
	double short_line_length;
	struct wn_fl_limit max_dup_line_chars;
	struct wn_fl_limit max_newline_ratio;
};

/* The published defaults. */
void wn_fl_gopher_quality_defaults(struct wn_fl_gopher_quality *p);
void wn_fl_gopher_repetition_defaults(struct wn_fl_gopher_repetition *p);
void wn_fl_c4_defaults(struct wn_fl_c4 *p);
void wn_fl_fineweb_defaults(struct wn_fl_fineweb *p);

/* ---- per-thread scratch ----------------------------------------------------- */

/* Open-addressing table of 64-bit keys (for lines and paragraphs), emptied
 * in O(1) between uses: a slot is in use when its stamp is the table's. */
struct wn_fl_slot {
	uint64_t key;
	uint32_t first; /* the item that made the entry */
	uint32_t stamp;
};

struct wn_fl_table {
	struct wn_fl_slot *slot;
	size_t cap;    /* allocated, a power of two */
	size_t mask;   /* the slots in use, a power of two, less one */
	uint32_t stamp;
};

/* Empty the table, with room for n entries. */
int wn_fl_table_reserve(struct wn_fl_table *t, size_t n);
/* The slot holding an item equal to `item` (same key, and eq(ctx, its
 * first item, item)), or the free slot where it would go. */
struct wn_fl_slot *wn_fl_table_find(struct wn_fl_table *t, uint64_t key,
                                    int (*eq)(const void *ctx, uint32_t a, uint32_t b),
                                    const void *ctx, uint32_t item);

/*
 * Open-addressing table of 128-bit keys (a, b) with a 32-bit value each,
 * for the n-grams of Gopher repetition.  Linear probing, never more than
 * half full; emptied in O(1) between uses (a document, a value of n): a
 * slot is in use when its stamp is the table's, and a new stamp frees them
 * all.  An exact key (word numbers, bytes) is found by its bits alone; a
 * key that is a hash is checked by the caller, which walks on with
 * wn_fl_keys_next() past slots whose items differ.
 */
struct wn_fl_kslot {
	uint64_t a, b;
	uint32_t val;
	uint32_t stamp;
};

struct wn_fl_keys {
	struct wn_fl_kslot *slot;
	size_t cap;     /* allocated, a power of two */
	size_t mask;    /* the slots in use, a power of two, less one */
	unsigned shift; /* 64 - log2(slots in use): the hash bits that index */
	uint32_t stamp;
};

/* Empty the table, with room for n keys (WN_ENOMEM when it cannot grow). */
int wn_fl_keys_reserve(struct wn_fl_keys *t, size_t n);
void wn_fl_keys_release(struct wn_fl_keys *t);

static inline size_t wn_fl_keys_home(const struct wn_fl_keys *t, uint64_t a, uint64_t b)
{
	/* multiplicative hashing: the top bits of the product depend on
	 * every bit of the key */
	uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xD6E8FEB86659FD93ull;
	return (size_t)(h >> t->shift);
}

static inline int wn_fl_keys_used(const struct wn_fl_keys *t, const struct wn_fl_kslot *s)
{
	return s->stamp == t->stamp;
}

/* The first slot from index i on that holds (a, b) or is free. */
static inline struct wn_fl_kslot *wn_fl_keys_probe(const struct wn_fl_keys *t, size_t i,
                                                   uint64_t a, uint64_t b)
{
	struct wn_fl_kslot *s = &t->slot[i];
	/* one branch, taken only on a collision: whether the slot is free
	 * or holds the key is not a branch of its own */
	while ((s->stamp == t->stamp) & ((s->a != a) | (s->b != b))) {
		i = (i + 1) & t->mask;
		s = &t->slot[i];
	}
	return s;
}

/* The slot holding (a, b), or the free slot where it would go. */
static inline struct wn_fl_kslot *wn_fl_keys_find(const struct wn_fl_keys *t, uint64_t a,
                                                  uint64_t b)
{
	return wn_fl_keys_probe(t, wn_fl_keys_home(t, a, b), a, b);
}

/* After s, the next slot holding (a, b), or the free slot where it would go. */
static inline struct wn_fl_kslot *wn_fl_keys_next(const struct wn_fl_keys *t,
                                                  const struct wn_fl_kslot *s, uint64_t a,
                                                  uint64_t b)
{
	return wn_fl_keys_probe(t, ((size_t)(s - t->slot) + 1) & t->mask, a, b);
}

/* Put (a, b) with value v into slot s (from the calls above). */
static inline void wn_fl_keys_set(const struct wn_fl_keys *t, struct wn_fl_kslot *s, uint64_t a,
                                  uint64_t b, uint32_t v)
{
	s->a = a;
	s->b = b;
	s->val = v;
	s->stamp = t->stamp;
}

/*
 * The value of the exact key (a, b); when absent, it is added with value
 * v.  *added receives whether it was.  No branch depends on which: the
 * slot is written either way.
 */
static inline uint32_t wn_fl_keys_add(struct wn_fl_keys *t, uint64_t a, uint64_t b, uint32_t v,
                                      int *added)
{
	struct wn_fl_kslot *s = wn_fl_keys_find(t, a, b);
	int used = s->stamp == t->stamp;
	uint32_t val = used ? s->val : v;
	wn_fl_keys_set(t, s, a, b, val);
	*added = !used;
	return val;
}

struct wn_fl_hit {
	size_t pos;
	unsigned kinds;
};

struct wn_fl_scratch {
	struct wn_fl_words words;     /* of the whole text */
	struct wn_fl_words line_words;/* of one C4 line */
	struct wn_fl_table table;
	/* Gopher repetition (gopher.c): per word, a hash of it; per
	 * position, the group of the n-gram from there (equal n-grams, equal
	 * groups), and lists of positions; per group, its count and first
	 * position; prefix sums of code points and bytes; the words' bytes
	 * end to end; the counters of a filter */
	struct wn_fl_keys keys;
	uint64_t *hw;
	uint32_t *grp, *grp2, *at, *at2;
	uint32_t *gcnt, *gfirst, *bk;
	uint64_t *cps, *blen;
	size_t ncap;
	char *flat;
	size_t flatcap;
	unsigned char *seen;
	size_t seencap;
	struct wn_fl_hit *hits; /* C4's phrases in the text */
	size_t nhits, hitcap;
	struct wn_fl_span *spans;        /* lines or paragraphs */
	size_t nspans, spancap;
	struct wn_buf text;              /* the C4 rewrite */
	size_t c4_words;                 /* and the number of its words */
	struct wn_buf line;              /* one C4 line, citations removed */
	struct wn_buf tmp;
};

void wn_fl_scratch_init(struct wn_fl_scratch *s);
void wn_fl_scratch_release(struct wn_fl_scratch *s);

struct wn_fl_span {
	uint32_t s, e;
};

/* Append [a, b) to s->spans. */
int wn_fl_spans_add(struct wn_fl_scratch *s, size_t a, size_t b);
int wn_fl_spans_reserve(struct wn_fl_scratch *s, size_t n);

/*
 * Duplicates among the spans of text: every occurrence after the first of
 * an equal span counts, with its code points.  Returns < 0 only when out
 * of memory.
 */
int wn_fl_find_duplicates(struct wn_fl_scratch *s, const char *text,
                          const struct wn_fl_span *spans, size_t n, uint64_t *dups,
                          uint64_t *dup_chars);

/* ---- rule sets (gopher.c, c4.c, fineweb.c) -------------------------------------- */

/*
 * Each returns 1 when the text passes, 0 when it fails (the report names
 * the rule), < 0 on error (out of memory).  The words of the text are
 * those in s->words, split by the caller (wn_fl_split_words).
 */
int wn_fl_gopher_quality(const struct wn_fl_gopher_quality *p, const char *text, size_t n,
                         struct wn_fl_scratch *s, struct wn_fl_report *r);
int wn_fl_gopher_repetition(const struct wn_fl_gopher_repetition *p, const char *text,
                            size_t n, struct wn_fl_scratch *s, struct wn_fl_report *r);
/* FineWeb needs only the number of words of its text, nwords. */
int wn_fl_fineweb(const struct wn_fl_fineweb *p, const char *text, size_t n, size_t nwords,
                  struct wn_fl_scratch *s, struct wn_fl_report *r);
/*
 * C4 works on lines and leaves the kept lines, joined by "\n" and
 * stripped, in s->text (even when the document fails, for the annotations
 * of the rules after it), and the number of their words in s->c4_words:
 * words never cross a line, so they are the words of the text's kept
 * lines (split again only where citations went).
 */
int wn_fl_c4(const struct wn_fl_c4 *p, const char *text, size_t n, struct wn_fl_scratch *s,
             struct wn_fl_report *r);

/* ---- editing a record's raw JSON (edit.c) --------------------------------------- */

/*
 * Set the member at a path of object keys (path[0] top level, ...) of the
 * JSON object raw[0..len) to the JSON value text value[0..vlen), keeping
 * every other byte: an existing value (the last, if a key is repeated) is
 * replaced in place; a missing member is appended to its object, missing
 * objects on the way are created (a null on the way is replaced by one).
 * WN_EDATA when a member on the way is not an object (*bad receives its
 * depth).
 */
int wn_fl_set_member(struct wn_buf *raw, const char *const *path, size_t depth,
                     const char *value, size_t vlen, size_t *bad);

#endif

/* ---- one record (eval.c) --------------------------------------------------------- */

struct wn_record;

/* A dotted path into a record: "metadata.lang" -> {"metadata", "lang"}. */
struct wn_fl_path {
	char *buf;   /* the segments, NUL-separated */
	const char *seg[8];
	size_t n;
	const char *text; /* as given */
};

/* Split a dotted path; WN_EUSAGE when empty, with an empty segment, or
 * deeper than 8. */
int wn_fl_path_parse(struct wn_fl_path *p, const char *text, size_t len);
void wn_fl_path_release(struct wn_fl_path *p);

#define WN_FL_MAX_PATTERNS 16

struct wn_fl_field_rule {
	struct wn_fl_path path;
	const char *value;
	size_t vlen;
};

/* Everything the stage's options asked for, prepared once and then read
 * by every thread. */
struct wn_fl_config {
	const char *text_field, *id_field;
	int annotate;   /* keep every record, write metadata.filter */
	int rejects;    /* dropped records get metadata.reject_reason */

	/* sampling */
	int sample;
	double rate;
	uint64_t seed;

	/* plain rules */
	struct wn_fl_limit min_chars, max_chars, min_words, max_words, min_lines, max_lines;
	struct wn_fl_field_rule field[WN_FL_MAX_PATTERNS], field_not[WN_FL_MAX_PATTERNS];
	size_t nfield, nfield_not;
	struct wn_fl_path has_field[WN_FL_MAX_PATTERNS];
	size_t nhas_field;
	void *regex[WN_FL_MAX_PATTERNS], *exclude[WN_FL_MAX_PATTERNS]; /* pcre2_code */
	size_t nregex, nexclude;
	struct wn_fl_path regex_field;
	int has_regex_field;

	/* language */
	int lang;
	const char *langs[32];
	size_t nlangs;
	double lang_threshold;

	/* rule sets, applied in FineWeb's order: repetition, quality, C4, FineWeb */
	int gopher_repetition, gopher_quality, c4, fineweb;
	struct wn_fl_gopher_repetition gr;
	struct wn_fl_gopher_quality gq;
	struct wn_fl_c4 c4p;
	struct wn_fl_fineweb fw;
};

/* What one thread needs to judge records. */
struct wn_fl_worker {
	struct wn_fl_scratch s;
	struct wn_fl_report report;
	void *match;              /* pcre2_match_data */
	struct wn_buf value;      /* a decoded field value */
	struct wn_buf json;       /* JSON text being spliced in */
	struct wn_buf text;       /* the text, when it must outlive edits */
};

int wn_fl_worker_init(struct wn_fl_worker *w);
void wn_fl_worker_release(struct wn_fl_worker *w);

/*
 * Judge one record and make the changes that go with the verdict: the C4
 * text, metadata.language and metadata.language_score, metadata.filter
 * (--annotate); on a dropped record, metadata.reject_reason when
 * cfg->rejects.  *reason receives NULL (keep) or the failing rule's name (a
 * static string).  Returns WN_OK, or < 0 with err filled (naming the
 * record's file and line).
 */
int wn_fl_eval(const struct wn_fl_config *cfg, struct wn_fl_worker *w, struct wn_record *rec,
               const char **reason, struct wn_error *err);
