/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A host that does not link libsysfast: it starts its worker threads,
 * then loads plugin.so (which links libsysfast) with dlopen, as editors,
 * servers and language runtimes load plugins, and has every thread raise
 * events through it. The threads exist before the library is loaded, so
 * their TLS blocks predate it: libsysfast must reach its thread-local
 * state through dynamic TLS, and set each thread up on first use.
 *
 *   host PLUGIN_PATH
 *
 * Prints what it checked; exits 0 when every event reached the hook.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum { THREADS = 4, EVENTS = 30000 };

static pthread_barrier_t loaded;
static long (*plugin_raise)(long n);

static void *worker(void *arg)
{
	long *failed = arg;

	/* Wait until the main thread has loaded the plugin. */
	pthread_barrier_wait(&loaded);
	*failed = plugin_raise(EVENTS);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t threads[THREADS];
	long failed[THREADS + 1];
	int (*plugin_init)(const char **why);
	unsigned long (*plugin_seen)(void);
	const char *why = "";
	unsigned long seen, want = (THREADS + 1) * (unsigned long)EVENTS;
	long total_failed = 0;
	void *plugin;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PLUGIN_PATH\n", argv[0]);
		return 2;
	}
	pthread_barrier_init(&loaded, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&threads[i], NULL, worker, &failed[i]) != 0) {
			fprintf(stderr, "FAIL: pthread_create\n");
			return 1;
		}

	plugin = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!plugin) {
		fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
		exit(1); /* the workers wait at the barrier forever */
	}
	plugin_init = (int (*)(const char **))dlsym(plugin, "plugin_init");
	plugin_raise = (long (*)(long))dlsym(plugin, "plugin_raise");
	plugin_seen = (unsigned long (*)(void))dlsym(plugin, "plugin_seen");
	if (!plugin_init || !plugin_raise || !plugin_seen) {
		fprintf(stderr, "FAIL: dlsym: %s\n", dlerror());
		exit(1);
	}
	if (plugin_init(&why) < 0) {
		fprintf(stderr, "FAIL: plugin_init: %s\n", why);
		exit(1);
	}

	pthread_barrier_wait(&loaded);
	failed[THREADS] = plugin_raise(EVENTS);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i <= THREADS; i++)
		total_failed += failed[i];
	seen = plugin_seen();

	printf("dlopen(%s): %d threads started before the load and the main thread "
	       "raised %lu events; the hook saw %lu, %ld calls failed\n",
	       argv[1], THREADS, want, seen, total_failed);
	if (seen != want || total_failed != 0) {
		printf("FAIL\n");
		return 1;
	}
	printf("OK\n");
	return 0;
}
