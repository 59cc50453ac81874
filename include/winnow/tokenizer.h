/*
 * tokenizer.h - byte-level BPE tokenizers: Hugging Face tokenizer.json and
 * tiktoken rank files, with ids identical to the reference implementations.
 *
 * A struct wn_tokenizer is immutable once loaded and may be shared by any
 * number of threads.  Encoding needs a struct wn_encoder, which holds the
 * per-thread state (regex match data, merge scratch, a piece cache): one per
 * thread.
 */
#ifndef WINNOW_TOKENIZER_H
#define WINNOW_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/buf.h"
#include "winnow/ids.h"
#include "winnow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wn_tokenizer;
struct wn_encoder;

/* struct wn_ids and wn_ids_* (growable id arrays) are in winnow/ids.h,
 * implemented in src/core/ids.c: records carry them too. */

/*
 * Load a tokenizer.
 *   - path ends in .json (or encoding is NULL): a Hugging Face tokenizer.json
 *     with model.type "BPE" over bytes: pre_tokenizer ByteLevel (use_regex
 *     true: the GPT-2 pattern) or Sequence of Split (Regex, behavior
 *     Isolated, invert false) then ByteLevel (use_regex false); normalizer
 *     null or NFC; merges as "a b" strings or ["a", "b"] pairs;
 *     ignore_merges; added_tokens.  Anything else (another model type,
 *     byte_fallback, dropout, another normalizer or pre-tokenizer, a
 *     Metaspace/SentencePiece vocabulary) is a WN_EDATA error naming the
 *     field, e.g. "tokenizer.json: pre_tokenizer.type 'Metaspace' is not
 *     supported": never a silent approximation.
 *   - otherwise a .tiktoken rank file ("base64 rank" per line) and encoding
 *     names its split pattern and special tokens: gpt2, r50k_base,
 *     p50k_base, cl100k_base, o200k_base.
 */
int wn_tokenizer_load(struct wn_tokenizer **t, const char *path, const char *encoding,
                      struct wn_error *err);
void wn_tokenizer_free(struct wn_tokenizer *t);

/* One more than the largest id, special tokens included. */
uint32_t wn_tokenizer_vocab_size(const struct wn_tokenizer *t);
/* The end-of-text token (<|endoftext|>, <|end_of_text|>, ...), if known:
 * returns 1 and sets *id, or 0. */
int wn_tokenizer_eot(const struct wn_tokenizer *t, uint32_t *id);
/* The id of a token given by its text (a special/added token such as
 * "<|endoftext|>", or a regular token in its byte form): 1 found, 0 not. */
int wn_tokenizer_find(const struct wn_tokenizer *t, const char *s, size_t n, uint32_t *id);
/* Lowercase hex SHA-256 of the file that was loaded, and its base name. */
const char *wn_tokenizer_sha256(const struct wn_tokenizer *t);
const char *wn_tokenizer_name(const struct wn_tokenizer *t);

int wn_encoder_new(struct wn_encoder **e, const struct wn_tokenizer *t);
void wn_encoder_free(struct wn_encoder *e);

/*
 * Append the ids of text[0..n) (UTF-8) to out.  Special-token strings in the
 * text are ordinary text unless allow_special is set, in which case the
 * tokenizer's special/added tokens are recognised (as tiktoken's
 * encode(allowed_special="all") and Hugging Face's encode do).  Invalid UTF-8
 * is WN_EDATA.
 */
int wn_encode(struct wn_encoder *e, const char *text, size_t n, int allow_special,
              struct wn_ids *out, struct wn_error *err);

/* Append the bytes of ids to out; an id outside the vocabulary is WN_EDATA. */
int wn_decode(const struct wn_tokenizer *t, const uint32_t *ids, size_t n,
              struct wn_buf *out, struct wn_error *err);

#ifdef __cplusplus
}
#endif
#endif
