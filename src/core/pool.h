/*
 * pool.h - worker threads for the per-record work of a stage (tokenizing,
 * filtering, hashing for dedup); not installed.
 *
 * wn_pool_run(pool, n, fn, arg) calls fn(arg, worker, i) once for every
 * i in [0, n), spread over the calling thread (worker 0) and the pool's
 * threads (workers 1 .. nthreads-1), and returns when all calls are done.
 * Work is taken one item at a time, so results must go to per-item slots;
 * worker numbers let each thread use its own scratch space.  The caller
 * then uses the results in item order, which keeps output independent of
 * the thread count.
 *
 * wn_pool_start() and wn_pool_wait() split wn_pool_run() in two:
 * start hands the calls to the pool's threads and returns at once, so that
 * the caller can do other work (with the results of an earlier batch)
 * while they run; wait helps with the calls still left, then returns when
 * no thread is on them.  One batch is out at a time: every start is
 * followed by a wait before the next start or run.
 */
#ifndef WN_CORE_POOL_H
#define WN_CORE_POOL_H

#include <stddef.h>

#include "winnow/status.h"

struct wn_pool;

typedef void (*wn_pool_fn)(void *arg, unsigned worker, size_t i);

/* A pool of nthreads >= 1 workers (nthreads - 1 threads are started).
 * WN_ENOMEM, WN_EIO when a thread cannot be started. */
int wn_pool_new(struct wn_pool **p, unsigned nthreads);
/* Also stops a started batch: calls not yet begun are skipped. */
void wn_pool_free(struct wn_pool *p);
unsigned wn_pool_threads(const struct wn_pool *p);
void wn_pool_run(struct wn_pool *p, size_t n, wn_pool_fn fn, void *arg);
void wn_pool_start(struct wn_pool *p, size_t n, wn_pool_fn fn, void *arg);
void wn_pool_wait(struct wn_pool *p);

#endif
