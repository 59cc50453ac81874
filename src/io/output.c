/*
 * output.c - writing whole buffers to file descriptors.
 */
#include <errno.h>
#include <unistd.h>

#include "winnow/io.h"

int wn_write_all(int fd, const void *p, size_t n, const char *name, struct wn_error *err)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				return WN_EPIPE;
			return wn_error_errno(err, errno, name, "write error");
		}
		c += w;
		n -= (size_t)w;
	}
	return WN_OK;
}
