/*
 * gen-corpus: write a synthetic corpus of web-like documents, for benchmarks and tests
 * that need more data than can be committed.
 *
 * Text comes from a word-level bigram chain over the SOURCE files, with random restarts
 * so that no long passage repeats (zstd -3 compresses the output about as much as real
 * web text, not 20x), and with the inputs that break naive readers mixed in: quotes,
 * backslashes, tabs, CR/LF inside text, accents, CJK, emoji, combining marks, control
 * characters, and \uXXXX escapes (as Python's json.dumps writes them).
 *
 * The output depends only on the seed, the source and the options, never on the machine.
 * Records do not depend on the size limit, so a smaller -n gives a prefix of a larger
 * one.
 */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TOKEN 48		/* longer source "words" are markup or data, not prose */
#define MAX_SENTENCE 60		/* tokens; a sentence that runs on is closed with a period */
#define MIN_RECORD 400		/* bytes of a JSONL line, about */
#define MAX_RECORD 20000
#define METADATA_BYTES 330	/* a line less its text, about */
#define OVERSHOOT 400		/* the last sentence passes the target by up to this */
_Static_assert(MIN_RECORD > METADATA_BYTES, "a record needs room for text");
#define TEXT_CAP (1u << 17)	/* text buffer: MAX_RECORD + a sentence of worst-case tokens */
#define SINK_CAP (1u << 20)

/* Of 65536, how often a chain step restarts at a random word instead of following the
 * bigram: enough to cap verbatim runs from a small source at a few words. */
#define JUMP_P 12000

enum { T_TERMINAL = 1, T_CSV_QUOTE = 2 };

struct type {
	uint32_t json, ascii, csv;	/* offsets into the pool */
	uint16_t json_len, ascii_len, csv_len;
	uint8_t flags;
	uint32_t succ, nsucc;		/* range in gen.succ */
	uint32_t raw;			/* offset into the pool, NUL-terminated */
	uint16_t raw_len;
};

struct sink {
	int fd;
	const char *name;
	char *buf;
	size_t len;
	uint64_t total;
};

struct text {
	char *p;
	size_t len;
};

struct gen {
	uint64_t s[4];			/* xoshiro256** state */

	char *pool;
	size_t pool_len, pool_cap;
	struct type *types;
	uint32_t ntypes, types_cap;
	uint32_t *slots;		/* intern table: type index + 1, 0 empty */
	uint32_t nslots;

	uint32_t *stream;		/* the source as type ids */
	uint32_t nstream, stream_cap;
	uint32_t *succ;
	uint32_t *starts;		/* types that open a sentence in the source */
	uint32_t nstarts;
	uint32_t *slugs;		/* lowercase ASCII words for URLs */
	uint32_t nslugs;

	/* special tokens */
	uint32_t sp_space, sp_para, sp_line, sp_crlf, sp_tab, sp_quote, sp_period, sp_cjk_stop;
	uint32_t *latin, nlatin, *foreign, nforeign, *cjk, ncjk, *slash, nslash, *ctrl, nctrl;

	/* per record */
	int ascii;			/* JSON non-ASCII as \uXXXX */
	int want_csv;
	int csv_quote;
	unsigned words;
	struct text tj, tc;
};

static const char *progname = "gen-corpus";

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t next64(struct gen *g)
{
	uint64_t *s = g->s, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* Uniform in [0, n), n < 2^32, without a division. */
static inline uint32_t below(struct gen *g, uint32_t n)
{
	return (uint32_t)(((next64(g) >> 32) * n) >> 32);
}

/* True with probability p/65536. */
static inline int chance(struct gen *g, uint32_t p)
{
	return (next64(g) >> 48) < p;
}

static uint32_t pool_add(struct gen *g, const char *s, size_t n)
{
	uint32_t off;

	if (g->pool_len + n + 1 + 16 > g->pool_cap) {
		g->pool_cap = (g->pool_len + n + 1 + 16) * 2;
		g->pool = xrealloc(g->pool, g->pool_cap);
	}
	off = (uint32_t)g->pool_len;
	memcpy(g->pool + off, s, n);
	g->pool[off + n] = 0;
	g->pool_len += n + 1;
	return off;
}

/* Decodes one UTF-8 sequence; returns its length, or 0 if it is not valid UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* JSON string body for raw bytes; non-ASCII as \uXXXX when ascii is set.  Returns the
 * length written to out (room for 12 bytes per input byte), or -1 on invalid UTF-8. */
static long json_escape(const unsigned char *s, size_t n, int ascii, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;

	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t len = utf8_decode(s + i, n - i, &c);

		if (!len)
			return -1;
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n' || c == '\t' || c == '\r' || c == '\b' || c == '\f') {
			*o++ = '\\';
			*o++ = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' :
				c == '\b' ? 'b' : 'f';
		} else if (c < 0x20 || (ascii && c >= 0x80)) {
			uint32_t units[2] = { c, 0 };
			int nu = 1;

			if (c >= 0x10000) {
				units[0] = 0xd800 + ((c - 0x10000) >> 10);
				units[1] = 0xdc00 + ((c - 0x10000) & 0x3ff);
				nu = 2;
			}
			for (int u = 0; u < nu; u++) {
				*o++ = '\\';
				*o++ = 'u';
				for (int shift = 12; shift >= 0; shift -= 4)
					*o++ = hex[(units[u] >> shift) & 15];
			}
		} else {
			memcpy(o, s + i, len);
			o += len;
		}
		i += len;
	}
	return o - out;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
	return h ^ (h >> 29);
}

/* Ends in . ! or ?, maybe followed by closing quotes or brackets. */
static int is_terminal(const char *s, size_t n)
{
	for (;;) {
		if (n > 0 && (s[n - 1] == '"' || s[n - 1] == '\'' || s[n - 1] == ')' ||
			      s[n - 1] == ']'))
			n--;
		else if (n >= 3 && (memcmp(s + n - 3, "”", 3) == 0 ||
				    memcmp(s + n - 3, "’", 3) == 0))
			n -= 3;
		else
			break;
	}
	return n > 0 && (s[n - 1] == '.' || s[n - 1] == '!' || s[n - 1] == '?');
}

static void grow_slots(struct gen *g);

/* Returns the type of a token, adding it if new; UINT32_MAX if it is not valid UTF-8. */
static uint32_t intern(struct gen *g, const char *s, size_t n)
{
	char esc[MAX_TOKEN * 12 + 16];
	uint64_t h = hash_bytes(s, n);
	uint32_t mask, i;
	struct type *t;
	long len;

	if (g->ntypes * 2 >= g->nslots)
		grow_slots(g);
	mask = g->nslots - 1;
	for (i = (uint32_t)h & mask; g->slots[i]; i = (i + 1) & mask) {
		t = &g->types[g->slots[i] - 1];
		if (t->raw_len == n && memcmp(g->pool + t->raw, s, n) == 0)
			return g->slots[i] - 1;
	}
	if (n > MAX_TOKEN * 2 || (len = json_escape((const unsigned char *)s, n, 0, esc)) < 0)
		return UINT32_MAX;
	if (g->ntypes == g->types_cap) {
		g->types_cap = g->types_cap ? g->types_cap * 2 : 4096;
		g->types = xrealloc(g->types, g->types_cap * sizeof(*g->types));
	}
	t = &g->types[g->ntypes];
	memset(t, 0, sizeof(*t));
	t->raw = pool_add(g, s, n);
	t->raw_len = (uint16_t)n;
	t->json = pool_add(g, esc, (size_t)len);
	t->json_len = (uint16_t)len;
	len = json_escape((const unsigned char *)s, n, 1, esc);
	t->ascii = pool_add(g, esc, (size_t)len);
	t->ascii_len = (uint16_t)len;
	len = 0;
	for (size_t k = 0; k < n; k++) {
		if (s[k] == '"')
			esc[len++] = '"';
		esc[len++] = s[k];
		if (s[k] == '"' || s[k] == ',' || s[k] == '\n' || s[k] == '\r')
			t->flags |= T_CSV_QUOTE;
	}
	t->csv = pool_add(g, esc, (size_t)len);
	t->csv_len = (uint16_t)len;
	if (is_terminal(s, n))
		t->flags |= T_TERMINAL;
	g->slots[i] = ++g->ntypes;
	return g->ntypes - 1;
}

static void grow_slots(struct gen *g)
{
	uint32_t old = g->nslots, *slots = g->slots;

	g->nslots = old ? old * 2 : 1u << 14;
	g->slots = calloc(g->nslots, sizeof(*g->slots));
	if (!g->slots)
		die("out of memory");
	for (uint32_t k = 0; k < old; k++) {
		if (slots[k]) {
			struct type *t = &g->types[slots[k] - 1];
			uint32_t i = (uint32_t)hash_bytes(g->pool + t->raw, t->raw_len);

			for (i &= g->nslots - 1; g->slots[i]; i = (i + 1) & (g->nslots - 1))
				;
			g->slots[i] = slots[k];
		}
	}
	free(slots);
}

static void stream_add(struct gen *g, uint32_t type)
{
	if (g->nstream == g->stream_cap) {
		g->stream_cap = g->stream_cap ? g->stream_cap * 2 : 1u << 16;
		g->stream = xrealloc(g->stream, g->stream_cap * sizeof(*g->stream));
	}
	g->stream[g->nstream++] = type;
}

static void load_source(struct gen *g, const char *path)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY);
	size_t cap = 1u << 20, len = 0, start;
	char *buf;

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	buf = xrealloc(NULL, cap);
	for (;;) {
		ssize_t r;

		if (len == cap)
			buf = xrealloc(buf, cap *= 2);
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("%s: %s", path, strerror(errno));
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (fd != 0)
		close(fd);
	for (size_t i = 0; i < len;) {
		int bad = 0;

		while (i < len && (buf[i] == ' ' || (buf[i] >= '\t' && buf[i] <= '\r')))
			i++;
		start = i;
		while (i < len && buf[i] != ' ' && !(buf[i] >= '\t' && buf[i] <= '\r')) {
			bad |= (unsigned char)buf[i] < 0x20 || buf[i] == 0x7f;
			i++;
		}
		if (i > start && !bad && i - start <= MAX_TOKEN) {
			uint32_t t = intern(g, buf + start, i - start);

			if (t != UINT32_MAX)
				stream_add(g, t);
		}
	}
	free(buf);
}

/* Successor lists (with repetition, so picking uniformly follows bigram frequency),
 * sentence openers and URL words, from the source stream. */
static void build_chain(struct gen *g)
{
	uint32_t *fill, n = g->nstream;

	if (n < 100)
		die("the source holds %" PRIu32 " words; give it at least 100", n);
	for (uint32_t i = 0; i + 1 < n; i++)
		g->types[g->stream[i]].nsucc++;
	for (uint32_t t = 0, off = 0; t < g->ntypes; t++) {
		g->types[t].succ = off;
		off += g->types[t].nsucc;
	}
	g->succ = xrealloc(NULL, n * sizeof(*g->succ));
	fill = calloc(g->ntypes, sizeof(*fill));
	g->starts = xrealloc(NULL, n * sizeof(*g->starts));
	g->slugs = xrealloc(NULL, g->ntypes * sizeof(*g->slugs));
	if (!fill)
		die("out of memory");
	for (uint32_t i = 0; i + 1 < n; i++) {
		struct type *t = &g->types[g->stream[i]];

		g->succ[t->succ + fill[g->stream[i]]++] = g->stream[i + 1];
		if (t->flags & T_TERMINAL)
			g->starts[g->nstarts++] = g->stream[i + 1];
	}
	free(fill);
	if (g->nstarts == 0)
		g->starts[g->nstarts++] = g->stream[0];
	for (uint32_t t = 0; t < g->ntypes; t++) {
		struct type *ty = &g->types[t];
		const char *s = g->pool + ty->raw;
		int ok = ty->raw_len >= 3 && ty->raw_len <= 12;

		for (uint32_t k = 0; ok && k < ty->raw_len; k++)
			ok = (s[k] >= 'a' && s[k] <= 'z');
		if (ok)
			g->slugs[g->nslugs++] = t;
	}
	if (g->nslugs == 0)
		g->slugs[g->nslugs++] = intern(g, "page", 4);
}

static uint32_t *intern_list(struct gen *g, const char *const *words, uint32_t *count)
{
	uint32_t n = 0, *ids;

	while (words[n])
		n++;
	ids = xrealloc(NULL, n * sizeof(*ids));
	for (uint32_t i = 0; i < n; i++) {
		ids[i] = intern(g, words[i], strlen(words[i]));
		if (ids[i] == UINT32_MAX)
			die("bad built-in token");
		g->types[ids[i]].flags &= (uint8_t)~T_TERMINAL;
	}
	*count = n;
	return ids;
}

static void add_specials(struct gen *g)
{
	/* Accents, typography, NFD and compatibility forms, a no-break space and an emoji. */
	static const char *const latin[] = {
		"café", "naïve", "résumé", "façade", "déjà", "São Paulo", "Zürich", "Ångström",
		"jalapeño", "Œuvre", "coöperate", "Málaga", "Kraków", "Øresund", "Straße",
		"10 °C", "€20", "£5", "±3", "½", "–", "—", "…", "“quoted”", "it’s", "«non»",
		"e\u0301", "n\u0303o", "ﬁnance", "Ｗｉｄｅ", "1\u00a0000", "naïve\u200bword", "😀",
		"👍🏽", "™", "×", "µs", NULL,
	};
	static const char *const foreign[] = {
		"Москва", "данные", "и", "в", "городе", "Ελληνικά", "και", "το", "κείμενο",
		"עברית", "العربية", "हिन्दी", "ภาษาไทย", "Việt", "tiếng", "Türkçe", "çok",
		"güzel", "język", "Ελλάδα", "письмо", "слово", NULL,
	};
	static const char *const cjk[] = {
		"的", "一", "是", "不", "了", "人", "我", "在", "有", "他", "这", "中", "大",
		"来", "上", "国", "个", "到", "说", "们", "为", "子", "和", "你", "地", "出",
		"道", "也", "时", "年", "数", "据", "集", "東", "京", "日", "本", "語", "の",
		"は", "を", "に", "が", "で", "テ", "キ", "ス", "ト", "한", "국", "어", "，", NULL,
	};
	/* What trips hand-written escapers: a literal backslash-u, an escaped quote in
	 * the text itself, a Windows path, a UNC path. */
	static const char *const slash[] = {
		"C:\\Windows\\System32", "\\\\server\\share", "\\d+\\s*", "\\n", "\\u00e9",
		"\\\"quoted\\\"", "a\\b", "\\", "\\\\", "s/\\//_/g", NULL,
	};
	static const char *const ctrl[] = {
		"\x01", "\x02", "\x07", "\x1b[0m", "\x0b", "\x0c", "\x7f", "\b", NULL,
	};

	g->sp_space = intern(g, " ", 1);
	g->sp_para = intern(g, "\n\n", 2);
	g->sp_line = intern(g, "\n", 1);
	g->sp_crlf = intern(g, "\r\n", 2);
	g->sp_tab = intern(g, "\t", 1);
	g->sp_quote = intern(g, "\"", 1);
	g->sp_period = intern(g, ".", 1);
	g->sp_cjk_stop = intern(g, "。", strlen("。"));
	g->latin = intern_list(g, latin, &g->nlatin);
	g->foreign = intern_list(g, foreign, &g->nforeign);
	g->cjk = intern_list(g, cjk, &g->ncjk);
	g->slash = intern_list(g, slash, &g->nslash);
	g->ctrl = intern_list(g, ctrl, &g->nctrl);
}

/* Most tokens are short: copying a fixed 16 bytes (the pool and the text buffers have
 * that much slack) is a few instructions where a memcpy of n bytes is a call. */
static inline void copy(char *dst, const char *src, size_t n)
{
	if (n <= 16)
		memcpy(dst, src, 16);
	else
		memcpy(dst, src, n);
}

static void gen_release(struct gen *g)
{
	free(g->pool);
	free(g->types);
	free(g->slots);
	free(g->stream);
	free(g->succ);
	free(g->starts);
	free(g->slugs);
	free(g->latin);
	free(g->foreign);
	free(g->cjk);
	free(g->slash);
	free(g->ctrl);
	free(g->tj.p);
	free(g->tc.p);
}

static inline void emit(struct gen *g, uint32_t type)
{
	const struct type *t = &g->types[type];

	if (g->ascii) {
		copy(g->tj.p + g->tj.len, g->pool + t->ascii, t->ascii_len);
		g->tj.len += t->ascii_len;
	} else {
		copy(g->tj.p + g->tj.len, g->pool + t->json, t->json_len);
		g->tj.len += t->json_len;
	}
	if (g->want_csv) {
		copy(g->tc.p + g->tc.len, g->pool + t->csv, t->csv_len);
		g->tc.len += t->csv_len;
		g->csv_quote |= t->flags & T_CSV_QUOTE;
	}
}

/* ASCII that needs no escaping in either format. */
static void emit_plain(struct gen *g, const char *s, size_t n)
{
	memcpy(g->tj.p + g->tj.len, s, n);
	g->tj.len += n;
	if (g->want_csv) {
		memcpy(g->tc.p + g->tc.len, s, n);
		g->tc.len += n;
	}
}

struct style {
	uint32_t latin_p, slash_p, ctrl_p, quote_p;	/* per token or sentence, of 65536 */
};

static void sentence(struct gen *g, const struct style *st)
{
	uint32_t type = g->starts[below(g, g->nstarts)];
	int quote_left = 0;

	for (int n = 0;; n++) {
		const struct type *t;

		if (n > 0)
			emit(g, g->sp_space);
		if (quote_left == 0 && n > 0 && chance(g, st->quote_p)) {
			emit(g, g->sp_quote);
			quote_left = 1 + (int)below(g, 6);
		}
		if (chance(g, st->latin_p)) {
			emit(g, g->latin[below(g, g->nlatin)]);
			emit(g, g->sp_space);
		} else if (st->slash_p && chance(g, st->slash_p)) {
			emit(g, g->slash[below(g, g->nslash)]);
			emit(g, g->sp_space);
		} else if (st->ctrl_p && chance(g, st->ctrl_p)) {
			emit(g, g->ctrl[below(g, g->nctrl)]);
		}
		emit(g, type);
		g->words++;
		if (quote_left && --quote_left == 0)
			emit(g, g->sp_quote);
		t = &g->types[type];
		if (t->flags & T_TERMINAL)
			break;
		if (n == MAX_SENTENCE) {
			emit(g, g->sp_period);
			break;
		}
		if (t->nsucc == 0 || chance(g, JUMP_P))
			type = g->stream[below(g, g->nstream)];
		else
			type = g->succ[t->succ + below(g, t->nsucc)];
	}
	if (quote_left)
		emit(g, g->sp_quote);
}

static void foreign_sentence(struct gen *g)
{
	uint32_t n = 3 + below(g, 12);

	if (chance(g, 32768)) {
		for (uint32_t i = 0; i < n * 3; i++)
			emit(g, g->cjk[below(g, g->ncjk)]);
		emit(g, g->sp_cjk_stop);
	} else {
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				emit(g, g->sp_space);
			emit(g, g->foreign[below(g, g->nforeign)]);
		}
		emit(g, g->sp_period);
	}
	g->words += n;
}

/* A few tab-separated rows, as text extracted from an HTML table reads. */
static void table(struct gen *g, uint32_t line_sep)
{
	uint32_t rows = 2 + below(g, 5), cols = 2 + below(g, 3);
	char num[24];

	for (uint32_t r = 0; r < rows; r++) {
		if (r)
			emit(g, line_sep);
		for (uint32_t c = 0; c < cols; c++) {
			if (c)
				emit(g, g->sp_tab);
			if (c % 2) {
				int len = snprintf(num, sizeof(num), "%" PRIu32 ".%02" PRIu32,
						   below(g, 100000), below(g, 100));
				emit_plain(g, num, (size_t)len);
			} else {
				emit(g, g->stream[below(g, g->nstream)]);
			}
			g->words++;
		}
	}
}

/*
 * JSONL line sizes: log-normal with median 2 KB and sigma 0.9 (mean about 3 KB), clamped
 * to MIN_RECORD and MAX_RECORD - OVERSHOOT.  Drawn through a table of its quantiles at
 * k/256 with integer interpolation, because libm results may differ in the last bit
 * between machines and the output must not.
 */
static const uint16_t size_quantiles[257] = {
	400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 410, 426, 443, 458, 473, 488,
	503, 517, 531, 545, 558, 572, 585, 598, 611, 624, 636, 649, 661, 674, 686, 698,
	710, 722, 734, 746, 758, 770, 782, 794, 806, 818, 829, 841, 853, 865, 877, 888,
	900, 912, 924, 935, 947, 959, 971, 983, 994, 1006, 1018, 1030, 1042, 1054, 1066,
	1078, 1090, 1102, 1114, 1126, 1138, 1151, 1163, 1175, 1188, 1200, 1212, 1225, 1237,
	1250, 1263, 1275, 1288, 1301, 1314, 1327, 1340, 1353, 1366, 1379, 1393, 1406, 1419,
	1433, 1446, 1460, 1474, 1487, 1501, 1515, 1529, 1544, 1558, 1572, 1586, 1601, 1616,
	1630, 1645, 1660, 1675, 1690, 1705, 1721, 1736, 1752, 1767, 1783, 1799, 1815, 1831,
	1847, 1864, 1880, 1897, 1914, 1931, 1948, 1965, 1982, 2000, 2018, 2036, 2054, 2072,
	2090, 2109, 2127, 2146, 2165, 2185, 2204, 2224, 2243, 2263, 2284, 2304, 2325, 2346,
	2367, 2388, 2410, 2432, 2454, 2476, 2499, 2521, 2544, 2568, 2592, 2615, 2640, 2664,
	2689, 2714, 2740, 2766, 2792, 2818, 2845, 2872, 2900, 2928, 2957, 2985, 3015, 3044,
	3074, 3105, 3136, 3168, 3200, 3232, 3265, 3299, 3333, 3368, 3404, 3440, 3476, 3514,
	3552, 3590, 3630, 3670, 3711, 3753, 3795, 3839, 3883, 3929, 3975, 4023, 4071, 4121,
	4171, 4223, 4276, 4331, 4387, 4444, 4503, 4563, 4625, 4689, 4755, 4822, 4892, 4964,
	5038, 5114, 5193, 5275, 5359, 5447, 5538, 5632, 5730, 5832, 5939, 6050, 6166, 6288,
	6415, 6549, 6691, 6840, 6997, 7165, 7343, 7533, 7736, 7955, 8192, 8449, 8730, 9038,
	9381, 9763, 10197, 10693, 11272, 11963, 12811, 13896, 15375, 17619, 19600, 19600,
};

static size_t record_size(struct gen *g)
{
	uint32_t r = (uint32_t)(next64(g) >> 32), i = r >> 24, frac = r & 0xffffff;
	uint32_t lo = size_quantiles[i], hi = size_quantiles[i + 1];

	return lo + (size_t)(((uint64_t)(hi - lo) * frac) >> 24);
}

/* Fills g->tj and g->tc with a document of about `target` bytes; returns its language. */
static const char *document(struct gen *g, size_t target)
{
	uint32_t kind = below(g, 1000), para_left = 1 + below(g, 7), sep = g->sp_para;
	struct style st = { 200, 0, 0, 120 };
	int multilingual = kind < 60, tables = kind >= 60 && kind < 90;

	if (kind >= 90 && kind < 110)
		st.slash_p = 600;
	if (kind >= 110 && kind < 113)
		st.ctrl_p = 300;
	if (kind >= 113 && kind < 123)
		sep = g->sp_crlf;
	else if (kind >= 123 && kind < 173)
		sep = g->sp_line;
	if (multilingual)
		st.latin_p = 1500;
	/* About a quarter of the records escape non-ASCII, as json.dumps does by default. */
	g->ascii = below(g, 4) == 0;
	g->tj.len = g->tc.len = 0;
	g->csv_quote = 0;
	g->words = 0;
	for (int first = 1; g->tj.len < target; first = 0) {
		/* TEXT_CAP leaves room for one more sentence of MAX_SENTENCE worst-case
		 * tokens (about 13 KB as \u escapes); no CSV form is longer than its JSON. */
		assert(g->tj.len < MAX_RECORD && g->tc.len <= g->tj.len);
		if (!first) {
			if (--para_left == 0) {
				emit(g, sep);
				para_left = 1 + below(g, 7);
			} else {
				emit(g, g->sp_space);
			}
		}
		if (multilingual && chance(g, 20000))
			foreign_sentence(g);
		else if (tables && para_left == 1 && chance(g, 16000))
			table(g, sep == g->sp_para ? g->sp_line : sep);
		else
			sentence(g, &st);
	}
	return multilingual ? "mul" : "en";
}

static void sink_flush(struct sink *s)
{
	size_t off = 0;

	while (off < s->len) {
		ssize_t w = write(s->fd, s->buf + off, s->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EPIPE)
			exit(0);
		if (w < 0)
			die("%s: %s", s->name, strerror(errno));
		off += (size_t)w;
	}
	s->len = 0;
}

static void sink_put(struct sink *s, const char *p, size_t n)
{
	s->total += n;
	while (n > 0) {
		size_t room = SINK_CAP - s->len, k = n < room ? n : room;

		memcpy(s->buf + s->len, p, k);
		s->len += k;
		p += k;
		n -= k;
		if (s->len == SINK_CAP)
			sink_flush(s);
	}
}

struct meta {
	char id[64];
	char dump[24];
	char url[160];
	char date[32];
	char score[16];
	char tokens[16];
};

static void slug_word(struct gen *g, char *out, size_t *len, size_t cap)
{
	const struct type *t = &g->types[g->slugs[below(g, g->nslugs)]];

	if (*len + t->raw_len + 1 < cap) {
		memcpy(out + *len, g->pool + t->raw, t->raw_len);
		*len += t->raw_len;
	}
}

static void metadata(struct gen *g, struct meta *m)
{
	static const char *const tlds[] = { "com", "org", "net", "co.uk", "de", "io", "info",
					    "edu", "gov", "com.au", "fr", "ca" };
	uint64_t a = next64(g), b = next64(g);
	uint32_t year = 2013 + below(g, 12), month = 1 + below(g, 12), day = 1 + below(g, 28);
	uint32_t words = 2 + below(g, 6);
	size_t n = 0;
	int lenp;

	snprintf(m->id, sizeof(m->id), "<urn:uuid:%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32
		 "-%04" PRIx32 "-%012" PRIx64 ">", (uint32_t)(a >> 32),
		 (uint32_t)(a >> 16) & 0xffff, (uint32_t)a & 0xfff,
		 0x8000 | ((uint32_t)(b >> 48) & 0x3fff), b & 0xffffffffffffu);
	snprintf(m->dump, sizeof(m->dump), "CC-MAIN-%" PRIu32 "-%02" PRIu32, year,
		 1 + below(g, 52));
	lenp = snprintf(m->url, sizeof(m->url), "https://%s", chance(g, 30000) ? "www." : "");
	n = (size_t)lenp;
	slug_word(g, m->url, &n, sizeof(m->url));
	if (chance(g, 20000))
		slug_word(g, m->url, &n, sizeof(m->url));
	n += (size_t)snprintf(m->url + n, sizeof(m->url) - n, ".%s/%" PRIu32 "/%02" PRIu32 "/",
			      tlds[below(g, sizeof(tlds) / sizeof(tlds[0]))], year, month);
	for (uint32_t i = 0; i < words; i++) {
		if (i && n + 1 < sizeof(m->url))
			m->url[n++] = '-';
		slug_word(g, m->url, &n, sizeof(m->url) - 16);
	}
	snprintf(m->url + n, sizeof(m->url) - n, "-%" PRIu32, below(g, 1000000));
	snprintf(m->date, sizeof(m->date), "%04" PRIu32 "-%02" PRIu32 "-%02" PRIu32
		 "T%02" PRIu32 ":%02" PRIu32 ":%02" PRIu32 "Z", year, month, day,
		 below(g, 24), below(g, 60), below(g, 60));
	snprintf(m->score, sizeof(m->score), "0.%04" PRIu32, 6500 + below(g, 3500));
	snprintf(m->tokens, sizeof(m->tokens), "%u", g->words * 4 / 3 + below(g, 8));
}

static void write_jsonl(struct gen *g, struct sink *s, const struct meta *m, const char *lang)
{
	char tail[512];
	int n = snprintf(tail, sizeof(tail), "\",\"id\":\"%s\",\"metadata\":{\"dump\":\"%s\","
			 "\"url\":\"%s\",\"date\":\"%s\",\"language\":\"%s\","
			 "\"language_score\":%s,\"token_count\":%s}}\n",
			 m->id, m->dump, m->url, m->date, lang, m->score, m->tokens);

	sink_put(s, "{\"text\":\"", 9);
	sink_put(s, g->tj.p, g->tj.len);
	sink_put(s, tail, (size_t)n);
}

static size_t jsonl_size(const struct gen *g, const struct meta *m, const char *lang)
{
	return 9 + g->tj.len + 2 + 8 + strlen(m->id) + 24 + strlen(m->dump) + 9 +
	       strlen(m->url) + 10 + strlen(m->date) + 14 + strlen(lang) + 19 +
	       strlen(m->score) + 15 + strlen(m->tokens) + 3;
}

static const char csv_header[] =
	"id,text,dump,url,date,language,language_score,token_count\n";

static void write_csv(struct gen *g, struct sink *s, const struct meta *m, const char *lang)
{
	char tail[512];
	int n = snprintf(tail, sizeof(tail), "%s,%s,%s,%s,%s,%s,%s\n", g->csv_quote ? "\"" : "",
			 m->dump, m->url, m->date, lang, m->score, m->tokens);

	sink_put(s, m->id, strlen(m->id));
	sink_put(s, g->csv_quote ? ",\"" : ",", g->csv_quote ? 2 : 1);
	sink_put(s, g->tc.p, g->tc.len);
	sink_put(s, tail, (size_t)n);
}

static size_t csv_size(const struct gen *g, const struct meta *m, const char *lang)
{
	return strlen(m->id) + 1 + g->tc.len + (g->csv_quote ? 2 : 0) + 1 + strlen(m->dump) +
	       1 + strlen(m->url) + 1 + strlen(m->date) + 1 + strlen(lang) + 1 +
	       strlen(m->score) + 1 + strlen(m->tokens) + 1;
}

static uint64_t parse_size(const char *arg, const char *what)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || arg[0] == '-')
		die("bad %s: %s", what, arg);
	switch (*end) {
	case 'k': case 'K': mult = 1ull << 10; end++; break;
	case 'm': case 'M': mult = 1ull << 20; end++; break;
	case 'g': case 'G': mult = 1ull << 30; end++; break;
	case 't': case 'T': mult = 1ull << 40; end++; break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' ? (end[1] == 'B' ? 2 : 1) : 1;
	if (*end || v > UINT64_MAX / mult)
		die("bad %s: %s", what, arg);
	return v * mult;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen-corpus [-n SIZE] [-r RECORDS] [-s SEED] [--format jsonl|csv]\n"
		"                  [--csv FILE] SOURCE...\n"
		"\n"
		"Writes synthetic web-like documents to stdout, built from the words of the\n"
		"SOURCE text files ('-' for stdin); the same seed and source give the same bytes.\n"
		"\n"
		"  -n, --size SIZE       stop before stdout passes SIZE bytes (suffix K, M, G:\n"
		"                        powers of 1024; default 64M)\n"
		"  -r, --records N       stop after N records\n"
		"  -s, --seed N          seed of the random generator (default 1)\n"
		"  -f, --format FORMAT   stdout format: jsonl (default) or csv\n"
		"  -c, --csv FILE        also write the same records as CSV to FILE\n"
		"  -h, --help            show this help\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 'n' },
		{ "records", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "csv", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t limit = 64ull << 20, max_records = UINT64_MAX, seed = 1;
	const char *csv_path = NULL;
	int stdout_csv = 0, opt;
	struct sink out = { 1, "stdout", NULL, 0, 0 }, csv = { -1, NULL, NULL, 0, 0 };
	struct sink *jsonl_sink, *csv_sink;
	struct gen g;

	memset(&g, 0, sizeof(g));
	while ((opt = getopt_long(argc, argv, "n:r:s:f:c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': limit = parse_size(optarg, "size"); break;
		case 'r': max_records = parse_size(optarg, "record count"); break;
		case 's': seed = parse_size(optarg, "seed"); break;
		case 'c': csv_path = optarg; break;
		case 'f':
			if (strcmp(optarg, "csv") == 0)
				stdout_csv = 1;
			else if (strcmp(optarg, "jsonl") != 0)
				die("unknown format: %s", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	if (csv_path && stdout_csv)
		die("--csv FILE needs JSONL on stdout");
	signal(SIGPIPE, SIG_IGN);

	for (int i = 0; i < 4; i++)
		g.s[i] = splitmix64(&seed);
	for (int i = optind; i < argc; i++)
		load_source(&g, argv[i]);
	build_chain(&g);
	add_specials(&g);
	g.want_csv = csv_path || stdout_csv;
	g.tj.p = xrealloc(NULL, TEXT_CAP);
	g.tc.p = xrealloc(NULL, TEXT_CAP);

	out.buf = xrealloc(NULL, SINK_CAP);
	if (csv_path) {
		csv.fd = open(csv_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (csv.fd < 0)
			die("%s: %s", csv_path, strerror(errno));
		csv.name = csv_path;
		csv.buf = xrealloc(NULL, SINK_CAP);
	}
	jsonl_sink = stdout_csv ? NULL : &out;
	csv_sink = stdout_csv ? &out : csv_path ? &csv : NULL;
	if (stdout_csv && limit < sizeof(csv_header) - 1)
		max_records = 0;
	else if (csv_sink)
		sink_put(csv_sink, csv_header, sizeof(csv_header) - 1);

	for (uint64_t r = 0; r < max_records; r++) {
		const char *lang;
		struct meta m;

		lang = document(&g, record_size(&g) - METADATA_BYTES);
		metadata(&g, &m);
		if (stdout_csv ? out.total + csv_size(&g, &m, lang) > limit :
		    out.total + jsonl_size(&g, &m, lang) > limit)
			break;
		if (jsonl_sink)
			write_jsonl(&g, jsonl_sink, &m, lang);
		if (csv_sink)
			write_csv(&g, csv_sink, &m, lang);
	}
	sink_flush(&out);
	if (csv_path) {
		sink_flush(&csv);
		if (close(csv.fd) != 0)
			die("%s: %s", csv_path, strerror(errno));
	}
	free(out.buf);
	free(csv.buf);
	gen_release(&g);
	return 0;
}
