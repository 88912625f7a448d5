/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast-python: python3 with sysfast's bridge in place before CPython
 * starts, so that a log sees the start-up events too (PEP 551).
 *
 *   SYSFAST_LOG=FILE      a JSON Lines sink, in before Py_Initialize
 *   SYSFAST_EVENTS=P,...  the events it writes (default: every event)
 *   SYSFAST_POLICY=FILE   a policy file, in place after start-up and
 *                         before the program's first line
 *
 * Otherwise it is python3: the same options and arguments, parsed by
 * CPython. The module sysfast._sysfast is built in (the same sources as
 * the extension, and libsysfast statically): a launcher that linked
 * libsysfast while `import sysfast` loaded the extension would hold two
 * runtimes, the launcher's hooks in one and the program's subscriptions
 * in the other. Built in, `import sysfast` gets the one copy, whose
 * bridge is already in. docs/python.md, "The launcher".
 *
 * Exit status 2, before the program runs, when a variable cannot be used.
 */
#include "sysfast/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "sysfast-python"

/* Splits `list` (comma-separated patterns, changed in place) into
 * patterns[0..*n); spaces around a pattern are dropped. Returns 0, or -1
 * for an empty pattern. */
static int split_patterns(char *list, const char **patterns, size_t *n)
{
	char *p = list;

	*n = 0;
	for (;;) {
		char *end = strchr(p, ',');
		char *last;

		if (end)
			*end = '\0';
		while (*p == ' ')
			p++;
		last = p + strlen(p);
		while (last > p && last[-1] == ' ')
			*--last = '\0';
		if (!*p)
			return -1;
		patterns[(*n)++] = p;
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* Before Py_Initialize: the bridge, and the sink of SYSFAST_LOG. */
static int preinit(void)
{
	const char *log = getenv("SYSFAST_LOG"), *events = getenv("SYSFAST_EVENTS");
	const char **patterns = NULL;
	char err[512], *list = NULL;
	size_t n = 0;
	int rc = -1;

	if (sysfast__install_bridge_preinit(err, sizeof(err)) < 0)
		goto out;
	if (events && *events && !(log && *log)) {
		snprintf(err, sizeof(err),
		         "SYSFAST_EVENTS chooses what SYSFAST_LOG writes: "
		         "SYSFAST_LOG is not set");
		goto out;
	}
	if (!log || !*log)
		return 0;
	if (events && *events) {
		list = strdup(events);
		/* At most one pattern per byte. */
		patterns = calloc(strlen(events) + 1, sizeof(*patterns));
		if (!list || !patterns) {
			snprintf(err, sizeof(err), "out of memory");
			goto out;
		}
		if (split_patterns(list, patterns, &n) < 0) {
			snprintf(err, sizeof(err), "SYSFAST_EVENTS: an empty pattern in '%s'",
			         events);
			goto out;
		}
	}
	rc = sysfast__sink_preinit(log, patterns, n, err, sizeof(err));
out:
	if (rc < 0)
		fprintf(stderr, PROG ": %s\n", err);
	free(list);
	free(patterns);
	return rc;
}

/* After start-up, before the program: SYSFAST_POLICY through
 * sysfast._policy.launch, which says why a file cannot be used. */
static int apply_policy(const char *path)
{
	PyObject *module, *why;

	module = PyImport_ImportModule("sysfast._policy");
	if (!module) {
		fprintf(stderr, PROG ": SYSFAST_POLICY needs the sysfast package, which failed to "
		                     "import:\n");
		PyErr_Print();
		return -1;
	}
	why = PyObject_CallMethod(module, "launch", "O&", PyUnicode_DecodeFSDefault, path);
	Py_DECREF(module);
	if (!why) {
		PyErr_Print();
		return -1;
	}
	if (why != Py_None) {
		const char *text = PyUnicode_AsUTF8(why);

		fprintf(stderr, PROG ": SYSFAST_POLICY: %s\n", text ? text : "(unprintable)");
		Py_DECREF(why);
		return -1;
	}
	Py_DECREF(why);
	return 0;
}

int main(int argc, char **argv)
{
	const char *policy = getenv("SYSFAST_POLICY");
	PyConfig config;
	PyStatus status;

	if (PyImport_AppendInittab("sysfast._sysfast", PyInit__sysfast) < 0) {
		fprintf(stderr, PROG ": PyImport_AppendInittab failed\n");
		return 2;
	}
	if (preinit() < 0)
		return 2;
	/* As python3's own main: CPython parses the command line. */
	PyConfig_InitPythonConfig(&config);
	status = PyConfig_SetBytesArgv(&config, argc, argv);
	if (!PyStatus_Exception(status))
		status = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(status)) {
		if (PyStatus_IsExit(status))
			return status.exitcode;
		Py_ExitStatusException(status);
	}
	if (policy && *policy && apply_policy(policy) < 0) {
		Py_FinalizeEx();
		return 2;
	}
	return Py_RunMain();
}
