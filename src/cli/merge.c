/*
 * merge.c - winnow merge: join the datasets of separate ranks into one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "winnow/winnow.h"

int cmd_merge(int argc, char **argv);

struct merge_opts {
	const char *output;
	int move;
	int copy;
	int force;
	int deep;
	const char *name;
	uint64_t threads;
	int quiet;
	int help;
};

#define OPT(field) offsetof(struct merge_opts, field)

static const struct wn_option merge_options[] = {
	{ "output", 'o', WN_OPT_STRING, OPT(output), "OUT", NULL, NULL,
	  "the dataset directory to make (required; must not exist or be empty)", 0 },
	{ "move", 0, WN_OPT_FLAG, OPT(move), NULL, NULL, NULL,
	  "remove the input datasets once OUT is complete (default: keep them)", 0 },
	{ "copy", 0, WN_OPT_FLAG, OPT(copy), NULL, NULL, NULL,
	  "copy the shards that cannot be hard-linked (OUT on another filesystem)", 0 },
	{ "force", 0, WN_OPT_FLAG, OPT(force), NULL, NULL, NULL,
	  "replace an earlier dataset in OUT", 0 },
	{ "deep", 0, WN_OPT_FLAG, OPT(deep), NULL, NULL, NULL,
	  "verify the inputs as 'verify --deep' does (decode every shard)", 0 },
	{ "name", 0, WN_OPT_STRING, OPT(name), "NAME", NULL, NULL,
	  "dataset name in the card (default: shard's --name, else OUT's name)", 0 },
	{ "threads", 0, WN_OPT_UINT, OPT(threads), "N", NULL, NULL,
	  "verify this many shards at once (default: the number of cores)", 0 },
	{ "quiet", 'q', WN_OPT_FLAG, OPT(quiet), NULL, NULL, NULL,
	  "no notes or summary on stderr", 0 },
	{ "help", 'h', WN_OPT_FLAG, OPT(help), NULL, NULL, NULL, "show this help", 0 },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

static const char merge_usage[] = "merge -o OUT [options] DIR...";
static const char merge_summary[] = "join the datasets of separate ranks into one";
static const char merge_description[] =
	"Joins dataset directories written by separate ranks (each by shard) into OUT:\n"
	"the shards of each split numbered across the DIRs in the order given (rank\n"
	"order), one manifest.json, README.md and SHA256SUMS. Shards are hard-linked,\n"
	"never recompressed, so the DIRs stay intact (--move removes them afterwards).\n"
	"Every DIR must verify, and all must come from the same pipeline: only the\n"
	"input files and the value of --rank may differ. An interrupted merge leaves\n"
	"no manifest in OUT; running it again starts afresh.\n";

static void on_note(void *ud, const char *msg)
{
	if (!*(const int *)ud)
		fprintf(stderr, "winnow: merge: %s\n", msg);
}

static void summary(const struct wn_merge_result *r, const char *out, int move)
{
	const char *how = r->copied ? (r->linked ? "linked and copied" : "copied") : "linked";

	if (r->format == WN_SHARD_JSONL)
		fprintf(stderr, "winnow: merge: %" PRIu64 " record%s in %" PRIu64 " shard%s "
		        "(%.1f MB) from %" PRIu64 " dataset%s, %s into %s%s\n",
		        r->records, r->records == 1 ? "" : "s", r->shards, r->shards == 1 ? "" : "s",
		        (double)r->bytes / 1e6, r->inputs, r->inputs == 1 ? "" : "s", how, out,
		        move ? " (inputs removed)" : "");
	else
		fprintf(stderr, "winnow: merge: %" PRIu64 " document%s, %" PRIu64 " tokens in %"
		        PRIu64 " shard%s (%.1f MB) from %" PRIu64 " dataset%s, %s into %s%s\n",
		        r->records, r->records == 1 ? "" : "s", r->tokens, r->shards,
		        r->shards == 1 ? "" : "s", (double)r->bytes / 1e6, r->inputs,
		        r->inputs == 1 ? "" : "s", how, out, move ? " (inputs removed)" : "");
}

int cmd_merge(int argc, char **argv)
{
	struct merge_opts o = { 0 };
	struct wn_error err;
	char **pos = NULL;
	size_t npos = 0;
	int used;

	wn_error_clear(&err);
	if (wn_options_parse("merge", merge_options, &o, NULL, argc - 1, argv + 1, &used, &pos,
	                     &npos, NULL, &err) < 0) {
		fprintf(stderr, "winnow: %s\n", err.msg);
		return WN_EXIT_USAGE;
	}
	if (o.help) {
		struct wn_buf b = WN_BUF_INIT;

		free(pos);
		wn_options_help(merge_usage, merge_summary, merge_description, merge_options, 0, &b);
		if (b.len)
			fwrite(b.data, 1, b.len, stdout);
		wn_buf_release(&b);
		if (fflush(stdout) != 0 && errno != EPIPE) {
			fprintf(stderr, "winnow: write error: %s\n", strerror(errno));
			return WN_EXIT_IO;
		}
		return 0;
	}
	const char *msg = NULL;
	if (used != argc - 1)
		msg = "'then' does not follow merge";
	else if (!o.output)
		msg = "an output directory is required (-o OUT)";
	else if (npos == 0)
		msg = "expected at least one dataset DIR";
	if (msg) {
		free(pos);
		fprintf(stderr, "winnow: merge: %s (see 'winnow merge --help')\n", msg);
		return WN_EXIT_USAGE;
	}
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct wn_merge_opts mo = {
		.out = o.output,
		.inputs = (const char *const *)pos,
		.ninputs = npos,
		.move = o.move,
		.copy = o.copy,
		.force = o.force,
		.deep = o.deep,
		.threads = o.threads ? (unsigned)(o.threads > 256 ? 256 : o.threads)
		                     : (unsigned)(cores > 0 ? cores : 1),
		.name = o.name,
		.note = on_note,
		.ud = &o.quiet,
	};
	struct wn_merge_result res;
	int st = wn_dataset_merge(&mo, &res, &err);
	free(pos);
	if (st < 0) {
		fprintf(stderr, "winnow: merge: %s\n", err.status < 0 ? err.msg : wn_strerror(st));
		return wn_status_exit(st);
	}
	if (!o.quiet)
		summary(&res, o.output, o.move);
	return 0;
}
