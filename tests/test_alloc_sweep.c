/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The allocation-failure sweep, after SQLite's malloc tests.
 *
 * One scenario goes through every public area step by step: hooks added
 * before and after init, with and without filters, process-wide and per
 * interpreter; interpreters created, entered and destroyed; event names
 * interned by dispatches, by sysfast_event_intern and by hook filters, in
 * several interpreters; interned strings; getsizeof and deepsizeof;
 * tracing; exception classes; fini, a second init, the seal. After every
 * step a battery of dispatches records what each hook receives.
 *
 * A fault-free run counts the allocation attempts the scenario makes (N)
 * through the library's allocation seam; the sweep finds the allocation
 * points by that count, not from a list. Then, for each k in 1..N, the
 * scenario runs twice more: with the k-th attempt failing ("once") and
 * with it and every later one failing ("persistent"). At the step whose
 * call was hit, the run checks what docs/api.md promises ("Conventions", "Out of memory"):
 * -1/NULL with sysfast_MemoryError and a message; nothing changed (the
 * hooks a battery of probe dispatches reaches in every interpreter,
 * sysfast_audit_active, no slot serving an id not handed out, event ids
 * and the count, interned strings, the tracing state, the live blocks and
 * mappings); whatever hooks saw during
 * the failed call is a prefix of what they see in a successful one. A
 * "once" run then retries the call with faults off, which must behave as
 * a first try, and goes on: its whole dispatch log must equal the
 * fault-free one. A "persistent" run goes to sysfast_fini with every
 * allocation still failing, which must finish and do what it must (the
 * Clear events, every hook dropped), then recovers with faults off (init,
 * an add, a dispatch, fini). Every run ends with a leak check: once the
 * deferred frees are done (urcu_memb_barrier), the blocks and mappings
 * still live are exactly the immortal ones (event names, id-table chunks,
 * exception classes), and in ASan builds LeakSanitizer agrees.
 *
 * Up to its fault a run must make exactly the attempts the fault-free one
 * made, step by step (else it "diverged": the count would not find the
 * points). The fault-free run prints which step makes which attempts.
 *
 * Each run is a forked child: event names and the seal are process-wide
 * and immortal, so only a fresh process starts every run from the same
 * state, and a crash or a hang takes down its own run only. The parent
 * never calls the library. Children report through a shared mapping; the
 * parent prints every failing point (the step and the symptom) and a
 * summary, and fails the test on any.
 *
 * SYSFAST_SWEEP_K=k restricts the sweep to one injection point, to
 * reproduce a failure; SYSFAST_SWEEP_JOBS=n runs n children at once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define SWEEP_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWEEP_LSAN 1
#endif
#endif
#ifdef SWEEP_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* A run takes milliseconds (tens under ASan); a child still going after
 * this is stuck. */
#define CHILD_TIMEOUT_S 5
/* Far more than the scenario makes (about a hundred). */
#define MAX_ATTEMPTS 2048

/* ---- the hooks the scenario adds ---- */

#define GLOBAL (-1)
enum { IN_MAIN, IN_S1, IN_S2, N_INTERPS };
static const char *const interp_label[N_INTERPS] = {"main", "S1", "S2"};

struct hook_def {
	const char *label;
	int scope; /* GLOBAL or the interpreter, IN_* */
	const char *const *events;
	size_t n_events;
};

static const char *const g1_events[] = {"os.chdir", "app.start"};
/* The last name: so that fini, which rebuilds every slot, must keep this
 * filtered process-wide hook's own snapshot for it. */
static const char *const g2_events[] = {"os.*", "cpython._PySys_ClearAuditHooks"};
static const char *const m1_events[] = {"app.*", "sys.setprofile"};
static const char *const s1a_events[] = {"os.*", "cpython.*"};
static const char *const s2a_events[] = {"net.connect", "app.later"};

#define EVENTS(a) a, sizeof(a) / sizeof(a[0])

/* In the order the scenario adds them. */
enum { H_G0, H_G1, H_G2, H_M0, H_M1, H_S1A, H_S1B, H_S2A, H_G3, H_G4, N_HOOKS };
static const struct hook_def hook_defs[N_HOOKS] = {
    [H_G0] = {"G0", GLOBAL, NULL, 0},
    [H_G1] = {"G1", GLOBAL, EVENTS(g1_events)},
    [H_G2] = {"G2", GLOBAL, EVENTS(g2_events)},
    [H_M0] = {"M0", IN_MAIN, NULL, 0},
    [H_M1] = {"M1", IN_MAIN, EVENTS(m1_events)},
    [H_S1A] = {"S1a", IN_S1, EVENTS(s1a_events)},
    [H_S1B] = {"S1b", IN_S1, NULL, 0},
    [H_S2A] = {"S2a", IN_S2, EVENTS(s2a_events)},
    [H_G3] = {"G3", GLOBAL, NULL, 0},
    [H_G4] = {"G4", GLOBAL, NULL, 0},
};

/* Every name the scenario uses, and one it never interns: the batteries
 * dispatch each one that has an id. */
static const char *const names[] = {
    "sys.addaudithook",
    "cpython.PyInterpreterState_New",
    "cpython.PyInterpreterState_Clear",
    "cpython._PySys_ClearAuditHooks",
    "app.start",
    "os.chdir",
    "os.listdir",
    "os.remove",
    "net.connect",
    "app.stop",
    "app.later",
    "sys.settrace",
    "sys.setprofile",
    "app.final",
    "os.never",
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

static const char *const strs[] = {"alpha", "beta", "gamma"};
#define N_STRS (sizeof(strs) / sizeof(strs[0]))

static bool pattern_matches(const char *pattern, const char *name)
{
	size_t len = strlen(pattern);

	if (pattern[len - 1] == '*')
		return strncmp(pattern, name, len - 1) == 0;
	return strcmp(pattern, name) == 0;
}

static bool hook_matches(int h, const char *name)
{
	const struct hook_def *d = &hook_defs[h];

	if (!d->events)
		return true;
	for (size_t i = 0; i < d->n_events; i++)
		if (pattern_matches(d->events[i], name))
			return true;
	return false;
}

/* ---- what hooks and tracers receive ---- */

enum { WHO_TRACER = N_HOOKS, WHO_PROFILER };

struct entry {
	uint32_t who;    /* a hook (H_*) or WHO_* */
	uint32_t what;   /* hooks: 1 if `name` was not sysfast_event_name(id) */
	uint32_t id;     /* hooks: the event; tracers: the frame's line */
	uint64_t digest; /* of the arguments */
};

#define LOG_MAX 8192
struct log {
	size_t n, lost;
	struct entry e[LOG_MAX];
};

#define PROBE_MAX 1024
struct probe_log {
	size_t n, lost;
	struct entry e[PROBE_MAX];
};

/* Where the hooks write: the run's log, or a snapshot's probe log. */
static struct entry *cur_entries;
static size_t *cur_n, *cur_lost, cur_max;

static void log_add(struct entry e)
{
	if (*cur_n >= cur_max) {
		(*cur_lost)++;
		return;
	}
	cur_entries[(*cur_n)++] = e;
}

#define LOG_TO(l)                                                                                  \
	do {                                                                                       \
		cur_entries = (l)->e;                                                              \
		cur_n = &(l)->n;                                                                   \
		cur_lost = &(l)->lost;                                                             \
		cur_max = sizeof((l)->e) / sizeof((l)->e[0]);                                      \
	} while (0)

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h;
}

static uint64_t arg_digest(uint64_t h, const sysfast_arg *a)
{
	h = mix(h, &a->kind, sizeof(a->kind));
	switch (a->kind) {
	case SYSFAST_ARG_BOOL:
		return mix(h, &a->v.b, sizeof(a->v.b));
	case SYSFAST_ARG_INT:
		return mix(h, &a->v.i, sizeof(a->v.i));
	case SYSFAST_ARG_UINT:
		return mix(h, &a->v.u, sizeof(a->v.u));
	case SYSFAST_ARG_FLOAT:
		return mix(h, &a->v.f, sizeof(a->v.f));
	case SYSFAST_ARG_STR:
		return mix(h, a->v.s, a->len);
	case SYSFAST_ARG_BYTES:
		return mix(h, a->v.p, a->len);
	case SYSFAST_ARG_TUPLE:
		for (size_t i = 0; i < a->len; i++)
			h = arg_digest(h, &a->v.items[i]);
		return h;
	default:
		return h;
	}
}

static uint64_t args_digest(const sysfast_args *args)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	h = mix(h, &args->n, sizeof(args->n));
	for (size_t i = 0; i < args->n; i++)
		h = arg_digest(h, &args->items[i]);
	return h;
}

static int record_hook(sysfast_event_id id, const char *name, const sysfast_args *args,
                       void *userdata)
{
	const struct hook_def *d = userdata;

	log_add((struct entry){(uint32_t)(d - hook_defs), name != sysfast_event_name(id), id,
	                       args_digest(args)});
	return 0;
}

/* The tracer sets itself as the local tracer of each frame it is called
 * for, so that the frame's line and return events reach it too. */
static int record_trace(void *data, sysfast_frame *f, sysfast_trace_what what,
                        const sysfast_arg *arg)
{
	uint32_t who = (uint32_t)(uintptr_t)data;

	log_add((struct entry){who, what, (uint32_t)f->lineno, arg ? arg_digest(0, arg) : 0});
	if (who == WHO_TRACER && what == SYSFAST_TRACE_CALL)
		sysfast_frame_set_local_tracer(f, record_trace, data);
	return 0;
}

static const char *who_label(uint32_t who)
{
	if (who < N_HOOKS)
		return hook_defs[who].label;
	return who == WHO_TRACER ? "tracer" : "profiler";
}

static void entry_describe(char *buf, size_t size, const struct entry *e)
{
	if (e->who < N_HOOKS) {
		const char *name = sysfast_event_name(e->id);

		snprintf(buf, size, "hook %s got '%s'%s", who_label(e->who), name ? name : "?",
		         e->what ? " with a wrong name pointer" : "");
	} else {
		snprintf(buf, size, "%s got event %u at line %u", who_label(e->who), e->what,
		         e->id);
	}
}

static bool entry_equal(const struct entry *a, const struct entry *b)
{
	return a->who == b->who && a->what == b->what && a->id == b->id && a->digest == b->digest;
}

/* ---- what a run reports ---- */

enum symptom {
	SYM_OK,
	SYM_CRASH,
	SYM_HANG,
	SYM_SANITIZER,
	SYM_WRONG_RETURN,
	SYM_WRONG_ERROR,
	SYM_BROKEN_STATE,
	SYM_LEAK,
	SYM_FINI,
	SYM_DIVERGED,
	N_SYMPTOMS
};

static const char *const symptom_label[N_SYMPTOMS] = {
    [SYM_OK] = "ok",
    [SYM_CRASH] = "crash",
    [SYM_HANG] = "hang",
    [SYM_SANITIZER] = "sanitizer report or abnormal exit",
    [SYM_WRONG_RETURN] = "wrong return",
    [SYM_WRONG_ERROR] = "wrong error",
    [SYM_BROKEN_STATE] = "broken state",
    [SYM_LEAK] = "leak",
    [SYM_FINI] = "fini broken",
    [SYM_DIVERGED] = "run diverged from the fault-free one",
};

struct outcome {
	int step;        /* running when the run ended or broke */
	int failed_step; /* whose call the fault hit; -1: none yet */
	int symptom;
	bool reached;  /* the k-th attempt was made */
	bool absorbed; /* the call hit succeeded all the same */
	bool finished;
	char msg[320];
};

/* ---- the fault-free run, which the others are compared with ---- */

struct ref_step {
	unsigned long attempts_before, attempts_after;
	size_t log_before, log_after;
};

/* Filled in below; a constant so that arrays can be sized by it. */
#define N_STEPS 43

struct reference {
	unsigned long attempts; /* N */
	struct ref_step steps[N_STEPS];
	struct log log;
};

/* ---- one run ---- */

struct node {
	sysfast_object ob;
	const sysfast_object *kids[3];
};

struct run {
	struct reference *rec;       /* the fault-free run records here */
	const struct reference *ref; /* the others compare with it */
	struct outcome *out;
	unsigned long fault_at; /* 0: none */
	bool persistent;
	bool stopped; /* a persistent run ended early, as it should */
	int step;
	size_t events0, chunks0, index0;
	sysfast_interp *interp[N_INTERPS]; /* live ones */
	bool added[N_HOOKS];
	sysfast_str *held[N_STRS];
	sysfast_str *alpha_copy;
	size_t alpha_size;
	unsigned long classes;
	bool sealed;
	struct node nodes[3];
	struct log log;
};

static struct run run_state;

static _Noreturn void fail_run(struct run *r, int symptom, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_run(struct run *r, int symptom, const char *fmt, ...)
{
	va_list va;

	/* A check inside a step's own call can be the one that fails. */
	if (sysfast__alloc_stats().failures && !r->out->reached) {
		r->out->reached = true;
		r->out->failed_step = r->step;
	}
	r->out->symptom = symptom;
	va_start(va, fmt);
	vsnprintf(r->out->msg, sizeof(r->out->msg), fmt, va);
	va_end(va);
	_exit(1);
}

/* sysfast_err_message() for a report, with the class. */
static const char *error_text(void)
{
	static char buf[300];
	const sysfast_exc_type *t = sysfast_err_occurred();

	snprintf(buf, sizeof(buf), "%s: %s", t ? sysfast_exc_type_name(t) : "no error",
	         sysfast_err_message());
	return buf;
}

static size_t chunk_count(void)
{
	size_t n = 0;

	for (size_t i = 0; i < SYSFAST__SLOT_DIR; i++)
		n += __atomic_load_n(&sysfast__event_chunks[i], __ATOMIC_ACQUIRE) != NULL;
	return n;
}

/* ---- the scenario's steps ---- */

/* Each step makes one call that may allocate and returns what that call
 * returned: 0 or -1 with the error set. A step changes the run's record
 * of the state only when its call succeeded, so that it can be retried. */

static int add_hook(struct run *r, int h)
{
	const struct hook_def *d = &hook_defs[h];
	sysfast_hook_options opts = {0, d->events, d->n_events};
	void *ud = (void *)(uintptr_t)d;
	int rc;

	if (d->scope == GLOBAL && !d->events)
		rc = sysfast_add_audit_hook(record_hook, ud);
	else if (d->scope == GLOBAL)
		rc = sysfast_add_audit_hook_ex(record_hook, ud, &opts);
	else
		/* The main interpreter's hooks go through NULL (current). */
		rc = sysfast_interp_add_audit_hook(d->scope == IN_MAIN ? NULL : r->interp[d->scope],
		                                   record_hook, ud, d->events ? &opts : NULL);
	if (rc == 0)
		r->added[h] = true;
	else if (rc != -1)
		fail_run(r, SYM_WRONG_RETURN, "adding %s returned %d", d->label, rc);
	return rc;
}

static int step_add_g0(struct run *r)
{
	return add_hook(r, H_G0);
}

static int step_init(struct run *r)
{
	if (sysfast_init() < 0)
		return -1;
	r->interp[IN_MAIN] = sysfast_interp_main();
	return 0;
}

static int step_macro_new_name(struct run *r)
{
	(void)r;
	return SYSFAST_AUDIT("app.start", SYSFAST_INT(1), SYSFAST_STR("x"));
}

static int step_add_g1(struct run *r)
{
	return add_hook(r, H_G1);
}

static int step_add_g2(struct run *r)
{
	return add_hook(r, H_G2);
}

static int step_audit_known(struct run *r)
{
	(void)r;
	return sysfast_audit("os.chdir", "s", "/tmp");
}

static int step_audit_new_name(struct run *r)
{
	(void)r;
	return sysfast_audit("os.listdir", "(si)", "/", 3);
}

static int step_add_m0(struct run *r)
{
	return add_hook(r, H_M0);
}

static int step_add_m1(struct run *r)
{
	return add_hook(r, H_M1);
}

static int new_interp(struct run *r, int slot)
{
	sysfast_interp *interp = sysfast_interp_new();

	if (!interp)
		return -1;
	r->interp[slot] = interp;
	return 0;
}

static int step_new_s1(struct run *r)
{
	return new_interp(r, IN_S1);
}

static int step_add_s1a(struct run *r)
{
	return add_hook(r, H_S1A);
}

static int step_add_s1b(struct run *r)
{
	return add_hook(r, H_S1B);
}

static int enter(struct run *r, int slot)
{
	return sysfast_interp_enter(r->interp[slot]) ? 0 : -1;
}

static int step_enter_s1(struct run *r)
{
	return enter(r, IN_S1);
}

static int step_macro_new_name_in_s1(struct run *r)
{
	(void)r;
	return SYSFAST_AUDIT("os.remove", SYSFAST_STR("f"));
}

static int intern_event(const char *name)
{
	return sysfast_event_intern(name) ? 0 : -1;
}

static int step_intern_unmatched(struct run *r)
{
	(void)r;
	return intern_event("net.connect");
}

static int step_intern_matched_elsewhere(struct run *r)
{
	(void)r;
	/* M1's "app.*" matches it in main, not in S1 where this runs. */
	return intern_event("app.stop");
}

static int step_enter_main(struct run *r)
{
	return enter(r, IN_MAIN);
}

static int step_new_s2(struct run *r)
{
	return new_interp(r, IN_S2);
}

static int step_add_s2a(struct run *r)
{
	/* Its filter names "app.later", which nothing has interned yet. */
	return add_hook(r, H_S2A);
}

static int step_audit_args(struct run *r)
{
	(void)r;
	return sysfast_audit_args(sysfast_event_find("app.stop"),
	                          &SYSFAST_ARGS(SYSFAST_STR("bye"), SYSFAST_FLOAT(0.5)));
}

static int step_intern(struct run *r)
{
	sysfast_str *s = sysfast_intern_cstr("alpha");
	sysfast_str *again;

	if (!s)
		return -1;
	again = sysfast_intern("alpha", 5);
	if (again != s)
		fail_run(r, SYM_WRONG_RETURN, "interning \"alpha\" twice gave %p and %p", (void *)s,
		         (void *)again);
	sysfast_str_decref(again);
	r->held[0] = s;
	return 0;
}

static int step_str_new(struct run *r)
{
	sysfast_str *s = sysfast_str_new("beta", 4);

	if (!s)
		return -1;
	r->held[1] = s;
	return 0;
}

static int step_intern_in_place(struct run *r)
{
	if (sysfast_intern_in_place(&r->held[1]) < 0)
		return -1;
	if (!sysfast_str_is_interned(r->held[1]))
		fail_run(r, SYM_WRONG_RETURN, "sysfast_intern_in_place left \"beta\" uninterned");
	return 0;
}

static int step_str_new_copy(struct run *r)
{
	r->alpha_copy = sysfast_str_new("alpha", 5);
	return r->alpha_copy ? 0 : -1;
}

static int step_intern_in_place_known(struct run *r)
{
	if (sysfast_intern_in_place(&r->alpha_copy) < 0)
		return -1;
	if (r->alpha_copy != r->held[0])
		fail_run(r, SYM_WRONG_RETURN,
		         "sysfast_intern_in_place of a copy did not give the interned string");
	return 0;
}

static int step_intern_find(struct run *r)
{
	sysfast_str *s = sysfast_intern_find("beta", 4);

	if (s != r->held[1])
		fail_run(r, SYM_WRONG_RETURN, "sysfast_intern_find(\"beta\") gave %p, not %p",
		         (void *)s, (void *)r->held[1]);
	sysfast_str_decref(s);
	return 0;
}

static int step_getsizeof(struct run *r)
{
	size_t size;

	if (sysfast_getsizeof((const sysfast_object *)r->held[0], &size) < 0)
		return -1;
	r->alpha_size = size;
	return 0;
}

static int node_sizeof(const sysfast_object *self, int64_t *size)
{
	(void)self;
	*size = 40;
	return 0;
}

static int node_traverse(const sysfast_object *self, sysfast_visit_fn visit, void *arg)
{
	const struct node *n = (const struct node *)self;

	for (size_t i = 0; i < 3; i++) {
		int rc = n->kids[i] ? visit(n->kids[i], arg) : 0;

		if (rc)
			return rc;
	}
	return 0;
}

static const sysfast_type node_type = {"sweep.node", SYSFAST_TYPE_GC, node_sizeof, node_traverse};

static int step_deepsizeof(struct run *r)
{
	struct node *n = r->nodes;
	size_t size, expected = 3 * (40 + SYSFAST_GC_HEADER_SIZE) + r->alpha_size;

	/* A cycle (0 -> 1 -> 0), a shared object (2) and a string. */
	n[0] = (struct node){{&node_type}, {&n[1].ob, &n[2].ob, NULL}};
	n[1] = (struct node){{&node_type}, {&n[2].ob, &n[0].ob, NULL}};
	n[2] = (struct node){{&node_type}, {(const sysfast_object *)r->held[0], NULL, NULL}};
	if (sysfast_deepsizeof(&n[0].ob, &size) < 0)
		return -1;
	if (size != expected)
		fail_run(r, SYM_WRONG_RETURN, "deepsizeof gave %zu, expected %zu", size, expected);
	return 0;
}

static int step_settrace(struct run *r)
{
	(void)r;
	return sysfast_settrace(record_trace, (void *)(uintptr_t)WHO_TRACER);
}

static int step_setprofile(struct run *r)
{
	(void)r;
	return sysfast_setprofile(record_trace, (void *)(uintptr_t)WHO_PROFILER);
}

static int step_frames(struct run *r)
{
	sysfast_frame f;
	sysfast_arg ret = SYSFAST_INT(7);

	sysfast_frame_init(&f, "sweep_fn", "sweep.c", 10);
	(void)r;
	if (sysfast_frame_enter(&f) < 0)
		return -1;
	if (sysfast_frame_line(&f, 11) < 0) {
		(void)sysfast_frame_leave(&f, NULL);
		return -1;
	}
	return sysfast_frame_leave(&f, &ret);
}

static int step_settrace_off(struct run *r)
{
	(void)r;
	return sysfast_settrace(NULL, NULL);
}

static int step_setprofile_all_off(struct run *r)
{
	(void)r;
	return sysfast_setprofile_all_threads(NULL, NULL);
}

static int step_exc_type_new(struct run *r)
{
	const sysfast_exc_type *t = sysfast_exc_type_new("SweepError", sysfast_RuntimeError);

	if (!t)
		return -1;
	if (!sysfast_exc_is_subclass(t, sysfast_RuntimeError))
		fail_run(r, SYM_WRONG_RETURN, "SweepError does not derive from RuntimeError");
	r->classes++;
	return 0;
}

static int step_destroy_s2(struct run *r)
{
	if (sysfast_interp_destroy(r->interp[IN_S2]) < 0)
		return -1;
	r->interp[IN_S2] = NULL;
	return 0;
}

static void release_strings(struct run *r)
{
	for (size_t i = 0; i < N_STRS; i++) {
		sysfast_str_decref(r->held[i]);
		r->held[i] = NULL;
	}
	sysfast_str_decref(r->alpha_copy);
	r->alpha_copy = NULL;
}

static int step_release_strings(struct run *r)
{
	release_strings(r);
	return 0;
}

static void fini_checked(struct run *r, const char *when);

static int step_fini(struct run *r)
{
	fini_checked(r, "sysfast_fini");
	return 0;
}

static int step_add_g3(struct run *r)
{
	return add_hook(r, H_G3);
}

static int step_audit_new_name_again(struct run *r)
{
	(void)r;
	return sysfast_audit("app.final", "iy#", 5, "\0\1", (ssize_t)2);
}

static int step_seal(struct run *r)
{
	if (sysfast_audit_seal() < 0)
		return -1;
	r->sealed = true;
	return 0;
}

static int step_add_after_seal(struct run *r)
{
	if (add_hook(r, H_G4) != -1 || sysfast_err_occurred() != sysfast_PermissionError)
		fail_run(r, SYM_WRONG_RETURN, "an add after the seal gave %s, not PermissionError",
		         error_text());
	sysfast_err_clear();
	return 0;
}

struct step {
	const char *name;
	int (*run)(struct run *r);
};

static const struct step steps[N_STEPS] = {
    {"sysfast_add_audit_hook G0 before init", step_add_g0},
    {"sysfast_init", step_init},
    {"SYSFAST_AUDIT of a new name (app.start)", step_macro_new_name},
    {"sysfast_add_audit_hook_ex G1 (exact names)", step_add_g1},
    {"sysfast_add_audit_hook_ex G2 (os.*, cpython._PySys_ClearAuditHooks)", step_add_g2},
    {"sysfast_audit of a known name (os.chdir)", step_audit_known},
    {"sysfast_audit of a new name matching os.* (os.listdir)", step_audit_new_name},
    {"sysfast_interp_add_audit_hook M0 to main", step_add_m0},
    {"sysfast_interp_add_audit_hook M1 to main (app.*, sys.setprofile)", step_add_m1},
    {"sysfast_interp_new S1", step_new_s1},
    {"sysfast_interp_add_audit_hook S1a to S1 (os.*, cpython.*)", step_add_s1a},
    {"sysfast_interp_add_audit_hook S1b to S1", step_add_s1b},
    {"sysfast_interp_enter S1", step_enter_s1},
    {"SYSFAST_AUDIT of a new name in S1 (os.remove)", step_macro_new_name_in_s1},
    {"sysfast_event_intern in S1, no filter matches (net.connect)", step_intern_unmatched},
    {"sysfast_event_intern in S1, a filter of main matches (app.stop)",
     step_intern_matched_elsewhere},
    {"sysfast_interp_enter main", step_enter_main},
    {"sysfast_interp_new S2", step_new_s2},
    {"sysfast_interp_add_audit_hook S2a to S2 (new exact name app.later)", step_add_s2a},
    {"sysfast_audit_args (app.stop)", step_audit_args},
    {"sysfast_intern alpha", step_intern},
    {"sysfast_str_new beta", step_str_new},
    {"sysfast_intern_in_place beta", step_intern_in_place},
    {"sysfast_str_new alpha (a copy)", step_str_new_copy},
    {"sysfast_intern_in_place of the copy", step_intern_in_place_known},
    {"sysfast_intern_find beta", step_intern_find},
    {"sysfast_getsizeof alpha", step_getsizeof},
    {"sysfast_deepsizeof", step_deepsizeof},
    {"sysfast_settrace (new name sys.settrace)", step_settrace},
    {"sysfast_setprofile", step_setprofile},
    {"sysfast_frame_enter, _line, _leave", step_frames},
    {"sysfast_settrace(NULL)", step_settrace_off},
    {"sysfast_setprofile_all_threads(NULL)", step_setprofile_all_off},
    {"sysfast_exc_type_new", step_exc_type_new},
    {"sysfast_interp_destroy S2", step_destroy_s2},
    {"sysfast_str_decref of every string", step_release_strings},
    {"sysfast_fini", step_fini},
    {"sysfast_init again", step_init},
    {"sysfast_add_audit_hook G3 after the second init", step_add_g3},
    {"sysfast_audit of a new name (app.final)", step_audit_new_name_again},
    {"sysfast_audit_seal", step_seal},
    {"sysfast_add_audit_hook G4 after the seal", step_add_after_seal},
    {"sysfast_fini again", step_fini},
};

/* Where a persistent run goes after its failed step. */
enum { TAIL_FINI = N_STEPS, TAIL_RECOVERY, TAIL_END };

static const char *step_label(int step)
{
	switch (step) {
	case -1:
		return "before the first step";
	case TAIL_FINI:
		return "sysfast_fini with every allocation failing";
	case TAIL_RECOVERY:
		return "recovery after the failures (init, add, audit, fini)";
	case TAIL_END:
		return "the end-of-run checks";
	default:
		return steps[step].name;
	}
}

/* ---- dispatches between steps ---- */

/* Every known name, in the current interpreter, into the run's log; and
 * the two by-name entry points once their names are known (a dispatch of
 * a known name allocates nothing, so the attempt counts stay those of the
 * steps). */
static void battery(struct run *r, int step)
{
	for (size_t i = 0; i < N_NAMES; i++) {
		sysfast_event_id id = sysfast_event_find(names[i]);

		if (id && sysfast_audit_args(id, &SYSFAST_ARGS(SYSFAST_INT(step))) != 0)
			fail_run(r, SYM_BROKEN_STATE, "dispatching '%s' failed: %s", names[i],
			         error_text());
	}
	if (sysfast_event_find("os.chdir") && sysfast_audit("os.chdir", "si", "battery", step) != 0)
		fail_run(r, SYM_BROKEN_STATE, "sysfast_audit of os.chdir failed: %s", error_text());
	if (sysfast_event_find("app.start") && SYSFAST_AUDIT("app.start", SYSFAST_INT(step)) != 0)
		fail_run(r, SYM_BROKEN_STATE, "SYSFAST_AUDIT of app.start failed: %s",
		         error_text());
}

/* ---- the state a failed call must leave as it was ---- */

struct snapshot {
	bool initialized;
	size_t event_count, intern_count;
	sysfast_event_id ids[N_NAMES];
	bool active[N_INTERPS][N_NAMES];
	/* Slots holding a snapshot for an id not handed out (yet). */
	unsigned stale[N_INTERPS];
	const sysfast_str *interned[N_STRS];
	sysfast_tracer trace, profile;
	const sysfast_frame *frame;
	const sysfast_interp *current;
	long live_blocks, live_maps;
	/* Every known name dispatched in every live interpreter. */
	struct probe_log probe;
};

static struct snapshot snap_before, snap_after;

/* Ids past the count that no slot may serve: those a failed intern may
 * have used, and some more. */
#define STALE_WINDOW 16

/* Slots of `interp` past the event count that hold a snapshot: left by an
 * intern that failed, they would serve the next name to get that id.
 * Read through the internal layout, as no public call can see them. */
static unsigned stale_slots(const sysfast_interp *interp)
{
	size_t count = sysfast_event_count();
	unsigned n = 0;

	for (size_t id = count + 1; id <= count + STALE_WINDOW; id++)
		n += __atomic_load_n(&interp->view->slot[id], __ATOMIC_ACQUIRE) != NULL;
	return n;
}

/* Allocates nothing (the fault-free run checks that): it must not move
 * the attempt count of the run it looks at. */
static void snapshot_take(struct run *r, struct snapshot *s)
{
	struct sysfast__alloc_stats st;

	memset(s, 0, sizeof(*s));
	/* Deferred frees done, so that live counts compare. */
	urcu_memb_barrier();
	st = sysfast__alloc_stats();
	s->live_blocks = st.live_blocks;
	s->live_maps = st.live_maps;
	s->initialized = sysfast_is_initialized();
	s->event_count = sysfast_event_count();
	for (size_t i = 0; i < N_NAMES; i++)
		s->ids[i] = sysfast_event_find(names[i]);
	if (!s->initialized)
		return;

	s->current = sysfast_interp_current();
	LOG_TO(&s->probe);
	for (int j = 0; j < N_INTERPS; j++) {
		if (!r->interp[j])
			continue;
		s->stale[j] = stale_slots(r->interp[j]);
		if (!sysfast_interp_enter(r->interp[j]))
			fail_run(r, SYM_BROKEN_STATE, "cannot enter %s: %s", interp_label[j],
			         error_text());
		for (size_t i = 0; i < N_NAMES; i++) {
			if (!s->ids[i])
				continue;
			s->active[j][i] = sysfast_audit_active(s->ids[i]);
			if (sysfast_audit_args(s->ids[i], &SYSFAST_ARGS(SYSFAST_UINT(j))) != 0)
				fail_run(r, SYM_BROKEN_STATE, "dispatching '%s' in %s failed: %s",
				         names[i], interp_label[j], error_text());
		}
	}
	LOG_TO(&r->log);
	if (!sysfast_interp_enter((sysfast_interp *)s->current))
		fail_run(r, SYM_BROKEN_STATE, "cannot enter the current interpreter again: %s",
		         error_text());

	s->intern_count = sysfast_intern_count();
	for (size_t i = 0; i < N_STRS; i++) {
		sysfast_str *p = sysfast_intern_find(strs[i], strlen(strs[i]));

		s->interned[i] = p;
		sysfast_str_decref(p);
	}
	s->trace = sysfast_gettrace();
	s->profile = sysfast_getprofile();
	s->frame = sysfast_frame_current();
	if (sysfast_err_occurred())
		fail_run(r, SYM_BROKEN_STATE, "looking at the state raised %s", error_text());
}

static void snapshot_compare(struct run *r, const struct snapshot *a, const struct snapshot *b)
{
	char was[128], now[128];

	if (a->initialized != b->initialized)
		fail_run(r, SYM_BROKEN_STATE, "sysfast_is_initialized went from %d to %d",
		         a->initialized, b->initialized);
	if (a->event_count != b->event_count)
		fail_run(r, SYM_BROKEN_STATE, "sysfast_event_count went from %zu to %zu",
		         a->event_count, b->event_count);
	for (size_t i = 0; i < N_NAMES; i++)
		if (a->ids[i] != b->ids[i])
			fail_run(r, SYM_BROKEN_STATE, "the id of '%s' went from %u to %u", names[i],
			         a->ids[i], b->ids[i]);
	for (int j = 0; j < N_INTERPS; j++)
		for (size_t i = 0; i < N_NAMES; i++)
			if (a->active[j][i] != b->active[j][i])
				fail_run(r, SYM_BROKEN_STATE,
				         "sysfast_audit_active('%s') in %s went from %d to %d",
				         names[i], interp_label[j], a->active[j][i],
				         b->active[j][i]);
	for (int j = 0; j < N_INTERPS; j++)
		if (a->stale[j] != b->stale[j])
			fail_run(r, SYM_BROKEN_STATE,
			         "%s has %u slots past the event count holding a snapshot, not %u "
			         "(stale snapshots for ids not handed out)",
			         interp_label[j], b->stale[j], a->stale[j]);
	for (size_t i = 0; i < a->probe.n || i < b->probe.n; i++) {
		if (i < a->probe.n && i < b->probe.n && entry_equal(&a->probe.e[i], &b->probe.e[i]))
			continue;
		snprintf(was, sizeof(was), "nothing");
		snprintf(now, sizeof(now), "nothing");
		if (i < a->probe.n)
			entry_describe(was, sizeof(was), &a->probe.e[i]);
		if (i < b->probe.n)
			entry_describe(now, sizeof(now), &b->probe.e[i]);
		fail_run(r, SYM_BROKEN_STATE,
		         "probe dispatches differ at call %zu: before, %s; after, %s", i, was, now);
	}
	if (a->probe.lost || b->probe.lost)
		fail_run(r, SYM_BROKEN_STATE, "the probe log overflowed");
	if (a->intern_count != b->intern_count)
		fail_run(r, SYM_BROKEN_STATE, "sysfast_intern_count went from %zu to %zu",
		         a->intern_count, b->intern_count);
	for (size_t i = 0; i < N_STRS; i++)
		if (a->interned[i] != b->interned[i])
			fail_run(r, SYM_BROKEN_STATE, "the interned \"%s\" went from %p to %p",
			         strs[i], (const void *)a->interned[i],
			         (const void *)b->interned[i]);
	if (a->trace.fn != b->trace.fn || a->profile.fn != b->profile.fn || a->frame != b->frame)
		fail_run(r, SYM_BROKEN_STATE,
		         "the tracer, the profiler or the current frame changed");
	if (a->current != b->current)
		fail_run(r, SYM_BROKEN_STATE, "the current interpreter changed");
	if (a->live_blocks != b->live_blocks || a->live_maps != b->live_maps)
		fail_run(r, SYM_LEAK,
		         "live blocks went from %ld to %ld and mappings from %ld to %ld (after an "
		         "RCU barrier)",
		         a->live_blocks, b->live_blocks, a->live_maps, b->live_maps);
}

/* ---- the log against the fault-free one ---- */

/* Whether log[from, to) equals (prefix: starts) the fault-free run's
 * entries of step `i`; if not, *why says where. */
static bool segment_matches(const struct run *r, int i, size_t from, size_t to, bool prefix,
                            char *why, size_t size)
{
	const struct ref_step *rs = &r->ref->steps[i];
	size_t n = to - from, want = rs->log_after - rs->log_before;
	char got[128], exp[128];

	for (size_t j = 0; j < n || (!prefix && j < want); j++) {
		const struct entry *g = j < n ? &r->log.e[from + j] : NULL;
		const struct entry *e = j < want ? &r->ref->log.e[rs->log_before + j] : NULL;

		if (g && e && entry_equal(g, e))
			continue;
		snprintf(got, sizeof(got), "nothing");
		snprintf(exp, sizeof(exp), "nothing");
		if (g)
			entry_describe(got, sizeof(got), g);
		if (e)
			entry_describe(exp, sizeof(exp), e);
		snprintf(why, size, "call %zu: %s; fault-free, %s", j, got, exp);
		return false;
	}
	return true;
}

/* ---- fini, leaks, recovery ---- */

/* Runs sysfast_fini and checks that it finished and what the hooks saw:
 * one "cpython.PyInterpreterState_Clear" per live interpreter for the
 * process-wide hooks that match it, one for an interpreter's own, one
 * "cpython._PySys_ClearAuditHooks" for the process-wide hooks, nothing
 * else, and nothing at all afterwards. */
static void fini_checked(struct run *r, const char *when)
{
	static const char *const clear = "cpython.PyInterpreterState_Clear";
	static const char *const clear_hooks = "cpython._PySys_ClearAuditHooks";
	sysfast_event_id clear_id = sysfast_event_find(clear);
	sysfast_event_id hooks_id = sysfast_event_find(clear_hooks);
	unsigned want[N_HOOKS][2] = {{0}}, got[N_HOOKS][2] = {{0}};
	bool was_up = sysfast_is_initialized();
	size_t mark = r->log.n, live = 0;

	for (int j = 0; j < N_INTERPS; j++)
		live += r->interp[j] != NULL;
	for (int h = 0; was_up && h < N_HOOKS; h++) {
		int scope = hook_defs[h].scope;

		if (!r->added[h])
			continue;
		if (scope == GLOBAL) {
			want[h][0] = hook_matches(h, clear) ? (unsigned)live : 0;
			want[h][1] = hook_matches(h, clear_hooks);
		} else {
			want[h][0] = r->interp[scope] && hook_matches(h, clear);
		}
	}

	sysfast_fini();

	if (sysfast_is_initialized() || sysfast_is_finalizing())
		fail_run(r, SYM_FINI, "%s returned with the runtime %s", when,
		         sysfast_is_finalizing() ? "still finalizing" : "still initialized");
	if (sysfast_err_occurred())
		fail_run(r, SYM_FINI, "%s left an error set: %s", when, error_text());
	for (size_t i = mark; i < r->log.n; i++) {
		const struct entry *e = &r->log.e[i];
		char what[128];

		if (e->who < N_HOOKS && (e->id == clear_id || e->id == hooks_id)) {
			got[e->who][e->id == hooks_id]++;
			continue;
		}
		entry_describe(what, sizeof(what), e);
		fail_run(r, SYM_FINI, "during %s, %s", when, what);
	}
	for (int h = 0; h < N_HOOKS; h++)
		for (int k = 0; k < 2; k++)
			if (got[h][k] != want[h][k])
				fail_run(r, SYM_FINI,
				         "during %s, hook %s got '%s' %u times, not %u", when,
				         hook_defs[h].label, k ? clear_hooks : clear, got[h][k],
				         want[h][k]);
	mark = r->log.n;
	if (sysfast_audit("app.start", "i", 0) != 0 || sysfast_audit_args(clear_id, NULL) != 0)
		fail_run(r, SYM_FINI, "after %s, an audit call failed: %s", when, error_text());
	if (r->log.n != mark)
		fail_run(r, SYM_FINI, "after %s, a hook was still called", when);
	if (!was_up)
		return;
	memset(r->interp, 0, sizeof(r->interp));
	memset(r->added, 0, sizeof(r->added));
}

/* Once the deferred frees are done, only the immortal blocks may be live:
 * event names, chunks of the id table, the name index, exception
 * classes. */
static void check_no_leak(struct run *r, const char *when)
{
	struct sysfast__alloc_stats st;
	long immortal;

	urcu_memb_barrier();
	st = sysfast__alloc_stats();
	immortal = (long)(sysfast_event_count() - r->events0 + chunk_count() - r->chunks0
	                  + sysfast__event_index_blocks() - r->index0 + r->classes);
	if (st.live_blocks != immortal || st.live_maps != 0)
		fail_run(r, SYM_LEAK,
		         "%s: %ld blocks and %ld mappings live; expected %ld immortal blocks "
		         "(event names, id chunks, exception classes) and no mapping",
		         when, st.live_blocks, st.live_maps, immortal);
#ifdef SWEEP_LSAN
	if (__lsan_do_recoverable_leak_check())
		fail_run(r, SYM_LEAK, "%s: LeakSanitizer reports leaks (see its report)", when);
#endif
}

/* After a persistent failure: fini with every allocation failing, then
 * with faults off, a fresh runtime works as a first one does. */
static void persistent_tail(struct run *r)
{
	bool was_up;
	size_t mark;
	int rc;

	r->step = r->out->step = TAIL_FINI;
	release_strings(r);
	was_up = sysfast_is_initialized();
	fini_checked(r, "sysfast_fini with every allocation failing");
	sysfast__alloc_fault_clear();
	/* Before init, fini is a no-op that keeps the process-wide hooks
	 * added so far: they go at the fini after the recovery. */
	if (was_up)
		check_no_leak(r, "after sysfast_fini with every allocation failing");

	r->step = r->out->step = TAIL_RECOVERY;
	if (sysfast_init() != 0)
		fail_run(r, SYM_WRONG_RETURN, "sysfast_init after the failures: %s", error_text());
	r->interp[IN_MAIN] = sysfast_interp_main();
	rc = add_hook(r, H_G3);
	if (r->sealed ? rc != -1 || sysfast_err_occurred() != sysfast_PermissionError : rc != 0)
		fail_run(r, SYM_WRONG_RETURN, "an add after the failures returned %d (%s)", rc,
		         error_text());
	sysfast_err_clear();
	mark = r->log.n;
	if (sysfast_audit("app.start", "i", 2) != 0)
		fail_run(r, SYM_WRONG_RETURN, "an audit after the failures: %s", error_text());
	/* Reached: the process-wide hooks still added (a failed init keeps
	 * those added before it) that match, in the order of their adds. */
	for (int h = 0; h < N_HOOKS; h++) {
		if (!r->added[h] || hook_defs[h].scope != GLOBAL || !hook_matches(h, "app.start"))
			continue;
		if (mark >= r->log.n || r->log.e[mark].who != (uint32_t)h)
			fail_run(r, SYM_BROKEN_STATE, "after the failures, hook %s missed an event",
			         hook_defs[h].label);
		mark++;
	}
	if (mark != r->log.n)
		fail_run(r, SYM_BROKEN_STATE,
		         "after the failures, a hook not added was called (%s)",
		         who_label(r->log.e[mark].who));
	fini_checked(r, "sysfast_fini after the recovery");

	r->step = r->out->step = TAIL_END;
	check_no_leak(r, "after the recovery");
	r->stopped = true;
}

/* ---- the step driver ---- */

static bool no_fault_yet(const struct run *r)
{
	return !r->rec && !r->out->reached;
}

static void do_step(struct run *r, int i)
{
	struct sysfast__alloc_stats s0 = sysfast__alloc_stats(), s1;
	struct ref_step *rec = r->rec ? &r->rec->steps[i] : NULL;
	bool target = false;
	char why[300];
	size_t mark;
	int rc;

	if (rec) {
		rec->attempts_before = s0.attempts;
		rec->log_before = r->log.n;
		/* Only to show that looking allocates nothing. */
		snapshot_take(r, &snap_before);
	} else if (no_fault_yet(r)) {
		const struct ref_step *rs = &r->ref->steps[i];

		if (s0.attempts != rs->attempts_before)
			fail_run(r, SYM_DIVERGED,
			         "%lu allocation attempts before the step, not %lu", s0.attempts,
			         rs->attempts_before);
		target = r->fault_at > rs->attempts_before && r->fault_at <= rs->attempts_after;
		if (target)
			snapshot_take(r, &snap_before);
	}
	s0 = sysfast__alloc_stats();
	if (rec && s0.attempts != rec->attempts_before)
		fail_run(r, SYM_DIVERGED, "taking a snapshot allocated");
	mark = r->log.n;
	rc = steps[i].run(r);
	s1 = sysfast__alloc_stats();
	if (rec) {
		rec->attempts_after = s1.attempts;
		rec->log_after = r->log.n;
	}

	if (s1.failures == s0.failures) {
		if (rc != 0)
			fail_run(r, SYM_WRONG_RETURN, "failed with no fault injected: %s",
			         error_text());
		if (sysfast_err_occurred())
			fail_run(r, SYM_WRONG_ERROR, "succeeded but left an error set: %s",
			         error_text());
		return;
	}
	r->out->reached = true;
	r->out->failed_step = i;
	if (!target)
		fail_run(r, SYM_DIVERGED,
		         "the fault hit this step, not the one it hit without "
		         "faults");
	if (rc == 0) {
		r->out->absorbed = true;
		if (sysfast_err_occurred())
			fail_run(r, SYM_WRONG_ERROR, "succeeded despite the fault but left %s",
			         error_text());
		if (!segment_matches(r, i, mark, r->log.n, false, why, sizeof(why)))
			fail_run(r, SYM_BROKEN_STATE,
			         "succeeded despite the fault, but the hooks saw otherwise: %s",
			         why);
		if (r->persistent)
			persistent_tail(r);
		return;
	}
	if (sysfast_err_occurred() != sysfast_MemoryError || !*sysfast_err_message())
		fail_run(r, SYM_WRONG_ERROR, "failed with %s, not a MemoryError with a message",
		         error_text());
	sysfast_err_clear();
	if (!segment_matches(r, i, mark, r->log.n, true, why, sizeof(why)))
		fail_run(r, SYM_BROKEN_STATE,
		         "the hooks saw more than a successful call shows them: %s", why);
	r->log.n = mark;
	snapshot_take(r, &snap_after);
	snapshot_compare(r, &snap_before, &snap_after);
	if (r->persistent) {
		persistent_tail(r);
		return;
	}

	sysfast__alloc_fault_clear();
	rc = steps[i].run(r);
	if (rc != 0)
		fail_run(r, SYM_WRONG_RETURN, "the retry with faults off failed: %s", error_text());
	if (!segment_matches(r, i, mark, r->log.n, false, why, sizeof(why)))
		fail_run(r, SYM_BROKEN_STATE, "the retry is not a first try: %s", why);
}

/* The signals that end a crashing run, and how they were handled before
 * cmocka put in its own: cmocka's handlers jump back into its test loop,
 * which in a child would go on running the parent's tests. The originals
 * are the defaults, or the sanitizers' reports. */
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS};
#define N_CRASH_SIGNALS (sizeof(crash_signals) / sizeof(crash_signals[0]))
static struct sigaction crash_actions[N_CRASH_SIGNALS];

/* The whole run in a child process; never returns. */
static _Noreturn void child_run(struct reference *rec, const struct reference *ref,
                                unsigned long fault_at, bool persistent, struct outcome *out)
{
	struct run *r = &run_state;

	for (size_t i = 0; i < N_CRASH_SIGNALS; i++)
		sigaction(crash_signals[i], &crash_actions[i], NULL);
	alarm(CHILD_TIMEOUT_S);
	memset(r, 0, sizeof(*r));
	r->rec = rec;
	r->ref = ref;
	r->out = out;
	r->fault_at = fault_at;
	r->persistent = persistent;
	memset(out, 0, sizeof(*out));
	out->step = out->failed_step = -1;
	LOG_TO(&r->log);
	/* Counting starts here, before the first call into the library. */
	sysfast__alloc_fault_set(fault_at, persistent);
	r->events0 = sysfast_event_count();
	r->chunks0 = chunk_count();
	r->index0 = sysfast__event_index_blocks();
	for (int i = 0; i < N_STEPS && !r->stopped; i++) {
		r->step = out->step = i;
		do_step(r, i);
		if (!r->stopped)
			battery(r, i);
	}
	if (!r->stopped) {
		r->step = out->step = TAIL_END;
		if (r->log.lost)
			fail_run(r, SYM_BROKEN_STATE, "the dispatch log overflowed");
		if (rec) {
			rec->attempts = sysfast__alloc_stats().attempts;
			rec->log = r->log;
		} else {
			for (size_t i = 0; i < r->log.n || i < ref->log.n; i++) {
				char got[128] = "nothing", exp[128] = "nothing";

				if (i < r->log.n && i < ref->log.n
				    && entry_equal(&r->log.e[i], &ref->log.e[i]))
					continue;
				if (i < r->log.n)
					entry_describe(got, sizeof(got), &r->log.e[i]);
				if (i < ref->log.n)
					entry_describe(exp, sizeof(exp), &ref->log.e[i]);
				fail_run(r, SYM_BROKEN_STATE,
				         "the dispatch log differs from the fault-free one at "
				         "call %zu: %s; fault-free, %s",
				         i, got, exp);
			}
		}
		check_no_leak(r, "at the end");
	}
	out->finished = true;
	_exit(0);
}

/* ---- the parent ---- */

struct shared {
	struct reference ref;
	struct outcome ref_out;
	struct outcome out[2][MAX_ATTEMPTS + 1]; /* [persistent][k] */
};

static struct shared *shared;

static pid_t spawn(struct reference *rec, unsigned long k, bool persistent, struct outcome *out)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0)
		child_run(rec, rec ? NULL : &shared->ref, k, persistent, out);
	return pid;
}

/* The step whose call makes attempt k in the fault-free run. */
static int target_step(unsigned long k)
{
	for (int i = 0; i < N_STEPS; i++)
		if (k > shared->ref.steps[i].attempts_before
		    && k <= shared->ref.steps[i].attempts_after)
			return i;
	return N_STEPS;
}

/* Turns how a child ended into its outcome, where it did not say. A
 * child that died in the step of its fault or later reached it. */
static void settle(struct outcome *o, unsigned long k, int status)
{
	bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	if (k && !o->reached && o->symptom == SYM_OK && !clean && o->step >= target_step(k)) {
		o->reached = true;
		o->failed_step = target_step(k);
	}
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		o->symptom = sig == SIGALRM ? SYM_HANG : SYM_CRASH;
		if (sig == SIGALRM)
			snprintf(o->msg, sizeof(o->msg), "no result after %d s", CHILD_TIMEOUT_S);
		else
			snprintf(o->msg, sizeof(o->msg), "killed by signal %d (%s)", sig,
			         strsignal(sig));
	} else if (o->symptom == SYM_OK && (WEXITSTATUS(status) != 0 || !o->finished)) {
		o->symptom = SYM_SANITIZER;
		snprintf(o->msg, sizeof(o->msg), "exited with status %d before the end",
		         WEXITSTATUS(status));
	}
}

static int run_one(struct reference *rec, unsigned long k, bool persistent, struct outcome *out)
{
	int status;
	pid_t pid = spawn(rec, k, persistent, out);

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	settle(out, k, status);
	return 0;
}

static unsigned long env_ulong(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 10) : dflt;
}

static int run_reference(void **state)
{
	(void)state;
	shared =
	    mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return -1;
	return run_one(&shared->ref, 0, false, &shared->ref_out);
}

static int unmap_shared(void **state)
{
	(void)state;
	munmap(shared, sizeof(*shared));
	return 0;
}

static void report_failure(unsigned long k, bool persistent, const struct outcome *o)
{
	print_error("# k=%lu %s: %s: %s: %s\n", k, persistent ? "persistent" : "once",
	            step_label(o->failed_step >= 0 && o->step < N_STEPS ? o->failed_step : o->step),
	            symptom_label[o->symptom], o->msg);
}

/* Runs every injection point in one mode, `jobs` children at a time, and
 * reports. */
static void sweep(bool persistent)
{
	unsigned long n = shared->ref.attempts, only = env_ulong("SYSFAST_SWEEP_K", 0);
	unsigned long jobs = env_ulong("SYSFAST_SWEEP_JOBS", 2), next = only ? only : 1;
	unsigned long last = only ? only : n, running = 0, reached = 0, absorbed = 0, failed = 0;
	unsigned long per[N_STEPS + 3][N_SYMPTOMS] = {{0}}, absorbed_at[N_STEPS] = {0};
	pid_t pids[16];
	unsigned long ks[16];

	assert_true(n > 0 && n <= MAX_ATTEMPTS && last <= n);
	if (jobs < 1 || jobs > 16)
		jobs = 2;
	while (next <= last || running) {
		int status;
		pid_t pid;
		unsigned long slot;

		if (next <= last && running < jobs) {
			pid = spawn(NULL, next, persistent, &shared->out[persistent][next]);
			assert_true(pid > 0);
			pids[running] = pid;
			ks[running++] = next++;
			continue;
		}
		pid = waitpid(-1, &status, 0);
		assert_true(pid > 0);
		for (slot = 0; slot < running && pids[slot] != pid; slot++)
			;
		assert_true(slot < running);
		settle(&shared->out[persistent][ks[slot]], ks[slot], status);
		pids[slot] = pids[--running];
		ks[slot] = ks[running];
	}

	for (unsigned long k = only ? only : 1; k <= last; k++) {
		const struct outcome *o = &shared->out[persistent][k];
		int where = o->failed_step >= 0 && o->step < N_STEPS ? o->failed_step : o->step;

		reached += o->reached;
		absorbed += o->absorbed;
		if (o->absorbed)
			absorbed_at[o->failed_step]++;
		if (!o->reached && o->symptom == SYM_OK)
			print_error("# k=%lu %s: not reached\n", k,
			            persistent ? "persistent" : "once");
		if (o->symptom == SYM_OK)
			continue;
		failed++;
		report_failure(k, persistent, o);
		if (where >= 0)
			per[where][o->symptom]++;
	}
	for (int s = 0; s < N_STEPS + 3; s++)
		for (int y = 1; y < N_SYMPTOMS; y++)
			if (per[s][y])
				print_error("#   %s: %lu x %s\n", step_label(s), per[s][y],
				            symptom_label[y]);
	for (int s = 0; s < N_STEPS; s++)
		if (absorbed_at[s])
			print_error("#   %s: %lu x absorbed (succeeded all the same)\n",
			            step_label(s), absorbed_at[s]);
	print_error("# alloc sweep, %s: %lu injection points, %lu reached, %lu absorbed "
	            "(the call succeeded anyway), %lu failed\n",
	            persistent ? "persistent" : "once", last - (only ? only : 1) + 1, reached,
	            absorbed, failed);
	assert_int_equal(failed, 0);
	assert_int_equal(reached, last - (only ? only : 1) + 1);
}

/* ---- the tests ---- */

static void test_scenario_without_faults_passes_its_checks(void **state)
{
	const struct outcome *o = &shared->ref_out;

	(void)state;
	if (o->symptom != SYM_OK)
		fail_msg("the fault-free run failed at '%s': %s: %s", step_label(o->step),
		         symptom_label[o->symptom], o->msg);
	print_error("# the scenario makes %lu allocation attempts in %d steps\n",
	            shared->ref.attempts, N_STEPS);
	assert_true(o->finished);
	assert_true(shared->ref.attempts > 0);
	assert_true(shared->ref.attempts <= MAX_ATTEMPTS);
	/* Each step was recorded, in order; the map of where the attempts are
	 * is what a failing k is looked up in. */
	for (int i = 0; i < N_STEPS; i++) {
		const struct ref_step *rs = &shared->ref.steps[i];

		if (i > 0)
			assert_int_equal(rs->attempts_before,
			                 shared->ref.steps[i - 1].attempts_after);
		if (rs->attempts_after > rs->attempts_before)
			print_error("#   attempts %lu..%lu: %s\n", rs->attempts_before + 1,
			            rs->attempts_after, steps[i].name);
	}
}

static void test_each_allocation_failing_once_changes_nothing(void **state)
{
	(void)state;
	if (shared->ref_out.symptom != SYM_OK)
		fail_msg("no fault-free run to compare with");
	sweep(false);
}

static void test_every_allocation_failing_from_each_point_changes_nothing(void **state)
{
	(void)state;
	if (shared->ref_out.symptom != SYM_OK)
		fail_msg("no fault-free run to compare with");
	sweep(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scenario_without_faults_passes_its_checks),
	    cmocka_unit_test(test_each_allocation_failing_once_changes_nothing),
	    cmocka_unit_test(test_every_allocation_failing_from_each_point_changes_nothing),
	};

	for (size_t i = 0; i < N_CRASH_SIGNALS; i++)
		sigaction(crash_signals[i], NULL, &crash_actions[i]);
	return cmocka_run_group_tests(tests, run_reference, unmap_shared);
}
