/*
 * options.c - declarative option tables: parsing, defaults, and help text.
 *
 * One table per command drives argv parsing, pipeline files (which are
 * split into the same words) and -h/--help, so the three cannot disagree.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "winnow/stage.h"

#define COMMON(field) offsetof(struct wn_common_opts, field)

const struct wn_option wn_common_options[] = {
	{ "text-field", 0, WN_OPT_STRING, COMMON(text_field), "NAME", "text", NULL,
	  "the field holding the document text", 0 },
	{ "id-field", 0, WN_OPT_STRING, COMMON(id_field), "NAME", "id", NULL,
	  "the field holding the document id", 0 },
	{ "threads", 0, WN_OPT_UINT, COMMON(threads), "N", NULL, NULL,
	  "worker threads (default: the number of cores)", WN_OPTF_UNRECORDED },
	{ "stats", 0, WN_OPT_STRING, COMMON(stats), "FILE", NULL, NULL,
	  "write a JSON summary of the run to FILE", WN_OPTF_UNRECORDED },
	{ "quiet", 'q', WN_OPT_FLAG, COMMON(quiet), NULL, NULL, NULL,
	  "no progress or notes on stderr", WN_OPTF_UNRECORDED },
	{ "help", 'h', WN_OPT_FLAG, COMMON(help), NULL, NULL, NULL,
	  "show this help", WN_OPTF_UNRECORDED },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

int wn_parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *suffix; uint64_t mult; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1ull << 10 }, { "kib", 1ull << 10 }, { "kb", 1000ull },
		{ "m", 1ull << 20 }, { "mib", 1ull << 20 }, { "mb", 1000000ull },
		{ "g", 1ull << 30 }, { "gib", 1ull << 30 }, { "gb", 1000000000ull },
		{ "t", 1ull << 40 }, { "tib", 1ull << 40 }, { "tb", 1000000000000ull },
	};
	/* Digits, an optional fraction, a unit: no signs, exponents or spaces,
	 * and exact integer arithmetic, so "18446744073709551615" is exact. */
	const char *p = s;
	uint64_t whole = 0;
	if (!s || !isdigit((unsigned char)*p))
		return WN_EUSAGE;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (whole > (UINT64_MAX - d) / 10)
			return WN_EUSAGE;
		whole = whole * 10 + d;
	}
	const char *frac = NULL;
	size_t nfrac = 0;
	if (*p == '.') {
		frac = ++p;
		while (isdigit((unsigned char)*p))
			p++;
		nfrac = (size_t)(p - frac);
		if (nfrac == 0 || nfrac > 9)
			return WN_EUSAGE;
	}
	char suffix[8];
	size_t n = strlen(p);
	if (n >= sizeof(suffix))
		return WN_EUSAGE;
	for (size_t i = 0; i <= n; i++)
		suffix[i] = (char)tolower((unsigned char)p[i]);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(suffix, units[i].suffix) != 0)
			continue;
		uint64_t mult = units[i].mult;
		if (whole > UINT64_MAX / mult)
			return WN_EUSAGE;
		uint64_t bytes = whole * mult;
		if (frac) {
			/* fraction digits as an integer over 10^nfrac, times mult */
			uint64_t num = 0, den = 1;
			for (size_t k = 0; k < nfrac; k++) {
				num = num * 10 + (uint64_t)(frac[k] - '0');
				den *= 10;
			}
			unsigned __int128 part = (unsigned __int128)num * mult;
			/* Fractions of a byte make no sense: "1.5" alone is refused. */
			if (part % den != 0)
				return WN_EUSAGE;
			uint64_t add = (uint64_t)(part / den);
			if (bytes > UINT64_MAX - add)
				return WN_EUSAGE;
			bytes += add;
		}
		*out = bytes;
		return WN_OK;
	}
	return WN_EUSAGE;
}

static int parse_char(const char *v, char *out)
{
	static const struct { const char *name; char c; } names[] = {
		{ "tab", '\t' }, { "\\t", '\t' }, { "comma", ',' },
		{ "semicolon", ';' }, { "pipe", '|' }, { "space", ' ' },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i].name) == 0) {
			*out = names[i].c;
			return WN_OK;
		}
	if (strlen(v) != 1 || v[0] == '"' || v[0] == '\n' || v[0] == '\r')
		return WN_EUSAGE;
	*out = v[0];
	return WN_OK;
}

/* Index of value among the '|'-separated choices, or -1. */
static int choice_index(const char *choices, const char *v)
{
	size_t vlen = strlen(v);
	int i = 0;
	for (const char *p = choices; *p; i++) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == vlen && strncmp(p, v, len) == 0)
			return i;
		if (!bar)
			break;
		p = bar + 1;
	}
	return -1;
}

static int set_value(const char *cmd, const struct wn_option *o, void *base,
                     const char *v, struct wn_error *err)
{
	void *dst = (char *)base + o->offset;
	char *end;
	switch (o->type) {
	case WN_OPT_FLAG:
		*(int *)dst = 1;
		return WN_OK;
	case WN_OPT_STRING:
		*(const char **)dst = v;
		return WN_OK;
	case WN_OPT_UINT: {
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end || errno)
			break;
		*(uint64_t *)dst = n;
		return WN_OK;
	}
	case WN_OPT_SIZE:
		if (wn_parse_size(v, (uint64_t *)dst) < 0)
			return wn_error_set(err, WN_EUSAGE, NULL, 0,
			                    "%s: --%s: invalid size '%s' (use e.g. 4096, 64KiB, 256MiB, 1G)",
			                    cmd, o->name, v);
		return WN_OK;
	case WN_OPT_DOUBLE: {
		errno = 0;
		double d = strtod(v, &end);
		if (end == v || *end || errno || !isfinite(d))
			break;
		*(double *)dst = d;
		return WN_OK;
	}
	case WN_OPT_CHOICE: {
		int i = choice_index(o->choices, v);
		if (i < 0)
			return wn_error_set(err, WN_EUSAGE, NULL, 0,
			                    "%s: --%s: invalid value '%s' (one of: %s)", cmd,
			                    o->name, v, o->choices);
		*(int *)dst = i;
		return WN_OK;
	}
	case WN_OPT_CHAR:
		if (parse_char(v, (char *)dst) < 0)
			return wn_error_set(err, WN_EUSAGE, NULL, 0,
			                    "%s: --%s: expected one character or tab, got '%s'",
			                    cmd, o->name, v);
		return WN_OK;
	case WN_OPT_LIST: {
		struct wn_opt_list *l = dst;
		if (l->n == WN_OPT_LIST_MAX)
			return wn_error_set(err, WN_EUSAGE, NULL, 0,
			                    "%s: --%s: at most %d values", cmd, o->name,
			                    WN_OPT_LIST_MAX);
		l->v[l->n++] = v;
		return WN_OK;
	}
	case WN_OPT_END:
		break;
	}
	return wn_error_set(err, WN_EUSAGE, NULL, 0, "%s: --%s: invalid value '%s'", cmd,
	                    o->name, v);
}

static int apply_defaults(const char *cmd, const struct wn_option *table, void *base,
                          struct wn_error *err)
{
	for (const struct wn_option *o = table; o && o->name; o++)
		if (o->def)
			WN_TRY(set_value(cmd, o, base, o->def, err));
	return WN_OK;
}

static const struct wn_option *find_long(const struct wn_option *table, const char *name,
                                         size_t len)
{
	for (const struct wn_option *o = table; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static const struct wn_option *find_short(const struct wn_option *table, char c)
{
	for (const struct wn_option *o = table; o && o->name; o++)
		if (o->short_name && o->short_name == c)
			return o;
	return NULL;
}

/* Append a word to the recorded pipeline text, quoted when the shell would
 * need it, so the text can be pasted back into a pipeline file. */
static int record_word(struct wn_buf *rec, const char *w)
{
	if (!rec)
		return WN_OK;
	if (rec->len)
		WN_TRY(wn_buf_addc(rec, ' '));
	int plain = *w != '\0';
	for (const char *p = w; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_./:=,+@%", *p))
			plain = 0;
	if (plain)
		return wn_buf_adds(rec, w);
	WN_TRY(wn_buf_addc(rec, '\''));
	for (const char *p = w; *p; p++)
		WN_TRY(*p == '\'' ? wn_buf_adds(rec, "'\\''") : wn_buf_addc(rec, *p));
	return wn_buf_addc(rec, '\'');
}

int wn_options_parse(const char *cmd, const struct wn_option *table, void *opts,
                     struct wn_common_opts *common, int argc, char **argv,
                     int *used, char ***pos, size_t *npos, struct wn_buf *rec,
                     struct wn_error *err)
{
	WN_TRY(apply_defaults(cmd, table, opts, err));
	if (common) {
		WN_TRY(apply_defaults(cmd, wn_common_options, common, err));
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		common->threads = cores > 0 ? (uint64_t)cores : 1;
	}
	char **list = calloc((size_t)argc + 1, sizeof(*list));
	if (!list)
		return WN_ENOMEM;
	size_t nlist = 0;
	int only_positional = 0;
	int i = 0;
	int st = WN_OK;
	for (; i < argc && st >= 0; i++) {
		char *a = argv[i];
		if (strcmp(a, "then") == 0)
			break;
		if (only_positional || a[0] != '-' || strcmp(a, "-") == 0) {
			list[nlist++] = a;
			st = record_word(rec, a);
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_positional = 1;
			continue;
		}
		const struct wn_option *o;
		void *base = opts;
		const char *value = NULL;
		char shortname[3] = { '-', 0, 0 };
		const char *shown = a;
		if (a[1] == '-') {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			o = find_long(table, name, len);
			if (!o && common && (o = find_long(wn_common_options, name, len)))
				base = common;
			if (eq)
				value = eq + 1;
		} else {
			o = find_short(table, a[1]);
			if (!o && common && (o = find_short(wn_common_options, a[1])))
				base = common;
			if (a[2])
				value = a + 2;
			shortname[1] = a[1];
			shown = shortname;
		}
		if (!o) {
			st = wn_error_set(err, WN_EUSAGE, NULL, 0,
			                  "%s: unknown option '%s' (see 'winnow %s --help')", cmd,
			                  a, cmd);
			break;
		}
		if (o->type == WN_OPT_FLAG) {
			if (value && a[1] == '-') {
				st = wn_error_set(err, WN_EUSAGE, NULL, 0,
				                  "%s: option '--%s' takes no value", cmd, o->name);
				break;
			}
			if (value) { /* bundled short flags are not supported */
				st = wn_error_set(err, WN_EUSAGE, NULL, 0,
				                  "%s: unknown option '%s' (see 'winnow %s --help')",
				                  cmd, a, cmd);
				break;
			}
		} else if (!value) {
			if (i + 1 >= argc) {
				st = wn_error_set(err, WN_EUSAGE, NULL, 0,
				                  "%s: option '%s' needs a value (%s)", cmd, shown,
				                  o->arg ? o->arg : "VALUE");
				break;
			}
			value = argv[++i];
		}
		st = set_value(cmd, o, base, value ? value : "1", err);
		if (st >= 0 && !(o->flags & WN_OPTF_UNRECORDED)) {
			char word[256];
			snprintf(word, sizeof(word), "--%s", o->name);
			st = record_word(rec, word);
			if (st >= 0 && o->type != WN_OPT_FLAG)
				st = record_word(rec, value);
		}
	}
	if (st < 0) {
		free(list);
		return st;
	}
	*used = i;
	*pos = list;
	*npos = nlist;
	return WN_OK;
}

static int help_options(const struct wn_option *table, struct wn_buf *out)
{
	for (const struct wn_option *o = table; o && o->name; o++) {
		size_t start = out->len;
		if (o->short_name)
			WN_TRY(wn_buf_printf(out, "  -%c, --%s", o->short_name, o->name));
		else
			WN_TRY(wn_buf_printf(out, "      --%s", o->name));
		if (o->type != WN_OPT_FLAG)
			WN_TRY(wn_buf_printf(out, " %s", o->arg ? o->arg : "VALUE"));
		size_t width = out->len - start;
		if (width < 28)
			WN_TRY(wn_buf_printf(out, "%*s", (int)(28 - width), ""));
		else
			WN_TRY(wn_buf_printf(out, "\n%28s", ""));
		WN_TRY(wn_buf_adds(out, o->help));
		if (o->type == WN_OPT_CHOICE && !strstr(o->help, o->choices))
			WN_TRY(wn_buf_printf(out, " (%s)", o->choices));
		if (o->type == WN_OPT_LIST)
			WN_TRY(wn_buf_adds(out, " (repeatable)"));
		if (o->def && o->type != WN_OPT_FLAG)
			WN_TRY(wn_buf_printf(out, " [default: %s]", o->def));
		WN_TRY(wn_buf_addc(out, '\n'));
	}
	return WN_OK;
}

int wn_options_help(const char *usage, const char *summary, const char *description,
                    const struct wn_option *table, int with_common, struct wn_buf *out)
{
	WN_TRY(wn_buf_printf(out, "usage: winnow %s\n\n%s\n", usage, summary));
	if (description)
		WN_TRY(wn_buf_printf(out, "\n%s", description));
	if (table && table->name) {
		WN_TRY(wn_buf_adds(out, "\noptions:\n"));
		WN_TRY(help_options(table, out));
	}
	if (with_common) {
		WN_TRY(wn_buf_adds(out, "\ncommon options:\n"));
		WN_TRY(help_options(wn_common_options, out));
	}
	return WN_OK;
}
