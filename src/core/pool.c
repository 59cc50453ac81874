/*
 * pool.c - worker threads that share the items of one batch.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"

struct worker {
	struct wn_pool *p;
	unsigned id;
	pthread_t thread;
	int started;
};

struct wn_pool {
	unsigned nthreads;
	struct worker *workers; /* nthreads - 1 */
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	unsigned long generation;
	unsigned running;
	int stop;
	int out;                /* a batch is out: wn_pool_wait() not yet called */
	/* the batch being worked on: read by every call */
	size_t n;
	wn_pool_fn fn;
	void *arg;
	/* the next item, on a cache line of its own: taking an item must not
	 * take the line above from the other threads */
	_Alignas(64) atomic_size_t next;
	char pad[64 - sizeof(atomic_size_t)];
};

static void work(struct wn_pool *p, unsigned id)
{
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		p->fn(p->arg, id, i);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct wn_pool *p = w->p;
	unsigned long seen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->generation == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->stop)
			break;
		seen = p->generation;
		pthread_mutex_unlock(&p->mu);
		work(p, w->id);
		pthread_mutex_lock(&p->mu);
		if (--p->running == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int wn_pool_new(struct wn_pool **out, unsigned nthreads)
{
	*out = NULL;
	struct wn_pool *p = aligned_alloc(_Alignof(struct wn_pool), sizeof(*p));
	if (!p)
		return WN_ENOMEM;
	memset(p, 0, sizeof(*p));
	p->nthreads = nthreads ? nthreads : 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	*out = p;
	if (p->nthreads == 1)
		return WN_OK;
	p->workers = calloc(p->nthreads - 1, sizeof(*p->workers));
	if (!p->workers)
		return WN_ENOMEM;
	for (unsigned i = 0; i + 1 < p->nthreads; i++) {
		struct worker *w = &p->workers[i];
		w->p = p;
		w->id = i + 1;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			return WN_EIO;
		w->started = 1;
	}
	return WN_OK;
}

unsigned wn_pool_threads(const struct wn_pool *p)
{
	return p->nthreads;
}

void wn_pool_start(struct wn_pool *p, size_t n, wn_pool_fn fn, void *arg)
{
	p->n = n;
	p->fn = fn;
	p->arg = arg;
	p->out = 1;
	atomic_store(&p->next, 0);
	unsigned helpers = 0;
	for (unsigned i = 0; p->workers && i + 1 < p->nthreads; i++)
		helpers += p->workers[i].started;
	/* alone, or too little to share: wn_pool_wait() does it all */
	if (!helpers || n < 2)
		return;
	pthread_mutex_lock(&p->mu);
	p->running = helpers;
	p->generation++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
}

void wn_pool_wait(struct wn_pool *p)
{
	if (!p->out)
		return;
	work(p, 0);
	pthread_mutex_lock(&p->mu);
	while (p->running)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	p->out = 0;
}

void wn_pool_run(struct wn_pool *p, size_t n, wn_pool_fn fn, void *arg)
{
	wn_pool_start(p, n, fn, arg);
	wn_pool_wait(p);
}

void wn_pool_free(struct wn_pool *p)
{
	if (!p)
		return;
	/* a batch still out (the caller stopped early): skip what no thread
	 * has begun; the joins below wait for the calls under way */
	atomic_store(&p->next, p->n);
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; p->workers && i + 1 < p->nthreads; i++)
		if (p->workers[i].started)
			pthread_join(p->workers[i].thread, NULL);
	free(p->workers);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p);
}
