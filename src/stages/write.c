/*
 * write.c - the implicit last stage: records as JSONL on standard output.
 *
 * Unchanged records are written as the bytes they were read as, so a pipe
 * of winnow commands gives the same bytes as the same stages joined by
 * "then" in one process.
 */
#include <stdlib.h>
#include <unistd.h>

#include "core/registry.h"
#include "winnow/io.h"

#define FLUSH_AT ((size_t)1 << 20)

struct write_state {
	struct wn_buf out;
};

static int write_init(struct wn_stage *st)
{
	struct write_state *w = calloc(1, sizeof(*w));
	if (!w)
		return WN_ENOMEM;
	wn_buf_init(&w->out, WN_BUF_UNLIMITED);
	st->state = w;
	return wn_buf_grow(&w->out, FLUSH_AT + 4096);
}

static int flush(struct wn_stage *st)
{
	struct write_state *w = st->state;
	int s = wn_write_all(STDOUT_FILENO, w->out.data, w->out.len, "<stdout>", &st->run->err);
	if (s < 0 && s != WN_EPIPE)
		st->run->err_stage = st;
	st->stats.bytes_out += w->out.len;
	wn_buf_reset(&w->out);
	return s;
}

static int write_process(struct wn_stage *st, struct wn_record *rec, struct wn_emitter *out)
{
	struct write_state *w = st->state;
	const char *p;
	size_t n;
	int s = wn_record_bytes(rec, &p, &n);
	if (s >= 0)
		s = wn_buf_add(&w->out, p, n);
	if (s >= 0)
		s = wn_buf_addc(&w->out, '\n');
	wn_record_free(rec);
	if (s < 0)
		return wn_stage_error(st, s, NULL, 0, "%s", wn_strerror(s));
	return w->out.len >= FLUSH_AT ? flush(st) : WN_OK;
}

static int write_finish(struct wn_stage *st, struct wn_emitter *out)
{
	return flush(st);
}

static void write_release(struct wn_stage *st)
{
	struct write_state *w = st->state;
	if (!w)
		return;
	/* After an error upstream, what was accepted before it still goes
	 * out, as from any filter; a failure here has nobody left to tell. */
	if (w->out.len) {
		struct wn_error ignored;
		wn_error_clear(&ignored);
		wn_write_all(STDOUT_FILENO, w->out.data, w->out.len, "<stdout>", &ignored);
	}
	wn_buf_release(&w->out);
	free(w);
	st->state = NULL;
}

static const struct wn_option write_options[] = {
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

const struct wn_stage_type wn_stage_write = {
	.name = "write",
	.summary = "write records as JSONL to standard output",
	.usage = "write",
	.options = write_options,
	.opts_size = 0,
	.flags = WN_STAGE_SINK,
	.init = write_init,
	.process = write_process,
	.finish = write_finish,
	.release = write_release,
};
