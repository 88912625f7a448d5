/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for interpreters and the runtime's life: new, enter,
 * destroy (live, dead, main, in use), fini and init again, seal,
 * interleaved with adding hooks (process-wide, to the current interpreter,
 * to another, to a dead one, before init) and raising events, with hooks
 * that fail the events the input chooses.
 *
 * A model keeps what the contract says the library keeps: whether the
 * runtime is up, which interpreters live, the thread's binding, the hooks
 * of each list in the order they were added, the seal. For every
 * operation it predicts the return value, the error class, and the log of
 * hook calls (which hook, which event), in dispatch order: process-wide
 * hooks first, then the interpreter's own, each in the order added, the
 * first failure stopping the dispatch. sysfast_fini's log is compared as a
 * multiset, as the contract fixes no order between interpreters.
 *
 * The seal lasts for the life of the process, so an input's seal runs in a
 * forked child, which finishes the input sealed and reports a failed check
 * by its exit status; the parent stops there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sysfast/sysfast.h>

#include "fuzz.h"
#include "fuzz_input.h"

#define HOOKS 24
#define INTERPS 8
#define LOG_MAX 512

/* The events the hooks tell apart. */
enum { EV_FUZZ, EV_ADD, EV_NEW, EV_CLEAR, EV_CLEAR_HOOKS, EV_OTHER, EV_KINDS };
static const char *const event_names[EV_OTHER] = {
    "fuzz.ev", "sys.addaudithook", "cpython.PyInterpreterState_New",
    "cpython.PyInterpreterState_Clear", "cpython._PySys_ClearAuditHooks"};

struct hook {
	unsigned fail_on; /* bit per event kind */
	bool runtime_error;
};
static struct hook hooks[HOOKS];
static size_t n_hooks;

struct entry {
	unsigned hook, ev;
};
static struct entry rlog[LOG_MAX], mlog[LOG_MAX];
static size_t rn, mn;

static unsigned event_kind(const char *name)
{
	for (unsigned k = 0; k < EV_OTHER; k++)
		if (!strcmp(name, event_names[k]))
			return k;
	return EV_OTHER;
}

/* A hook with this bit (beside the events it fails) also calls back into
 * the runtime while sysfast_fini runs: init must refuse with RuntimeError
 * ("called while sysfast_fini() runs"), creating or destroying an
 * interpreter must fail with an error, and none of it may raise events. */
#define POKE 0x40u

static void poke_finalizing(void)
{
	size_t before = rn;

	CHECK(sysfast_is_initialized());
	CHECK(sysfast_init() == -1 && sysfast_err_occurred() == sysfast_RuntimeError);
	sysfast_err_clear();
	CHECK(sysfast_interp_new() == NULL && sysfast_err_occurred());
	sysfast_err_clear();
	if (sysfast_interp_current())
		CHECK(sysfast_interp_destroy(sysfast_interp_current()) == -1
		      && sysfast_err_occurred());
	sysfast_err_clear();
	CHECK(rn == before);
}

static int hook_fn(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	unsigned h = (unsigned)(uintptr_t)ud, ev = event_kind(name);

	(void)id, (void)args;
	CHECK(!sysfast_err_occurred());
	if (rn < LOG_MAX)
		rlog[rn++] = (struct entry){h, ev};
	if (hooks[h].fail_on & POKE && sysfast_is_finalizing())
		poke_finalizing();
	if (!(hooks[h].fail_on >> ev & 1))
		return 0;
	sysfast_err_set(hooks[h].runtime_error ? sysfast_RuntimeError : sysfast_ValueError,
	                "hook failed");
	return -1;
}

/* ---- the model ---- */

/* An interpreter slot: live, dead (destroyed or finalised) or unused. */
struct interp {
	sysfast_interp *p;
	bool live, main;
	unsigned hooks[HOOKS];
	size_t n;
};

static struct {
	bool up, sealed;
	struct interp in[INTERPS];
	size_t cur; /* the thread's binding: a slot */
	unsigned global[HOOKS];
	size_t n_global;
} m;

static void mlog_add(unsigned hook, unsigned ev)
{
	if (mn < LOG_MAX)
		mlog[mn++] = (struct entry){hook, ev};
}

/* Calls a list of hooks in order; the first failure stops it. */
static const sysfast_exc_type *m_call_list(const unsigned *list, size_t n, unsigned ev)
{
	for (size_t i = 0; i < n; i++) {
		const struct hook *h = &hooks[list[i]];

		mlog_add(list[i], ev);
		if (h->fail_on >> ev & 1)
			return h->runtime_error ? sysfast_RuntimeError : sysfast_ValueError;
	}
	return NULL;
}

/* A dispatch in interpreter slot s: process-wide hooks, then its own. */
static const sysfast_exc_type *m_dispatch(size_t s, unsigned ev)
{
	const sysfast_exc_type *err = m_call_list(m.global, m.n_global, ev);

	return err ? err : m_call_list(m.in[s].hooks, m.in[s].n, ev);
}

static void compare_logs(bool as_multiset)
{
	bool same = rn == mn;

	if (same && as_multiset) {
		/* Each model entry matches a distinct real one. */
		bool used[LOG_MAX] = {0};

		for (size_t i = 0; same && i < mn; i++) {
			size_t j;

			for (j = 0; j < rn; j++)
				if (!used[j] && rlog[j].hook == mlog[i].hook
				    && rlog[j].ev == mlog[i].ev)
					break;
			same = j < rn;
			if (same)
				used[j] = true;
		}
	} else if (same) {
		same = !memcmp(rlog, mlog, rn * sizeof(rlog[0]));
	}
	if (!same) {
		fprintf(stderr, "model log:");
		for (size_t i = 0; i < mn; i++)
			fprintf(stderr, " %u:%u", mlog[i].hook, mlog[i].ev);
		fprintf(stderr, "\nreal log: ");
		for (size_t i = 0; i < rn; i++)
			fprintf(stderr, " %u:%u", rlog[i].hook, rlog[i].ev);
		fprintf(stderr, "\n");
	}
	CHECK(same);
	rn = mn = 0;
}

/* The result of a call: rc and error class as the model says. */
static void expect(int rc, int want_rc, const sysfast_exc_type *want_err)
{
	if (rc != want_rc)
		fprintf(stderr, "rc %d, model %d\n", rc, want_rc);
	CHECK(rc == want_rc);
	CHECK(sysfast_err_occurred() == want_err);
	sysfast_err_clear();
}

/* ---- the operations: model first, then the real call ---- */

static void op_add(size_t target, bool process_wide, unsigned fail_on, bool runtime_error)
{
	unsigned h;
	const sysfast_exc_type *err = NULL;
	int want, rc;
	struct interp *t = &m.in[target % INTERPS];
	sysfast_interp *tp = target == INTERPS ? NULL : t->p;

	if (n_hooks == HOOKS || (!process_wide && target != INTERPS && !t->p))
		return;
	h = (unsigned)n_hooks++;
	hooks[h] = (struct hook){fail_on, runtime_error};
	if (m.sealed && !(m.up || process_wide)) {
		/* Sealed and not initialised, adding to an interpreter: the
		 * contract names both errors and no order between them. */
		rc = sysfast_interp_add_audit_hook(tp, hook_fn, (void *)(uintptr_t)h, NULL);
		CHECK(rc == -1);
		CHECK(sysfast_err_occurred() == sysfast_PermissionError
		      || sysfast_err_occurred() == sysfast_SystemError);
		sysfast_err_clear();
		return;
	}
	if (m.sealed) {
		want = -1, err = sysfast_PermissionError;
	} else if (!m.up) {
		want = process_wide ? 0 : -1;
		err = process_wide ? NULL : sysfast_SystemError;
	} else {
		err = m_dispatch(m.cur, EV_ADD);
		want = !err ? 0 : err == sysfast_RuntimeError ? 1 : -1;
		if (want == 1)
			err = NULL;
		/* A dead target is found after the event: the contract says
		 * ValueError and nothing about the event, and the library
		 * checks under its lock, after the hooks ran. */
		if (!err && want == 0 && !process_wide && target != INTERPS && !t->live)
			want = -1, err = sysfast_ValueError;
	}
	if (want == 0 && process_wide)
		m.global[m.n_global++] = h;
	else if (want == 0)
		m.in[target == INTERPS ? m.cur : target]
		    .hooks[m.in[target == INTERPS ? m.cur : target].n++] = h;

	if (process_wide)
		rc = sysfast_add_audit_hook(hook_fn, (void *)(uintptr_t)h);
	else
		rc = sysfast_interp_add_audit_hook(tp, hook_fn, (void *)(uintptr_t)h, NULL);
	expect(rc, want, err);
	compare_logs(false);
}

static void op_audit(void)
{
	const sysfast_exc_type *err = m.up ? m_dispatch(m.cur, EV_FUZZ) : NULL;

	expect((sysfast_audit)("fuzz.ev", NULL), err ? -1 : 0, err);
	compare_logs(false);
}

static void op_new(void)
{
	const sysfast_exc_type *err;
	sysfast_interp *p;
	size_t s;

	for (s = 0; s < INTERPS && (m.in[s].live || m.in[s].main); s++)
		;
	if (s == INTERPS || !m.up) {
		if (!m.up) {
			CHECK(sysfast_interp_new() == NULL);
			expect(-1, -1, sysfast_SystemError);
		}
		return;
	}
	err = m_dispatch(m.cur, EV_NEW);
	p = sysfast_interp_new();
	if (err) {
		CHECK(p == NULL);
		expect(-1, -1, err);
	} else {
		CHECK(p != NULL);
		expect(0, 0, NULL);
		/* A dead slot at the same address is that address no longer. */
		for (size_t i = 0; i < INTERPS; i++)
			if (m.in[i].p == p)
				m.in[i].p = NULL;
		m.in[s] = (struct interp){.p = p, .live = true};
	}
	compare_logs(false);
}

static void op_enter(size_t s)
{
	struct interp *t = &m.in[s % INTERPS];
	sysfast_interp *prev = m.up ? m.in[m.cur].p : NULL;
	sysfast_interp *got;

	if (!t->p)
		return;
	got = sysfast_interp_enter(t->p);
	if (m.up && t->live) {
		CHECK(got == prev);
		expect(0, 0, NULL);
		m.cur = s % INTERPS;
	} else {
		CHECK(got == NULL);
		expect(-1, -1, m.up ? sysfast_ValueError : sysfast_SystemError);
	}
	CHECK(sysfast_interp_current() == (m.up ? m.in[m.cur].p : NULL));
}

static void op_destroy(size_t s)
{
	struct interp *t = &m.in[s % INTERPS];
	const sysfast_exc_type *err = NULL;
	int want = 0;

	if (!t->p)
		return;
	if (!m.up)
		want = -1, err = sysfast_SystemError;
	else if (t->main || !t->live)
		want = -1, err = sysfast_ValueError;
	else if (m.cur == s % INTERPS)
		want = -1, err = sysfast_RuntimeError;
	if (want == 0) {
		/* Errors of the Clear hooks are cleared. */
		(void)m_dispatch(s % INTERPS, EV_CLEAR);
		t->live = false;
		t->n = 0;
	}
	expect(sysfast_interp_destroy(t->p), want, err);
	compare_logs(false);
}

static void op_fini(bool pending)
{
	if (m.up) {
		for (size_t s = 0; s < INTERPS; s++) {
			if (!m.in[s].live)
				continue;
			(void)m_dispatch(s, EV_CLEAR);
			m.in[s].live = false;
			m.in[s].n = 0;
		}
		(void)m_call_list(m.global, m.n_global, EV_CLEAR_HOOKS);
		m.n_global = 0;
		m.up = false;
	}
	if (pending)
		sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	sysfast_fini();
	CHECK(!sysfast_is_initialized() && !sysfast_is_finalizing());
	CHECK(sysfast_err_occurred() == (pending ? sysfast_KeyboardInterrupt : NULL));
	sysfast_err_clear();
	compare_logs(true);
}

static void op_init(void)
{
	if (!m.up) {
		m.up = true;
		m.in[0] = (struct interp){.live = true, .main = true};
		m.cur = 0;
	}
	CHECK(sysfast_init() == 0);
	m.in[0].p = sysfast_interp_main();
	CHECK(m.in[0].p != NULL && sysfast_interp_current() == m.in[m.cur].p);
	compare_logs(false);
}

static void check_state(void)
{
	CHECK(sysfast_is_initialized() == m.up);
	CHECK(sysfast_interp_current() == (m.up ? m.in[m.cur].p : NULL));
	CHECK(sysfast_interp_main() == (m.up ? m.in[0].p : NULL));
}

/* ---- exception classes and the error indicator ---- */

/* Classes made by the harness in this process (they live until it exits,
 * so their number is capped) and each one's base, the model of
 * sysfast_exc_is_subclass. */
#define CLASSES 256
static const sysfast_exc_type *classes[CLASSES];
static size_t class_base[CLASSES], n_classes;

static bool model_subclass(size_t t, size_t base)
{
	for (;; t = class_base[t]) {
		if (t == base)
			return true;
		if (t == 0)
			return false;
	}
}

/* A new class (name from the input, base one of the earlier ones or
 * Exception), then the checks of the class functions and of an error set
 * with a message longer than the indicator keeps. */
static void op_exception(struct fuzz_input *in)
{
	char name[40], msg[SYSFAST_ERR_MSG_MAX + 64];
	size_t len = fuzz_byte(in) % sizeof(name), base, k;
	const sysfast_exc_type *t;
	int local;

	if (n_classes == 0) {
		classes[0] = sysfast_Exception;
		n_classes = 1;
	}
	for (k = 0; k < len; k++)
		name[k] = (char)(fuzz_byte(in) | 1);
	name[len] = '\0';
	base = fuzz_byte(in) % n_classes;
	t = sysfast_exc_type_new(name, classes[base]);
	if (len == 0) {
		CHECK(t == NULL && sysfast_err_occurred() == sysfast_ValueError);
		sysfast_err_clear();
	} else if (n_classes < CLASSES) {
		CHECK(t != NULL && !strcmp(sysfast_exc_type_name(t), name));
		classes[n_classes] = t;
		class_base[n_classes++] = base;
	}
	CHECK(sysfast_exc_type_new("x", (const sysfast_exc_type *)(const void *)&local) == NULL);
	CHECK(sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	for (size_t i = 0; i < n_classes; i++)
		for (size_t j = 0; j < n_classes; j++)
			CHECK(sysfast_exc_is_subclass(classes[i], classes[j])
			      == model_subclass(i, j));
	CHECK(!sysfast_exc_is_subclass(NULL, sysfast_Exception));
	CHECK(sysfast_exc_type_name((const sysfast_exc_type *)(const void *)&local) == NULL);

	/* A message longer than the indicator keeps: a verbatim prefix. */
	k = fuzz_byte(in) % n_classes;
	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	sysfast_err_format(classes[k], "%s%s", name, msg);
	CHECK(sysfast_err_occurred() == classes[k] && sysfast_err_matches(sysfast_Exception));
	CHECK(strlen(sysfast_err_message()) == SYSFAST_ERR_MSG_MAX);
	CHECK(!strncmp(sysfast_err_message(), name, len));
	CHECK(!sysfast_err_matches(NULL));
	sysfast_err_clear();
	/* Not a class: SystemError, naming the message. */
	sysfast_err_set((const sysfast_exc_type *)(const void *)&local, "lost");
	CHECK(sysfast_err_occurred() == sysfast_SystemError
	      && strstr(sysfast_err_message(), "message: lost"));
	sysfast_err_set(NULL, NULL);
	CHECK(sysfast_err_occurred() == sysfast_SystemError && !strcmp(sysfast_err_message(), ""));
	sysfast_err_clear();
	CHECK(!sysfast_err_occurred() && !strcmp(sysfast_err_message(), ""));
}

/* NULL where an interpreter belongs: ValueError (SystemError when the
 * runtime is down), nothing changed. */
static void op_null_interp(void)
{
	const sysfast_exc_type *want = m.up ? sysfast_ValueError : sysfast_SystemError;
	char version[32];

	CHECK(sysfast_interp_enter(NULL) == NULL && sysfast_err_occurred() == want);
	sysfast_err_clear();
	CHECK(sysfast_interp_destroy(NULL) == -1 && sysfast_err_occurred() == want);
	sysfast_err_clear();
	snprintf(version, sizeof(version), "%d.%d.%d", SYSFAST_VERSION_MAJOR, SYSFAST_VERSION_MINOR,
	         SYSFAST_VERSION_PATCH);
	CHECK(!strcmp(sysfast_version(), version));
}

static void run(struct fuzz_input *in);

/* A coverage build's profile runtime, when linked in: the sealed child
 * writes its counters before it leaves (tools/fuzz.sh --coverage). */
int __llvm_profile_write_file(void) __attribute__((weak));

/* Seals in a child, which runs the rest of the input sealed. */
static void op_seal(struct fuzz_input *in)
{
	pid_t pid;
	int status;

	if (m.sealed) {
		CHECK(sysfast_audit_seal() == 0);
		return;
	}
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		CHECK(sysfast_audit_seal() == 0 && sysfast_audit_seal() == 0);
		m.sealed = true;
		run(in);
		if (__llvm_profile_write_file)
			__llvm_profile_write_file();
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	in->p = in->end;
}

static void run(struct fuzz_input *in)
{
	while (fuzz_more(in)) {
		unsigned op = fuzz_byte(in), arg = op >> 4;

		switch (op & 15) {
		case 0:
		case 1:
		case 2: { /* add: 0 process-wide, 1 current, 2 to slot `arg` */
			unsigned fail_on = fuzz_byte(in) & (0x1f | POKE);

			op_add(op % 16 == 2 ? arg % INTERPS : INTERPS, op % 16 == 0, fail_on,
			       arg & 8);
			break;
		}
		case 3:
		case 4:
			op_audit();
			break;
		case 5:
			op_new();
			break;
		case 6:
			op_enter(arg);
			break;
		case 7:
			op_destroy(arg);
			break;
		case 8:
			op_fini(arg & 1);
			break;
		case 9:
			op_init();
			break;
		case 10:
			if (arg == 0xf)
				op_seal(in);
			break;
		case 11:
			op_exception(in);
			break;
		case 12:
			op_null_interp();
			break;
		default:
			op_enter(0);
			break;
		}
		check_state();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, data + size};

	memset(&m, 0, sizeof(m));
	n_hooks = 0;
	rn = mn = 0;
	CHECK(sysfast_init() == 0);
	m.up = true;
	m.in[0] = (struct interp){.p = sysfast_interp_main(), .live = true, .main = true};
	run(&in);
	/* Hooks added before init are kept until a fini of a running
	 * runtime: drop them here, not in the next input. */
	sysfast_err_clear();
	CHECK(sysfast_init() == 0);
	sysfast_fini();
	rn = 0;
	return 0;
}
