/*
 * filter.c - the filter stage: keeps the records that pass every rule
 * given (length and word bounds, field predicates, regular expressions,
 * sampling, language, and the Gopher, C4 and FineWeb rule sets), writes the
 * others to a rejects file with the reason, or with --annotate keeps all of
 * them and writes every rule's measurement into their metadata.
 *
 * The rules live in src/filter/; this file turns options into a
 * configuration and runs it over batches of records on --threads threads,
 * passing records on in input order, so the output never depends on the
 * thread count.  A record kept unchanged keeps its bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>

#include "core/pool.h"
#include "core/registry.h"
#include "filter/filter.h"
#include "filter/lang.h"
#include "winnow/io.h"

/* ---- options -------------------------------------------------------------------------------- */

struct filter_opts {
	const char *min_chars, *max_chars, *min_words, *max_words, *min_lines, *max_lines;
	struct wn_opt_list field, field_not, has_field, regex, exclude_regex;
	const char *regex_field;
	const char *sample;
	uint64_t seed;
	const char *lang;
	double lang_threshold;
	int gopher_quality, gopher_repetition, c4, fineweb;
	/* Gopher quality */
	const char *gq_min_words, *gq_max_words, *gq_min_mean, *gq_max_mean, *gq_symbol,
		*gq_bullets, *gq_ellipsis, *gq_alpha, *gq_min_stop, *gq_stop_words;
	/* Gopher repetition */
	const char *gr_para_frac, *gr_para_chars, *gr_line_frac, *gr_line_chars;
	const char *gr_top[3], *gr_dup[6];
	/* C4 */
	const char *c4_min_sentences, *c4_min_words, *c4_max_word;
	int c4_no_punct, c4_keep_citations, c4_no_lorem, c4_no_js, c4_no_curly, c4_no_policy;
	/* FineWeb */
	const char *fw_punct, *fw_short, *fw_short_len, *fw_dup, *fw_newline;
	int fw_exclude_zero;
	/* output */
	const char *rejects;
	int annotate;
};

#define OPT(field) offsetof(struct filter_opts, field)
#define LIMIT(name, field, arg, help) { name, 0, WN_OPT_STRING, OPT(field), arg, NULL, NULL, help, 0 }

static const struct wn_option filter_options[] = {
	LIMIT("min-chars", min_chars, "N", "keep texts of at least N characters"),
	LIMIT("max-chars", max_chars, "N", "keep texts of at most N characters"),
	LIMIT("min-words", min_words, "N", "keep texts of at least N words"),
	LIMIT("max-words", max_words, "N", "keep texts of at most N words"),
	LIMIT("min-lines", min_lines, "N", "keep texts of at least N lines"),
	LIMIT("max-lines", max_lines, "N", "keep texts of at most N lines"),
	{ "field", 0, WN_OPT_LIST, OPT(field), "NAME=VALUE", NULL, NULL,
	  "keep records whose field (a dotted path: metadata.lang) equals VALUE", 0 },
	{ "field-not", 0, WN_OPT_LIST, OPT(field_not), "NAME=VALUE", NULL, NULL,
	  "keep records whose field is absent or differs from VALUE", 0 },
	{ "has-field", 0, WN_OPT_LIST, OPT(has_field), "NAME", NULL, NULL,
	  "keep records that have the field (any value, null too)", 0 },
	{ "regex", 0, WN_OPT_LIST, OPT(regex), "RE", NULL, NULL,
	  "keep texts that match RE (PCRE2, Unicode)", 0 },
	{ "exclude-regex", 0, WN_OPT_LIST, OPT(exclude_regex), "RE", NULL, NULL,
	  "drop texts that match RE", 0 },
	{ "regex-field", 0, WN_OPT_STRING, OPT(regex_field), "NAME", NULL, NULL,
	  "match --regex and --exclude-regex against this field instead of the text", 0 },
	{ "sample", 0, WN_OPT_STRING, OPT(sample), "RATE", NULL, NULL,
	  "keep this fraction (0 to 1) of records, chosen by a hash of the id (else the text)",
	  0 },
	{ "seed", 0, WN_OPT_UINT, OPT(seed), "N", "0", NULL, "seed of the --sample hash", 0 },
	{ "lang", 0, WN_OPT_STRING, OPT(lang), "CODE,...", NULL, NULL,
	  "keep texts in these languages (CLD2; ISO 639-1 codes such as en,fr); writes "
	  "metadata.language and metadata.language_score", 0 },
	{ "lang-threshold", 0, WN_OPT_DOUBLE, OPT(lang_threshold), "SCORE", "0.65", NULL,
	  "the least share of the text (0 to 1) in a wanted language, exclusive", 0 },
	{ "gopher-quality", 0, WN_OPT_FLAG, OPT(gopher_quality), NULL, NULL, NULL,
	  "Gopher's quality rules, with the thresholds below", 0 },
	LIMIT("gopher-min-words", gq_min_words, "N", "[default: 50]"),
	LIMIT("gopher-max-words", gq_max_words, "N", "[default: 100000]"),
	LIMIT("gopher-min-mean-word-length", gq_min_mean, "X", "[default: 3]"),
	LIMIT("gopher-max-mean-word-length", gq_max_mean, "X", "[default: 10]"),
	LIMIT("gopher-max-symbol-ratio", gq_symbol, "X",
	      "'#', and '...', per word [default: 0.1]"),
	LIMIT("gopher-max-bullet-lines", gq_bullets, "X",
	      "fraction of lines starting with a bullet [default: 0.9]"),
	LIMIT("gopher-max-ellipsis-lines", gq_ellipsis, "X",
	      "fraction of lines ending with an ellipsis [default: 0.3]"),
	LIMIT("gopher-min-alpha-words", gq_alpha, "X",
	      "fraction of words with a letter [default: 0.8]"),
	LIMIT("gopher-min-stop-words", gq_min_stop, "N", "distinct stop words [default: 2]"),
	{ "gopher-stop-words", 0, WN_OPT_STRING, OPT(gq_stop_words), "WORD,...", NULL, NULL,
	  "[default: the,be,to,of,and,that,have,with]", 0 },
	{ "gopher-repetition", 0, WN_OPT_FLAG, OPT(gopher_repetition), NULL, NULL, NULL,
	  "Gopher's repetition rules, with the thresholds below", 0 },
	LIMIT("gopher-max-dup-para-frac", gr_para_frac, "X",
	      "duplicate paragraphs per paragraph [default: 0.3]"),
	LIMIT("gopher-max-dup-para-chars", gr_para_chars, "X",
	      "their characters per character [default: 0.2]"),
	LIMIT("gopher-max-dup-line-frac", gr_line_frac, "X",
	      "duplicate lines per line [default: 0.3]"),
	LIMIT("gopher-max-dup-line-chars", gr_line_chars, "X",
	      "their characters per character [default: 0.2]"),
	LIMIT("gopher-max-top-2gram", gr_top[0], "X", "[default: 0.20]"),
	LIMIT("gopher-max-top-3gram", gr_top[1], "X", "[default: 0.18]"),
	LIMIT("gopher-max-top-4gram", gr_top[2], "X", "[default: 0.16]"),
	LIMIT("gopher-max-dup-5gram", gr_dup[0], "X", "[default: 0.15]"),
	LIMIT("gopher-max-dup-6gram", gr_dup[1], "X", "[default: 0.14]"),
	LIMIT("gopher-max-dup-7gram", gr_dup[2], "X", "[default: 0.13]"),
	LIMIT("gopher-max-dup-8gram", gr_dup[3], "X", "[default: 0.12]"),
	LIMIT("gopher-max-dup-9gram", gr_dup[4], "X", "[default: 0.11]"),
	LIMIT("gopher-max-dup-10gram", gr_dup[5], "X", "[default: 0.10]"),
	{ "c4", 0, WN_OPT_FLAG, OPT(c4), NULL, NULL, NULL,
	  "C4's rules; the text becomes the lines they keep", 0 },
	LIMIT("c4-min-sentences", c4_min_sentences, "N", "[default: 5]"),
	LIMIT("c4-min-words-per-line", c4_min_words, "N", "[default: 3]"),
	LIMIT("c4-max-word-length", c4_max_word, "N", "[default: 1000]"),
	{ "c4-no-terminal-punct", 0, WN_OPT_FLAG, OPT(c4_no_punct), NULL, NULL, NULL,
	  "keep lines that do not end in . ? ! \" ' (as FineWeb does)", 0 },
	{ "c4-keep-citations", 0, WN_OPT_FLAG, OPT(c4_keep_citations), NULL, NULL, NULL,
	  "leave [1], [edit], [citation needed] in", 0 },
	{ "c4-no-lorem-ipsum", 0, WN_OPT_FLAG, OPT(c4_no_lorem), NULL, NULL, NULL,
	  "do not drop documents with \"lorem ipsum\"", 0 },
	{ "c4-no-javascript", 0, WN_OPT_FLAG, OPT(c4_no_js), NULL, NULL, NULL,
	  "keep lines with \"javascript\"", 0 },
	{ "c4-no-curly-bracket", 0, WN_OPT_FLAG, OPT(c4_no_curly), NULL, NULL, NULL,
	  "do not drop documents with '{'", 0 },
	{ "c4-no-policy", 0, WN_OPT_FLAG, OPT(c4_no_policy), NULL, NULL, NULL,
	  "keep lines with cookie and terms-of-use phrases", 0 },
	{ "fineweb", 0, WN_OPT_FLAG, OPT(fineweb), NULL, NULL, NULL,
	  "FineWeb's quality rules, with the thresholds below", 0 },
	LIMIT("fineweb-min-punct-lines", fw_punct, "X",
	      "fraction of lines ending in terminal punctuation [default: 0.12]"),
	{ "fineweb-punct-exclude-zero", 0, WN_OPT_FLAG, OPT(fw_exclude_zero), NULL, NULL, NULL,
	  "do not drop documents where no line ends in punctuation", 0 },
	LIMIT("fineweb-max-short-lines", fw_short, "X",
	      "fraction of short lines [default: 0.67]"),
	LIMIT("fineweb-short-line-length", fw_short_len, "N",
	      "a short line has at most N characters [default: 30]"),
	LIMIT("fineweb-max-dup-line-chars", fw_dup, "X",
	      "characters in duplicate lines per character [default: 0.01]"),
	LIMIT("fineweb-max-newline-ratio", fw_newline, "X",
	      "newlines per word [default: 0.3]"),
	{ "rejects", 0, WN_OPT_STRING, OPT(rejects), "FILE", NULL, NULL,
	  "write each dropped record to FILE as JSONL, with metadata.reject_reason",
	  WN_OPTF_UNRECORDED },
	{ "annotate", 0, WN_OPT_FLAG, OPT(annotate), NULL, NULL, NULL,
	  "keep every record; write each rule's value and verdict into metadata.filter", 0 },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

/* ---- state ---------------------------------------------------------------------------------- */

#define BATCH_RECORDS 512
#define BATCH_BYTES ((size_t)8 << 20)
#define REJECTS_FLUSH ((size_t)1 << 20)

struct filter_state;

struct batch {
	struct filter_state *f;
	struct wn_record *rec[BATCH_RECORDS];
	const char *reason[BATCH_RECORDS];
	int status[BATCH_RECORDS];
	struct wn_error errors[BATCH_RECORDS];
	size_t n, bytes;
};

/* A pool worker's scratch space, on cache lines of its own. */
struct worker {
	struct wn_fl_worker fw;
} __attribute__((aligned(64)));

/* Strings the configuration points into. */
struct owned {
	char *lang, *stop;
};

/*
 * Two batches: this thread fills one while the workers judge the other;
 * when the filling one is full, this thread helps finish the busy one,
 * hands over the full one and passes on the finished one meanwhile.
 */
struct filter_state {
	struct wn_fl_config cfg;
	struct owned own;
	struct batch b[2];
	struct batch *fill, *busy;
	struct wn_pool *pool;
	unsigned nworkers;
	struct worker *worker; /* per pool worker (0: this thread) */
	/* rejects */
	int rejects_fd;
	const char *rejects_path;
	struct wn_buf rejects;
	/* records whose first failing rule is each reason (dropped, or
	 * with --annotate marked keep: false) */
	struct wn_stage_stats failed;
};

/* ---- configuration -------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static int usage(struct wn_stage *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int s = wn_error_vset(&st->run->err, WN_EUSAGE, NULL, 0, fmt, ap);
	va_end(ap);
	if (!st->run->err_stage)
		st->run->err_stage = st;
	return s;
}

/* A threshold: a number, or "off"; the default when not given. */
static int limit(struct wn_stage *st, const char *opt, const char *v, int needs_set,
                 const char *set, struct wn_fl_limit *l)
{
	if (!v)
		return WN_OK;
	if (!needs_set)
		return usage(st, "--%s needs --%s", opt, set);
	if (strcmp(v, "off") == 0) {
		l->on = 0;
		return WN_OK;
	}
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (end == v || *end || errno || !isfinite(d) || d < 0)
		return usage(st, "--%s: expected a number (or off), got '%s'", opt, v);
	l->on = 1;
	l->v = d;
	return WN_OK;
}

static int plain_limit(struct wn_stage *st, const char *opt, const char *v,
                       struct wn_fl_limit *l)
{
	l->on = 0;
	return limit(st, opt, v, 1, "", l);
}

static int flag_needs(struct wn_stage *st, int flag, const char *opt, int set, const char *name)
{
	return flag && !set ? usage(st, "--%s needs --%s", opt, name) : WN_OK;
}

static int compile(struct wn_stage *st, const char *opt, const char *pattern, void **out)
{
	int code;
	PCRE2_SIZE offset;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	                               PCRE2_UTF | PCRE2_UCP, &code, &offset, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof(msg));
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--%s: invalid pattern at offset %zu: %s", opt, (size_t)offset,
		                      (const char *)msg);
	}
	/* the interpreter still works where JIT is not available */
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	*out = re;
	return WN_OK;
}

static int path(struct wn_stage *st, const char *opt, const char *text, size_t len,
                struct wn_fl_path *p)
{
	int s = wn_fl_path_parse(p, text, len);
	if (s == WN_EUSAGE)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--%s: '%.*s' is not a field name (a dotted path such as "
		                      "metadata.lang, at most 8 deep)", opt, (int)len, text);
	return s;
}

static int field_rules(struct wn_stage *st, const char *opt, const struct wn_opt_list *l,
                       struct wn_fl_field_rule *rules, size_t *n)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *eq = strchr(l->v[i], '=');
		if (!eq)
			return usage(st, "--%s: expected NAME=VALUE, got '%s'", opt, l->v[i]);
		WN_TRY(path(st, opt, l->v[i], (size_t)(eq - l->v[i]), &rules[i].path));
		(*n)++;
		rules[i].value = eq + 1;
		rules[i].vlen = strlen(eq + 1);
	}
	return WN_OK;
}

/* "a,b,c" into at most max words, pointing into a copy kept in *keep. */
static int split_list(struct wn_stage *st, const char *opt, const char *v, char **keep,
                      const char **words, size_t *lens, size_t max, size_t *n)
{
	*keep = strdup(v);
	if (!*keep)
		return WN_ENOMEM;
	*n = 0;
	for (char *p = *keep, *save = NULL, *w; (w = strtok_r(p, ",", &save)); p = NULL) {
		if (*n == max)
			return usage(st, "--%s: at most %zu values", opt, max);
		words[*n] = w;
		if (lens)
			lens[*n] = strlen(w);
		(*n)++;
	}
	if (!*n)
		return usage(st, "--%s: expected a comma-separated list, got '%s'", opt, v);
	return WN_OK;
}

static int configure_sets(struct wn_stage *st, struct filter_opts *o, struct wn_fl_config *c,
                          struct owned *own)
{
	c->gopher_quality = o->gopher_quality;
	c->gopher_repetition = o->gopher_repetition;
	c->c4 = o->c4;
	c->fineweb = o->fineweb;
	wn_fl_gopher_quality_defaults(&c->gq);
	wn_fl_gopher_repetition_defaults(&c->gr);
	wn_fl_c4_defaults(&c->c4p);
	wn_fl_fineweb_defaults(&c->fw);

	int q = o->gopher_quality;
	const char *gq = "gopher-quality";
	WN_TRY(limit(st, "gopher-min-words", o->gq_min_words, q, gq, &c->gq.min_words));
	WN_TRY(limit(st, "gopher-max-words", o->gq_max_words, q, gq, &c->gq.max_words));
	WN_TRY(limit(st, "gopher-min-mean-word-length", o->gq_min_mean, q, gq, &c->gq.min_mean_len));
	WN_TRY(limit(st, "gopher-max-mean-word-length", o->gq_max_mean, q, gq, &c->gq.max_mean_len));
	WN_TRY(limit(st, "gopher-max-symbol-ratio", o->gq_symbol, q, gq, &c->gq.max_symbol_ratio));
	WN_TRY(limit(st, "gopher-max-bullet-lines", o->gq_bullets, q, gq, &c->gq.max_bullet_lines));
	WN_TRY(limit(st, "gopher-max-ellipsis-lines", o->gq_ellipsis, q, gq,
	             &c->gq.max_ellipsis_lines));
	WN_TRY(limit(st, "gopher-min-alpha-words", o->gq_alpha, q, gq, &c->gq.min_alpha_words));
	WN_TRY(limit(st, "gopher-min-stop-words", o->gq_min_stop, q, gq, &c->gq.min_stop_words));
	if (o->gq_stop_words) {
		if (!q)
			return usage(st, "--%s needs --%s", "gopher-stop-words", gq);
		WN_TRY(split_list(st, "gopher-stop-words", o->gq_stop_words, &own->stop, c->gq.stop,
		                  c->gq.stop_len, WN_FL_MAX_STOP_WORDS, &c->gq.nstop));
	}

	int r = o->gopher_repetition;
	const char *gr = "gopher-repetition";
	static const char *const top[3] = { "gopher-max-top-2gram", "gopher-max-top-3gram",
		                            "gopher-max-top-4gram" };
	static const char *const dup[6] = { "gopher-max-dup-5gram", "gopher-max-dup-6gram",
		                            "gopher-max-dup-7gram", "gopher-max-dup-8gram",
		                            "gopher-max-dup-9gram", "gopher-max-dup-10gram" };
	WN_TRY(limit(st, "gopher-max-dup-para-frac", o->gr_para_frac, r, gr, &c->gr.dup_para_frac));
	WN_TRY(limit(st, "gopher-max-dup-para-chars", o->gr_para_chars, r, gr, &c->gr.dup_para_chars));
	WN_TRY(limit(st, "gopher-max-dup-line-frac", o->gr_line_frac, r, gr, &c->gr.dup_line_frac));
	WN_TRY(limit(st, "gopher-max-dup-line-chars", o->gr_line_chars, r, gr, &c->gr.dup_line_chars));
	for (int i = 0; i < 3; i++)
		WN_TRY(limit(st, top[i], o->gr_top[i], r, gr, &c->gr.top_ngram[i]));
	for (int i = 0; i < 6; i++)
		WN_TRY(limit(st, dup[i], o->gr_dup[i], r, gr, &c->gr.dup_ngram[i]));

	int k = o->c4;
	WN_TRY(limit(st, "c4-min-sentences", o->c4_min_sentences, k, "c4", &c->c4p.min_sentences));
	WN_TRY(limit(st, "c4-min-words-per-line", o->c4_min_words, k, "c4",
	             &c->c4p.min_words_per_line));
	WN_TRY(limit(st, "c4-max-word-length", o->c4_max_word, k, "c4", &c->c4p.max_word_length));
	WN_TRY(flag_needs(st, o->c4_no_punct, "c4-no-terminal-punct", k, "c4"));
	WN_TRY(flag_needs(st, o->c4_keep_citations, "c4-keep-citations", k, "c4"));
	WN_TRY(flag_needs(st, o->c4_no_lorem, "c4-no-lorem-ipsum", k, "c4"));
	WN_TRY(flag_needs(st, o->c4_no_js, "c4-no-javascript", k, "c4"));
	WN_TRY(flag_needs(st, o->c4_no_curly, "c4-no-curly-bracket", k, "c4"));
	WN_TRY(flag_needs(st, o->c4_no_policy, "c4-no-policy", k, "c4"));
	c->c4p.terminal_punct = !o->c4_no_punct;
	c->c4p.citations = !o->c4_keep_citations;
	c->c4p.lorem_ipsum = !o->c4_no_lorem;
	c->c4p.javascript = !o->c4_no_js;
	c->c4p.curly_bracket = !o->c4_no_curly;
	c->c4p.policy = !o->c4_no_policy;

	int f = o->fineweb;
	struct wn_fl_limit len = { 1, c->fw.short_line_length };
	WN_TRY(limit(st, "fineweb-min-punct-lines", o->fw_punct, f, "fineweb", &c->fw.min_punct_lines));
	WN_TRY(flag_needs(st, o->fw_exclude_zero, "fineweb-punct-exclude-zero", f, "fineweb"));
	WN_TRY(limit(st, "fineweb-max-short-lines", o->fw_short, f, "fineweb", &c->fw.max_short_lines));
	WN_TRY(limit(st, "fineweb-short-line-length", o->fw_short_len, f, "fineweb", &len));
	WN_TRY(limit(st, "fineweb-max-dup-line-chars", o->fw_dup, f, "fineweb",
	             &c->fw.max_dup_line_chars));
	WN_TRY(limit(st, "fineweb-max-newline-ratio", o->fw_newline, f, "fineweb",
	             &c->fw.max_newline_ratio));
	c->fw.punct_exclude_zero = o->fw_exclude_zero;
	if (!len.on)
		return usage(st, "--%s: a length, not %s", "fineweb-short-line-length", "off");
	c->fw.short_line_length = len.v;
	return WN_OK;
}

static int configure(struct wn_stage *st, struct filter_opts *o, struct wn_fl_config *c,
                     struct owned *own)
{
	c->text_field = st->text_field;
	c->id_field = st->id_field;
	c->annotate = o->annotate;
	c->rejects = o->rejects != NULL;
	if (o->annotate && o->rejects)
		return usage(st, "--%s keeps every record: --%s would stay empty", "annotate",
		             "rejects");
	WN_TRY(plain_limit(st, "min-chars", o->min_chars, &c->min_chars));
	WN_TRY(plain_limit(st, "max-chars", o->max_chars, &c->max_chars));
	WN_TRY(plain_limit(st, "min-words", o->min_words, &c->min_words));
	WN_TRY(plain_limit(st, "max-words", o->max_words, &c->max_words));
	WN_TRY(plain_limit(st, "min-lines", o->min_lines, &c->min_lines));
	WN_TRY(plain_limit(st, "max-lines", o->max_lines, &c->max_lines));
	WN_TRY(field_rules(st, "field", &o->field, c->field, &c->nfield));
	WN_TRY(field_rules(st, "field-not", &o->field_not, c->field_not, &c->nfield_not));
	for (size_t i = 0; i < o->has_field.n; i++) {
		const char *v = o->has_field.v[i];
		WN_TRY(path(st, "has-field", v, strlen(v), &c->has_field[i]));
		c->nhas_field++;
	}
	for (size_t i = 0; i < o->regex.n; i++) {
		WN_TRY(compile(st, "regex", o->regex.v[i], &c->regex[i]));
		c->nregex++;
	}
	for (size_t i = 0; i < o->exclude_regex.n; i++) {
		WN_TRY(compile(st, "exclude-regex", o->exclude_regex.v[i], &c->exclude[i]));
		c->nexclude++;
	}
	if (o->regex_field) {
		if (!c->nregex && !c->nexclude)
			return usage(st, "--%s needs --%s", "regex-field", "regex or --exclude-regex");
		WN_TRY(path(st, "regex-field", o->regex_field, strlen(o->regex_field),
		            &c->regex_field));
		c->has_regex_field = 1;
	}
	if (o->sample) {
		char *end;
		errno = 0;
		double rate = strtod(o->sample, &end);
		if (end == o->sample || *end || errno || !(rate >= 0 && rate <= 1))
			return usage(st, "--%s: expected a rate from 0 to 1, got '%s'", "sample",
			             o->sample);
		c->sample = 1;
		c->rate = rate;
		c->seed = o->seed;
	}
	if (o->lang) {
		if (!wn_fl_lang_available())
			return wn_stage_error(st, WN_EUSAGE, NULL, 0,
			                      "--lang: this winnow was built without CLD2 (install "
			                      "libcld2-dev and run configure again)");
		c->lang = 1;
		c->lang_threshold = o->lang_threshold;
		WN_TRY(split_list(st, "lang", o->lang, &own->lang, c->langs, NULL, 32, &c->nlangs));
	}
	return configure_sets(st, o, c, own);
}

/* ---- threads ------------------------------------------------------------------------------- */

static void judge(struct filter_state *f, struct wn_fl_worker *w, struct batch *b, size_t i)
{
	wn_error_clear(&b->errors[i]);
	b->status[i] = wn_fl_eval(&f->cfg, w, b->rec[i], &b->reason[i], &b->errors[i]);
}

/* The pool's call for record i of batch arg. */
static void judge_item(void *arg, unsigned worker, size_t i)
{
	struct batch *b = arg;
	judge(b->f, &b->f->worker[worker].fw, b, i);
}

static int start_workers(struct wn_stage *st, struct filter_state *f, unsigned threads)
{
	int s = wn_pool_new(&f->pool, threads);
	if (s < 0)
		return s == WN_ENOMEM ? s
		                      : wn_stage_error(st, s, NULL, 0, "cannot start a thread");
	unsigned n = wn_pool_threads(f->pool);
	f->worker = aligned_alloc(_Alignof(struct worker), n * sizeof(*f->worker));
	if (!f->worker)
		return WN_ENOMEM;
	memset(f->worker, 0, n * sizeof(*f->worker));
	for (; f->nworkers < n; f->nworkers++)
		if (wn_fl_worker_init(&f->worker[f->nworkers].fw) < 0)
			return WN_ENOMEM;
	return WN_OK;
}

/* ---- output --------------------------------------------------------------------------------- */

static int flush_rejects(struct wn_stage *st, struct filter_state *f)
{
	if (f->rejects_fd < 0 || !f->rejects.len)
		return WN_OK;
	int s = wn_write_all(f->rejects_fd, f->rejects.data, f->rejects.len, f->rejects_path,
	                     &st->run->err);
	wn_buf_reset(&f->rejects);
	return s == WN_EPIPE ? WN_EIO : s;
}

static int drop(struct wn_stage *st, struct filter_state *f, struct wn_record *rec,
                const char *reason)
{
	wn_stats_drop(&st->stats, reason);
	int s = WN_OK;
	if (f->rejects_fd >= 0) {
		const char *p;
		size_t n;
		s = wn_record_bytes(rec, &p, &n);
		if (s >= 0)
			s = wn_buf_add(&f->rejects, p, n);
		if (s >= 0)
			s = wn_buf_addc(&f->rejects, '\n');
		if (s < 0)
			s = wn_stage_error(st, s, rec->file, rec->line, "%s", wn_strerror(s));
		else if (f->rejects.len >= REJECTS_FLUSH)
			s = flush_rejects(st, f);
	}
	wn_record_free(rec);
	return s;
}

/* Pass on the records of a judged batch, in order; the first record that
 * failed stops it. */
static int emit_batch(struct wn_stage *st, struct batch *b, struct wn_emitter *out)
{
	struct filter_state *f = st->state;
	int s = WN_OK;
	size_t i = 0;
	for (; i < b->n; i++) {
		if (b->status[i] < 0) {
			s = b->status[i];
			wn_stage_error(st, s, NULL, 0, "%s", b->errors[i].msg);
			break;
		}
		struct wn_record *rec = b->rec[i];
		b->rec[i] = NULL;
		if (b->reason[i])
			wn_stats_drop(&f->failed, b->reason[i]);
		if (b->reason[i] && !f->cfg.annotate)
			s = drop(st, f, rec, b->reason[i]);
		else
			s = wn_emit(out, rec);
		if (s != WN_OK) {
			i++;
			break;
		}
	}
	for (; i < b->n; i++) {
		wn_record_free(b->rec[i]);
		b->rec[i] = NULL;
	}
	b->n = 0;
	b->bytes = 0;
	return s;
}

static int submit(struct wn_stage *st, struct wn_emitter *out)
{
	struct filter_state *f = st->state;
	if (!f->busy && !f->fill->n)
		return WN_OK;
	struct batch *full = f->fill, *done = f->busy;
	if (done)
		wn_pool_wait(f->pool); /* helping with what is left of it */
	f->busy = NULL;
	if (full->n) {
		wn_pool_start(f->pool, full->n, judge_item, full);
		f->busy = full;
	}
	f->fill = full == &f->b[0] ? &f->b[1] : &f->b[0];
	return done ? emit_batch(st, done, out) : WN_OK;
}

/* ---- the stage ---------------------------------------------------------------------------- */

static int filter_init(struct wn_stage *st)
{
	struct filter_opts *o = st->opts;
	struct filter_state *f = calloc(1, sizeof(*f));
	if (!f)
		return WN_ENOMEM;
	st->state = f;
	f->rejects_fd = -1;
	wn_buf_init(&f->rejects, WN_BUF_UNLIMITED);
	f->b[0].f = f->b[1].f = f;
	f->fill = &f->b[0];
	WN_TRY(configure(st, o, &f->cfg, &f->own));
	if (o->rejects) {
		f->rejects_path = o->rejects;
		f->rejects_fd = open(o->rejects, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (f->rejects_fd < 0)
			return wn_error_errno(&st->run->err, errno, o->rejects, "cannot create");
	}
	return start_workers(st, f, st->run->threads ? st->run->threads : 1);
}

static int filter_process(struct wn_stage *st, struct wn_record *rec, struct wn_emitter *out)
{
	struct filter_state *f = st->state;
	struct batch *b = f->fill;
	b->rec[b->n++] = rec;
	b->bytes += rec->raw.len;
	if (b->n < BATCH_RECORDS && b->bytes < BATCH_BYTES)
		return WN_OK;
	return submit(st, out);
}

static int stats_extra(struct wn_stage *st, struct filter_state *f)
{
	json_t *root = json_object(), *why = json_object();
	if (!root || !why) {
		json_decref(root);
		json_decref(why);
		return WN_ENOMEM;
	}
	for (size_t i = 0; i < f->failed.nreasons; i++)
		json_object_set_new(why, f->failed.reasons[i],
		                    json_integer((json_int_t)f->failed.reason_count[i]));
	json_object_set_new(root, "failed_by_rule", why);
	json_decref(st->stats.extra);
	st->stats.extra = root;
	return WN_OK;
}

static int filter_finish(struct wn_stage *st, struct wn_emitter *out)
{
	struct filter_state *f = st->state;
	int s = submit(st, out);
	struct batch *b = f->busy;
	if (s >= 0 && b) {
		wn_pool_wait(f->pool);
		f->busy = NULL;
		s = emit_batch(st, b, out);
	}
	if (s >= 0 || s == WN_EPIPE) {
		int r = flush_rejects(st, f);
		if (s >= 0)
			s = r;
	}
	if (s >= 0 && f->rejects_fd >= 0) {
		int fd = f->rejects_fd;
		f->rejects_fd = -1;
		if (close(fd) != 0)
			s = wn_error_errno(&st->run->err, errno, f->rejects_path, "write error");
	}
	int e = stats_extra(st, f);
	return s < 0 ? s : e < 0 ? e : s;
}

static void free_config(struct wn_fl_config *c)
{
	for (size_t i = 0; i < c->nregex; i++)
		pcre2_code_free(c->regex[i]);
	for (size_t i = 0; i < c->nexclude; i++)
		pcre2_code_free(c->exclude[i]);
	for (size_t i = 0; i < c->nfield; i++)
		wn_fl_path_release(&c->field[i].path);
	for (size_t i = 0; i < c->nfield_not; i++)
		wn_fl_path_release(&c->field_not[i].path);
	for (size_t i = 0; i < c->nhas_field; i++)
		wn_fl_path_release(&c->has_field[i]);
	wn_fl_path_release(&c->regex_field);
}

static void filter_release(struct wn_stage *st)
{
	struct filter_state *f = st->state;
	if (!f)
		return;
	/* first: it stops a batch still out (an error downstream) and
	 * waits for the calls under way */
	wn_pool_free(f->pool);
	for (unsigned i = 0; i < f->nworkers; i++)
		wn_fl_worker_release(&f->worker[i].fw);
	free(f->worker);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < f->b[k].n; i++)
			wn_record_free(f->b[k].rec[i]);
	if (f->rejects_fd >= 0) {
		/* after an error, what was dropped before it is still kept */
		struct wn_error ignored;
		wn_error_clear(&ignored);
		if (f->rejects.len)
			wn_write_all(f->rejects_fd, f->rejects.data, f->rejects.len, f->rejects_path,
			             &ignored);
		close(f->rejects_fd);
	}
	wn_buf_release(&f->rejects);
	free_config(&f->cfg);
	free(f->own.lang);
	free(f->own.stop);
	json_decref(st->stats.extra);
	st->stats.extra = NULL;
	free(f);
	st->state = NULL;
}

const struct wn_stage_type wn_stage_filter = {
	.name = "filter",
	.summary = "keep the records that pass quality rules (Gopher, C4, FineWeb) and predicates",
	.usage = "filter [options] [FILE|-]...",
	.description =
		"Keeps a record when it passes every rule given: length and word bounds, field\n"
		"predicates, regular expressions, a deterministic sample, language (CLD2), and\n"
		"the heuristic rule sets with their published defaults, each threshold its own\n"
		"option ('off' turns one rule off). Rule sets run in FineWeb's order: Gopher\n"
		"repetition, Gopher quality, C4 (which rewrites the text to the lines it\n"
		"keeps), FineWeb. Records kept unchanged keep their bytes. Dropped records go to\n"
		"--rejects FILE with metadata.reject_reason, the name of the first failing rule;\n"
		"--annotate keeps everything and writes each rule's value and verdict instead.\n"
		"Words are split as spaCy's English tokenizer does (docs/winnow-filter.md).\n",
	.options = filter_options,
	.opts_size = sizeof(struct filter_opts),
	.flags = WN_STAGE_PARALLEL,
	.init = filter_init,
	.process = filter_process,
	.finish = filter_finish,
	.release = filter_release,
};
