/*
 * paths.c - expand FILE|DIR|GLOB|- arguments into the list of inputs, and
 * split that list among the ranks of a job (wn_split_plan).
 *
 * Inside a directory, symbolic links to files are followed but links to
 * directories are not descended (as find(1) does without -L), so a link
 * cycle cannot make the walk endless.  A directory named on the command line
 * is always walked, link or not.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "winnow/io.h"

/* Ranks beyond this are refused: cut offsets are computed in 64 bits. */
#define WN_SPLIT_WORLD_MAX ((uint64_t)1 << 31)

struct path_list {
	char **v;
	size_t n, cap;
};

static int list_push(struct path_list *l, char *s)
{
	if (!s)
		return WN_ENOMEM;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			free(s);
			return WN_ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return WN_OK;
}

static int cmp_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	int slash = dl > 0 && dir[dl - 1] != '/';
	char *p = malloc(dl + slash + nl + 1);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (slash)
		p[dl] = '/';
	memcpy(p + dl + slash, name, nl + 1);
	return p;
}

static int nomem(struct wn_error *err)
{
	return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
}

/* Append every regular file below dir (unsorted). */
static int walk_dir(const char *dir, struct path_list *out, struct wn_error *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return wn_error_set(err, WN_EIO, dir, 0, "%s", strerror(errno));
	int st = WN_OK;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				st = wn_error_set(err, WN_EIO, dir, 0, "%s", strerror(errno));
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		char *p = path_join(dir, de->d_name);
		if (!p) {
			st = nomem(err);
			break;
		}
		struct stat sb;
		if (lstat(p, &sb) != 0) {
			st = wn_error_set(err, WN_EIO, p, 0, "%s", strerror(errno));
			free(p);
			break;
		}
		if (S_ISDIR(sb.st_mode)) {
			st = walk_dir(p, out, err);
			free(p);
			if (st < 0)
				break;
			continue;
		}
		/* A dangling link is skipped; a link to a file is an input. */
		if (S_ISLNK(sb.st_mode) && stat(p, &sb) != 0) {
			free(p);
			continue;
		}
		if (!S_ISREG(sb.st_mode)) {
			free(p);
			continue;
		}
		if (list_push(out, p) < 0) {
			st = nomem(err);
			break;
		}
	}
	closedir(d);
	return st;
}

/* One existing path: a directory's files, sorted, or the path itself. */
static int expand_existing(const char *path, const struct stat *sb,
                           struct path_list *out, struct wn_error *err)
{
	if (!S_ISDIR(sb->st_mode))
		return list_push(out, strdup(path)) < 0 ? nomem(err) : WN_OK;
	size_t first = out->n;
	WN_TRY(walk_dir(path, out, err));
	qsort(out->v + first, out->n - first, sizeof(*out->v), cmp_bytes);
	return WN_OK;
}

static int expand_glob(const char *pattern, struct path_list *out, struct wn_error *err)
{
	glob_t g;
	/* Sorted below with strcmp: glob's own order follows the locale. */
	int r = glob(pattern, GLOB_NOSORT, NULL, &g);
	if (r == GLOB_NOMATCH) {
		globfree(&g);
		return wn_error_set(err, WN_EIO, NULL, 0, "no file matches '%s'", pattern);
	}
	if (r == GLOB_NOSPACE) {
		globfree(&g);
		return nomem(err);
	}
	if (r != 0) {
		globfree(&g);
		return wn_error_set(err, WN_EIO, NULL, 0, "cannot expand '%s': read error",
		                    pattern);
	}
	qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), cmp_bytes);
	int st = WN_OK;
	for (size_t i = 0; i < g.gl_pathc && st == WN_OK; i++) {
		struct stat sb;
		if (stat(g.gl_pathv[i], &sb) != 0)
			continue; /* a dangling link matched */
		st = expand_existing(g.gl_pathv[i], &sb, out, err);
	}
	globfree(&g);
	return st;
}

int wn_paths_expand(char *const *args, size_t nargs, char ***paths,
                    size_t *npaths, struct wn_error *err)
{
	static char *const stdin_only[] = { "-" };
	struct path_list out = { NULL, 0, 0 };
	int st = WN_OK;
	*paths = NULL;
	*npaths = 0;
	if (nargs == 0) {
		args = stdin_only;
		nargs = 1;
	}
	for (size_t i = 0; i < nargs && st == WN_OK; i++) {
		const char *a = args[i];
		struct stat sb;
		if (strcmp(a, "-") == 0) {
			st = list_push(&out, strdup(a)) < 0 ? nomem(err) : WN_OK;
		} else if (stat(a, &sb) == 0) {
			st = expand_existing(a, &sb, &out, err);
		} else if (errno == ENOENT && strpbrk(a, "*?[")) {
			st = expand_glob(a, &out, err);
		} else {
			st = wn_error_set(err, WN_EIO, a, 0, "%s", strerror(errno));
		}
	}
	if (st < 0) {
		wn_paths_free(out.v, out.n);
		return st;
	}
	*paths = out.v;
	*npaths = out.n;
	return WN_OK;
}

void wn_paths_free(char **paths, size_t npaths)
{
	if (!paths)
		return;
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
}

/* floor(r * total / world), without overflow for world < 2^31. */
static uint64_t cut_at(uint64_t r, uint64_t total, uint64_t world)
{
	return r * (total / world) + r * (total % world) / world;
}

/* The index of the file whose bytes hold offset c strictly inside, or n. */
static size_t file_around(const uint64_t *off, size_t n, uint64_t c)
{
	size_t lo = 0, hi = n;
	while (lo < hi) { /* the first file that ends after c */
		size_t mid = lo + (hi - lo) / 2;
		if (off[mid + 1] <= c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && off[lo] < c ? lo : n;
}

/* Cut r, moved to a file boundary where the file is not to be split. */
static int moved_cut(char *const *paths, const uint64_t *off, size_t n,
                     uint64_t r, uint64_t world, uint64_t *cut,
                     struct wn_error *err)
{
	uint64_t total = off[n];
	uint64_t c = cut_at(r, total, world);
	size_t i = file_around(off, n, c);
	*cut = c;
	if (i == n)
		return WN_OK;
	uint64_t s = off[i], e = off[i + 1];
	int whole = e - s < total / world / 4;
	if (!whole) {
		struct wn_input *in;
		WN_TRY(wn_input_open(&in, paths[i], err));
		whole = wn_input_compression(in) != WN_COMP_NONE;
		wn_input_close(in);
	}
	if (whole)
		*cut = c - s <= e - c ? s : e;
	return WN_OK;
}

int wn_split_plan(char *const *paths, size_t npaths, uint64_t rank,
                  uint64_t world, struct wn_split_part **parts, size_t *nparts,
                  struct wn_error *err)
{
	*parts = NULL;
	*nparts = 0;
	if (world == 0 || world > WN_SPLIT_WORLD_MAX || rank >= world)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "cannot be rank %llu of %llu", (unsigned long long)rank,
		                    (unsigned long long)world);
	/* off[i]: where file i starts when the files are laid end to end. */
	uint64_t *off = malloc((npaths + 1) * sizeof(*off));
	struct wn_split_part *v = malloc((npaths ? npaths : 1) * sizeof(*v));
	if (!off || !v) {
		free(off);
		free(v);
		return nomem(err);
	}
	int st = WN_OK;
	off[0] = 0;
	for (size_t i = 0; i < npaths && st == WN_OK; i++) {
		struct stat sb;
		uint64_t size = 0;
		if (strcmp(paths[i], "-") == 0) {
			if (world > 1)
				st = wn_error_set(err, WN_EUSAGE, NULL, 0,
				                  "standard input cannot be split among %llu ranks; "
				                  "name the input files", (unsigned long long)world);
		} else if (stat(paths[i], &sb) != 0) {
			st = wn_error_set(err, WN_EIO, paths[i], 0, "%s", strerror(errno));
		} else if (S_ISREG(sb.st_mode)) {
			size = (uint64_t)sb.st_size;
		}
		off[i + 1] = off[i] + size;
	}
	uint64_t lo = 0, hi = off[npaths];
	if (st == WN_OK && rank > 0)
		st = moved_cut(paths, off, npaths, rank, world, &lo, err);
	if (st == WN_OK && rank + 1 < world)
		st = moved_cut(paths, off, npaths, rank + 1, world, &hi, err);
	if (st < 0) {
		free(off);
		free(v);
		return st;
	}
	size_t n = 0;
	for (size_t i = 0; i < npaths; i++) {
		uint64_t s = off[i], e = off[i + 1];
		if (s == e) {
			/* An empty file (or a pipe): the last rank that starts at
			 * or before it, so that exactly one rank opens it. */
			if (lo <= s && (rank + 1 == world || hi > s))
				v[n++] = (struct wn_split_part){ i, 0, 0 };
			continue;
		}
		uint64_t a = s > lo ? s : lo, b = e < hi ? e : hi;
		if (a < b)
			v[n++] = (struct wn_split_part){ i, a - s, b == e ? 0 : b - s };
	}
	free(off);
	*parts = v;
	*nparts = n;
	return WN_OK;
}
