/*
 * status.c - status strings, exit codes and error recording.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "winnow/status.h"

const char *wn_strerror(int status)
{
	switch (status) {
	case WN_OK: return "success";
	case WN_DONE: return "done";
	case WN_EDATA: return "invalid input data";
	case WN_EUSAGE: return "invalid usage";
	case WN_EIO: return "input/output error";
	case WN_ENOMEM: return "out of memory";
	case WN_ETOOBIG: return "record too large";
	case WN_EPIPE: return "output closed";
	case WN_EVERIFY: return "verification failed";
	case WN_EINTERNAL: return "internal error";
	}
	return "unknown status";
}

int wn_status_exit(int status)
{
	switch (status) {
	case WN_OK:
	case WN_DONE:
	case WN_EPIPE:
		return WN_EXIT_OK;
	case WN_EDATA:
	case WN_ETOOBIG:
	case WN_EVERIFY:
		return WN_EXIT_DATA;
	case WN_EUSAGE:
		return WN_EXIT_USAGE;
	default:
		return WN_EXIT_IO;
	}
}

void wn_error_clear(struct wn_error *err)
{
	err->status = WN_OK;
	err->msg[0] = '\0';
}

int wn_error_vset(struct wn_error *err, int status, const char *file,
                  uint64_t line, const char *fmt, va_list ap)
{
	if (!err || err->status < 0)
		return status;
	size_t off = 0;
	if (file && line)
		off = (size_t)snprintf(err->msg, sizeof(err->msg), "%s:%" PRIu64 ": ",
		                       file, line);
	else if (file)
		off = (size_t)snprintf(err->msg, sizeof(err->msg), "%s: ", file);
	if (off < sizeof(err->msg))
		vsnprintf(err->msg + off, sizeof(err->msg) - off, fmt, ap);
	err->status = status;
	return status;
}

int wn_error_set(struct wn_error *err, int status, const char *file,
                 uint64_t line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	wn_error_vset(err, status, file, line, fmt, ap);
	va_end(ap);
	return status;
}

int wn_error_errno(struct wn_error *err, int errnum, const char *file,
                   const char *fmt, ...)
{
	int status = errnum == ENOMEM ? WN_ENOMEM : errnum == EPIPE ? WN_EPIPE : WN_EIO;
	if (!err || err->status < 0)
		return status;
	char what[WN_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return wn_error_set(err, status, file, 0, "%s%s%s", what, *what ? ": " : "",
	                    strerror(errnum));
}
