/*
 * tokenizer.c - loading (dispatch, file bytes, SHA-256, split regexes),
 * accessors and decoding.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "tok/tok.h"
#include "winnow/buf.h"

int wn_tok_read_file(const char *path, char **data, size_t *len, char sha256[65],
                     struct wn_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return wn_error_errno(err, errno, path, "cannot open");
	/* Read to the end rather than trust st_size: the file may be a pipe. */
	struct stat st;
	size_t cap =
	        fstat(fileno(f), &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16;
	size_t n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return WN_ENOMEM;
	}
	for (;;) {
		if (n + 1 >= cap) {
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				fclose(f);
				return WN_ENOMEM;
			}
			buf = b;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - 1 - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno;
		free(buf);
		fclose(f);
		return wn_error_errno(err, e, path, "cannot read");
	}
	fclose(f);
	buf[n] = '\0';

	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(buf, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		free(buf);
		return wn_error_set(err, WN_EINTERNAL, path, 0, "SHA-256 failed");
	}
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < 32; i++) {
		sha256[2 * i] = hex[md[i] >> 4];
		sha256[2 * i + 1] = hex[md[i] & 15];
	}
	sha256[64] = '\0';
	*data = buf;
	*len = n;
	return WN_OK;
}

/*
 * PCRE2's \s with PCRE2_UCP also matches U+180E (MONGOLIAN VOWEL
 * SEPARATOR), which is not White_Space since Unicode 6.3; the reference
 * engines (Rust regex for tiktoken, Oniguruma for Hugging Face) follow
 * White_Space.  So \s and \S are spelled out as that set.
 */
#define WS_SET                                                                       \
	"\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}" \
	"\\x{202F}\\x{205F}\\x{3000}"

static int translate(const char *p, struct wn_buf *out)
{
	size_t n = strlen(p);
	int in_class = 0;
	for (size_t i = 0; i < n;) {
		char c = p[i];
		if (c == '\\' && i + 1 < n) {
			char d = p[i + 1];
			if (d == 's') {
				WN_TRY(wn_buf_adds(out, in_class ? WS_SET : "[" WS_SET "]"));
			} else if (d == 'S' && !in_class) {
				WN_TRY(wn_buf_adds(out, "[^" WS_SET "]"));
			} else if (d == 'Q') {
				const char *e = strstr(p + i + 2, "\\E");
				size_t stop = e ? (size_t)(e - p) + 2 : n;
				WN_TRY(wn_buf_add(out, p + i, stop - i));
				i = stop;
				continue;
			} else {
				WN_TRY(wn_buf_add(out, p + i, 2));
			}
			i += 2;
			continue;
		}
		if (in_class) {
			if (c == '[' && p[i + 1] == ':') {
				const char *e = strstr(p + i + 2, ":]");
				size_t stop = e ? (size_t)(e - p) + 2 : i + 1;
				WN_TRY(wn_buf_add(out, p + i, stop - i));
				i = stop;
				continue;
			}
			if (c == ']')
				in_class = 0;
			WN_TRY(wn_buf_addc(out, c));
			i++;
			continue;
		}
		WN_TRY(wn_buf_addc(out, c));
		i++;
		if (c == '[') {
			in_class = 1;
			if (i < n && p[i] == '^')
				WN_TRY(wn_buf_addc(out, p[i++]));
			/* a ']' first in a class is literal */
			if (i < n && p[i] == ']')
				WN_TRY(wn_buf_addc(out, p[i++]));
		}
	}
	return WN_OK;
}

int wn_tok_compile(struct wn_tokenizer *t, const char *pattern, int literal, int hf_syntax,
                   const char *what, struct wn_error *err)
{
	if (t->n_re == WN_TOK_MAX_SPLITS)
		return wn_error_set(err, WN_EDATA, t->path, 0,
		                    "%s: more than %d split patterns are not supported", what,
		                    WN_TOK_MAX_SPLITS);
	struct wn_buf pat;
	wn_buf_init(&pat, WN_BUF_UNLIMITED);
	uint32_t opts = PCRE2_UTF;
	int s;
	if (literal) {
		opts |= PCRE2_LITERAL;
		s = wn_buf_adds(&pat, pattern);
	} else {
		opts |= PCRE2_UCP;
		/* Oniguruma's Ruby syntax ($ at any line end) for Hugging Face
		 * patterns; Rust regex's ($ at the very end) for tiktoken. */
		opts |= hf_syntax ? PCRE2_MULTILINE : PCRE2_DOLLAR_ENDONLY;
		s = translate(pattern, &pat);
	}
	if (s < 0) {
		wn_buf_release(&pat);
		return s;
	}
	int code;
	PCRE2_SIZE off;
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	if (!cc) {
		wn_buf_release(&pat);
		return WN_ENOMEM;
	}
	/* Oniguruma and Rust regex treat only \n as a line end */
	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat.data, pat.len, opts, &code, &off, cc);
	pcre2_compile_context_free(cc);
	wn_buf_release(&pat);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof(msg));
		return wn_error_set(err, WN_EDATA, t->path, 0, "%s: bad regular expression: %s",
		                    what, (const char *)msg);
	}
	/* Without JIT support pcre2_match interprets the pattern: slower,
	 * same results. */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	t->split[t->n_re] = (uint8_t)(literal ? WN_TOK_SPLIT_REGEX : wn_tok_split_kind(pattern));
	t->re[t->n_re++] = re;
	return WN_OK;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int wn_tokenizer_load(struct wn_tokenizer **out, const char *path, const char *encoding,
                      struct wn_error *err)
{
	*out = NULL;
	struct wn_tokenizer *t = calloc(1, sizeof(*t));
	if (!t)
		return WN_ENOMEM;
	t->eot = WN_TOK_NONE;
	t->unk_id = WN_TOK_NONE;
	const char *base = strrchr(path, '/');
	t->name = strdup(base ? base + 1 : path);
	t->path = strdup(path);
	if (!t->name || !t->path) {
		wn_tokenizer_free(t);
		return WN_ENOMEM;
	}
	char *data;
	size_t len;
	int s = wn_tok_read_file(path, &data, &len, t->sha256, err);
	if (s < 0) {
		wn_tokenizer_free(t);
		return s;
	}
	if (ends_with(path, ".json") || !encoding)
		s = wn_tok_load_hf(t, data, len, err);
	else
		s = wn_tok_load_tiktoken(t, data, len, encoding, err);
	free(data);
	if (s >= 0) {
		wn_tok_trie_finish(&t->raw_trie);
		wn_tok_trie_finish(&t->norm_trie);
		s = wn_tok_build_pair_filter(t);
		if (s >= 0)
			s = wn_tok_build_byte_pairs(t);
	}
	if (s < 0) {
		if (s == WN_ENOMEM)
			wn_error_set(err, s, path, 0, "out of memory loading the tokenizer");
		wn_tokenizer_free(t);
		return s;
	}
	*out = t;
	return WN_OK;
}

void wn_tokenizer_free(struct wn_tokenizer *t)
{
	if (!t)
		return;
	free(t->arena);
	free(t->tok_off);
	free(t->tok_len);
	free(t->slots);
	free(t->pairs);
	free(t->pair_filter);
	free(t->rank_id);
	free(t->whole_memo);
	wn_tok_bt_free(t->bt);
	free(t->byte_pair_rank);
	free(t->byte_pair_id);
	free(t->added);
	wn_tok_trie_release(&t->raw_trie);
	wn_tok_trie_release(&t->norm_trie);
	for (int i = 0; i < t->n_re; i++)
		pcre2_code_free(t->re[i]);
	free(t->name);
	free(t->path);
	free(t);
}

uint32_t wn_tokenizer_vocab_size(const struct wn_tokenizer *t)
{
	return t->n_ids;
}

int wn_tokenizer_eot(const struct wn_tokenizer *t, uint32_t *id)
{
	if (t->eot == WN_TOK_NONE)
		return 0;
	*id = t->eot;
	return 1;
}

int wn_tokenizer_find(const struct wn_tokenizer *t, const char *s, size_t n, uint32_t *id)
{
	/* the last added token with this text wins, as in the tries */
	for (uint32_t i = t->n_added; i-- > 0;) {
		const struct wn_tok_added *a = &t->added[i];
		if (a->len == n && memcmp(t->arena + a->off, s, n) == 0) {
			*id = a->id;
			return 1;
		}
	}
	uint32_t r = wn_tok_lookup(t, s, n);
	if (r == WN_TOK_NONE)
		return 0;
	*id = r;
	return 1;
}

const char *wn_tokenizer_sha256(const struct wn_tokenizer *t)
{
	return t->sha256;
}

const char *wn_tokenizer_name(const struct wn_tokenizer *t)
{
	return t->name;
}

int wn_decode(const struct wn_tokenizer *t, const uint32_t *ids, size_t n, struct wn_buf *out,
              struct wn_error *err)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ids[i];
		if (id >= t->n_ids || t->tok_len[id] == 0)
			return wn_error_set(err, WN_EDATA, NULL, 0,
			                    "token id %" PRIu32 " is not in the vocabulary of %s",
			                    id, t->name);
		total += t->tok_len[id];
	}
	WN_TRY(wn_buf_grow(out, total));
	char *p = out->data + out->len;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, t->arena + t->tok_off[ids[i]], t->tok_len[ids[i]]);
		p += t->tok_len[ids[i]];
	}
	out->len += total;
	out->data[out->len] = '\0';
	return WN_OK;
}
