/*
 * dedup_int.h - what the two files of the dedup stage share: its state and
 * the batch it works on (dedup.c sets up and finishes, dedup_records.c
 * handles the records); not installed.
 */
#ifndef WN_STAGES_DEDUP_INT_H
#define WN_STAGES_DEDUP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/index.h"
#include "dedup/lines.h"
#include "dedup/minhash.h"
#include "dedup/normalize.h"
#include "core/pool.h"
#include "winnow/stage.h"

enum mode { MODE_EXACT, MODE_LINES, MODE_NEAR };

/* Records per batch, and a bound on the bytes they hold. */
#define BATCH_RECORDS 512
#define BATCH_BYTES ((size_t)8 << 20)
/* How many records ahead the set's slots are prefetched. */
#define PREFETCH 8

struct key_path {
	char **seg; /* the dotted path, split */
	size_t nseg;
	const char *name;
};

struct item {
	struct wn_record *rec;
	int status;
	struct wn_error *err;       /* allocated on the first error of this slot */
	struct wn_dd_digest d;      /* exact */
	struct wn_dd_pieces pieces; /* lines */
	const char *text;           /* lines: what the pieces point into */
	size_t textlen;
	size_t shingles;            /* near */
};

/*
 * A batch of records.  Two take turns: while the worker threads hash one,
 * this thread decides and passes on the batch hashed before it, then reads
 * records into the other; so reading, hashing and writing overlap.
 */
struct batch {
	struct dedup_state *d;
	struct item items[BATCH_RECORDS];
	uint64_t *sigs;             /* near: BATCH_RECORDS signatures */
	size_t n, bytes;
};

struct scratch {
	struct wn_dd_normalizer z;
	struct wn_buf key;          /* the bytes hashed for --key */
	struct wn_buf unesc;        /* an escaped --key value, decoded */
	struct wn_minhash *mh;
};

struct dedup_state {
	enum mode mode;
	enum wn_dd_norm norm;
	int mark, paragraphs;
	uint64_t min_chars;
	struct key_path *keys;
	size_t nkeys;
	const char *text_field, *id_field;
	char *params;               /* of the digests, as the index records them */
	const char *index_path;

	/* exact and lines */
	struct wn_dd_index ix;
	/* near */
	struct wn_minhash_params mp;
	struct wn_minhash_index *mh;
	uint32_t hashes;

	struct batch b[2];
	struct batch *fill;         /* records are read into it */
	struct batch *busy;         /* being hashed; NULL when none is out */
	struct wn_pool *pool;
	struct scratch *ws;
	unsigned nws;
	struct wn_buf idtext, joined;

	/* for --stats */
	uint64_t loaded, dup_exact, dup_near, pieces_removed, emptied, changed;
};

/* Take a record into the filling batch; when it is full, start hashing it
 * and decide the batch hashed before it. */
int dedup_process(struct wn_stage *st, struct wn_record *rec, struct wn_emitter *out);
/* At the end of the input: hash and decide every batch still held. */
int dedup_flush(struct wn_stage *st, struct wn_emitter *out);

#endif
