/*
 * paths.c - expand FILE|DIR|GLOB|- arguments into the list of inputs.
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
