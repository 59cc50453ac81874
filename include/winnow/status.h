/*
 * status.h - status codes and error reporting for libwinnow.
 *
 * Every fallible libwinnow function returns an int status: WN_OK (0) or a
 * positive "soft" code on success, a negative WN_E* code on failure.  A
 * function that fails also fills a struct wn_error, when the caller passed
 * one, with a message that names the position of the problem:
 *
 *     part-3.jsonl:1234: unterminated string
 *
 * The message never starts with "winnow:" or a stage name and never ends with
 * a period; the program adds the prefix ("winnow: read: ") when it prints.
 *
 * The numeric values are stable: they are part of the ABI and of --stats.
 */
#ifndef WINNOW_STATUS_H
#define WINNOW_STATUS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum wn_status {
	WN_OK = 0,       /* success */
	WN_DONE = 1,     /* success; the stage wants no more input */

	WN_EDATA = -1,   /* bad input data: invalid JSON, bad CSV row, ... */
	WN_EUSAGE = -2,  /* bad option or argument */
	WN_EIO = -3,     /* I/O or system error (errno was saved in the message) */
	WN_ENOMEM = -4,  /* out of memory */
	WN_ETOOBIG = -5, /* a record or buffer exceeds its configured maximum */
	WN_EPIPE = -6,   /* the reader of our output went away (closed pipe) */
	WN_EVERIFY = -7, /* a dataset does not match its manifest */
	WN_EINTERNAL = -8, /* a bug: an invariant did not hold */
};

/* Process exit codes, from DESIGN.md: 0 ok, 1 data, 2 usage, 3 I/O. */
enum wn_exit {
	WN_EXIT_OK = 0,
	WN_EXIT_DATA = 1,
	WN_EXIT_USAGE = 2,
	WN_EXIT_IO = 3,
};

/* A short static description of a status ("invalid input data"). */
const char *wn_strerror(int status);

/* The exit code a program should use for a status.  WN_EPIPE maps to 0:
 * a closed pipe downstream (`| head`) is a normal end. */
int wn_status_exit(int status);

#define WN_ERROR_MAX 1024

/* The error of one operation: its status and its message.  Embed by value;
 * no release needed. */
struct wn_error {
	int status;
	char msg[WN_ERROR_MAX];
};

/* Reset to "no error". */
void wn_error_clear(struct wn_error *err);

/*
 * Record an error and return its status, so a caller can write
 *     return wn_error_set(err, WN_EDATA, path, line, "bad row");
 * file may be NULL (no position); line 0 means "file only".  err may be NULL,
 * in which case only the status is returned.  An error already recorded is
 * kept (the first error is the one that explains the rest).
 */
int wn_error_set(struct wn_error *err, int status, const char *file,
                 uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int wn_error_vset(struct wn_error *err, int status, const char *file,
                  uint64_t line, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

/* Like wn_error_set with WN_EIO, appending ": strerror(errnum)". */
int wn_error_errno(struct wn_error *err, int errnum, const char *file,
                   const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Forward a failure: evaluate expr once; if it is negative, return it. */
#define WN_TRY(expr)                                                       \
	do {                                                               \
		int wn_try_status_ = (expr);                               \
		if (wn_try_status_ < 0)                                    \
			return wn_try_status_;                             \
	} while (0)

#ifdef __cplusplus
}
#endif
#endif
