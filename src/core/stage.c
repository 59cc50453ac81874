/*
 * stage.c - helpers every stage uses: errors, drop counters, messages, help.
 */
#include <stdio.h>
#include <string.h>

#include "winnow/stage.h"

void wn_stats_drop(struct wn_stage_stats *s, const char *reason)
{
	s->dropped++;
	for (size_t i = 0; i < s->nreasons; i++)
		if (strcmp(s->reasons[i], reason) == 0) {
			s->reason_count[i]++;
			return;
		}
	size_t last = sizeof(s->reasons) / sizeof(s->reasons[0]) - 1;
	size_t i = s->nreasons <= last ? s->nreasons++ : last;
	if (i == last && s->nreasons > last && s->reasons[i] && strcmp(s->reasons[i], reason))
		reason = "other";
	s->reasons[i] = reason;
	s->reason_count[i]++;
}

int wn_stage_error(struct wn_stage *st, int status, const char *file, uint64_t line,
                   const char *fmt, ...)
{
	struct wn_run *run = st->run;
	if (run->err.status < 0)
		return status;
	va_list ap;
	va_start(ap, fmt);
	wn_error_vset(&run->err, status, file, line, fmt, ap);
	va_end(ap);
	run->err_stage = st;
	return status;
}

void wn_run_message(struct wn_run *run, const struct wn_stage *st, const char *fmt, ...)
{
	if (!run->hooks.message)
		return;
	char msg[WN_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	run->hooks.message(run->hooks.ud, st, msg);
}

int wn_stage_help(const struct wn_stage_type *t, struct wn_buf *out)
{
	return wn_options_help(t->usage, t->summary, t->description, t->options, 1, out);
}
