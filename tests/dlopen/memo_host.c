/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast_audit's memo against a library unloaded and another loaded in
 * its place: the event name is a literal of memo_name_a.so, raised until
 * the memo remembers its address; the library is closed and
 * memo_name_b.so opened, whose literal (other text, same length) the
 * loader usually puts at the same address. Each call must raise the event
 * its text names: the memo trusts addresses without comparing text only
 * inside the main program, which is never unloaded.
 *
 *   memo_host DIR    (DIR holds memo_name_a.so and memo_name_b.so)
 *
 * Exit status 0 when every call raised what its text names, 1 otherwise;
 * prints whether the two literals shared an address (a loader that placed
 * them apart tests less, not wrongly).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <sysfast/sysfast.h>

static const char *heard;

static int hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	(void)id;
	(void)args;
	(void)ud;
	if (strncmp(name, "site.dso.", 9) == 0)
		heard = name;
	return 0;
}

/* The name literal of DIR/FILE, with the handle in *lib. */
static const char *open_name(const char *dir, const char *file, void **lib)
{
	char path[4096];
	const char *(*fn)(void);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	*lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!*lib) {
		fprintf(stderr, "memo_host: %s\n", dlerror());
		return NULL;
	}
	*(void **)&fn = dlsym(*lib, "memo_event_name");
	return fn ? fn() : NULL;
}

/* Raises `name` a few times (the memo remembers it from the first); 0 if
 * the hook heard `want` each time. */
static int raise_as(const char *name, const char *want)
{
	for (int i = 0; i < 4; i++) {
		heard = NULL;
		if (sysfast_audit(name, "(i)", i) != 0 || !heard || strcmp(heard, want) != 0) {
			fprintf(stderr, "memo_host: raised %s, hook heard %s\n", want,
			        heard ? heard : "nothing");
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *a, *b;
	void *lib;
	int failed;

	if (argc != 2 || sysfast_init() < 0 || sysfast_add_audit_hook(hook, NULL) < 0)
		return 2;
	a = open_name(argv[1], "memo_name_a.so", &lib);
	if (!a || raise_as(a, "site.dso.aaaa"))
		return 1;
	dlclose(lib);
	b = open_name(argv[1], "memo_name_b.so", &lib);
	if (!b)
		return 1;
	printf("the second library's name is %s the first's address\n",
	       (const void *)a == (const void *)b ? "at" : "not at");
	failed = raise_as(b, "site.dso.bbbb");
	dlclose(lib);
	sysfast_fini();
	return failed;
}
