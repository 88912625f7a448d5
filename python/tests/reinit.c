/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An embedding program that starts CPython twice in one process, as
 * embedders do, and imports sysfast each time. Py_Finalize clears every
 * native audit hook, so the second import must add the bridge again; and
 * what the first interpreter subscribed must not run in the second.
 *
 *     reinit
 *
 * with PYTHONPATH pointing at the build tree's package.
 */
#include <Python.h>
#include <stdio.h>

static const char script[] = "import sys, sysfast\n"
                             "seen = []\n"
                             "sysfast.subscribe(lambda e, a: seen.append(e), 'reinit.event')\n"
                             "sys.audit('reinit.event')\n"
                             "assert seen == ['reinit.event'], seen\n";

static int run_once(int round)
{
	int rc;

	Py_Initialize();
	rc = PyRun_SimpleString(script);
	if (Py_FinalizeEx() < 0)
		rc = -1;
	printf("round %d: %s\n", round, rc == 0 ? "ok" : "FAIL");
	return rc;
}

int main(void)
{
	if (run_once(1) != 0 || run_once(2) != 0)
		return 1;
	return 0;
}
