/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Example: sys.settrace and sys.setprofile for a toy interpreter.
 *
 * The "runtime" below runs two functions; it reports each frame with
 * sysfast_frame_enter / _line / _leave and each C call with
 * sysfast_frame_c_call / _c_return. The tracer asks for line events of
 * every frame by setting a local tracer on `call`, as a Python tracer
 * returns itself; the profiler sees calls and returns only. The thread
 * keeps the chain of the frames it has entered whether or not anything
 * traces, so a tracer set while frames run (a debugger attaching) sees
 * their callers too.
 *
 *     cc trace.c $(pkg-config --cflags --libs sysfast) -o trace
 */
#include <stdio.h>

#include <sysfast/sysfast.h>

static const char *const what_names[] = {"call",   "exception",   "line",     "return",
                                         "c_call", "c_exception", "c_return", "opcode"};

static int tracer(void *data, sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	(void)data;
	if (what == SYSFAST_TRACE_CALL)
		sysfast_frame_set_local_tracer(f, tracer, NULL);
	printf("trace   %-8s %s:%d", what_names[what], f->name, f->lineno);
	if (what == SYSFAST_TRACE_CALL)
		printf(" from %s", f->back ? f->back->name : "-");
	if (arg && arg->kind == SYSFAST_ARG_INT)
		printf(" -> %lld", (long long)arg->v.i);
	printf("\n");
	return 0;
}

static int profiler(void *data, sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	(void)data;
	printf("profile %-8s %s", what_names[what], f->name);
	if (arg && arg->kind == SYSFAST_ARG_STR)
		printf(" (%s)", arg->v.s);
	printf("\n");
	return 0;
}

/* def square(x): return x * x   (one line, a C call to "mul") */
static int run_square(int x, int *out)
{
	sysfast_frame f;
	sysfast_arg mul = SYSFAST_STR("mul"), ret;

	sysfast_frame_init(&f, "square", "toy.py", 1);
	if (sysfast_frame_enter(&f) < 0)
		return -1;
	if (sysfast_frame_line(&f, 2) < 0 || sysfast_frame_c_call(&f, &mul) < 0)
		goto unwind;
	*out = x * x;
	if (sysfast_frame_c_return(&f, &mul) < 0)
		goto unwind;
	ret = SYSFAST_INT(*out);
	return sysfast_frame_leave(&f, &ret);
unwind:
	/* A callback failed: the frame still returns (unwinding, no value). */
	sysfast_frame_leave(&f, NULL);
	return -1;
}

/* def main(): y = square(3); return y */
static int run_main(void)
{
	sysfast_frame f;
	sysfast_arg ret;
	int y = 0;

	sysfast_frame_init(&f, "main", "toy.py", 4);
	if (sysfast_frame_enter(&f) < 0)
		return -1;
	if (sysfast_frame_line(&f, 5) < 0 || run_square(3, &y) < 0
	    || sysfast_frame_line(&f, 6) < 0) {
		sysfast_frame_leave(&f, NULL);
		return -1;
	}
	ret = SYSFAST_INT(y);
	return sysfast_frame_leave(&f, &ret);
}

int main(void)
{
	sysfast_frame repl;

	if (sysfast_init() < 0 || sysfast_settrace(tracer, NULL) < 0
	    || sysfast_setprofile(profiler, NULL) < 0) {
		fprintf(stderr, "setup failed: %s\n", sysfast_err_message());
		return 1;
	}
	if (run_main() < 0) {
		fprintf(stderr, "a callback failed: %s\n", sysfast_err_message());
		return 1;
	}
	/* With nothing set, a frame event costs one TLS load and the chain's
	 * push or pop, and calls nothing. */
	sysfast_settrace(NULL, NULL);
	sysfast_setprofile(NULL, NULL);
	printf("tracing active: %s\n", sysfast_tracing_active() ? "yes" : "no");
	sysfast_frame_init(&repl, "repl", "<stdin>", 1);
	sysfast_frame_enter(&repl);
	run_main();
	/* A debugger attaches inside repl: the next call's caller is repl. */
	printf("current frame: %s\n", sysfast_frame_current()->name);
	sysfast_settrace(tracer, NULL);
	run_main();
	sysfast_settrace(NULL, NULL);
	sysfast_frame_leave(&repl, NULL);
	sysfast_fini();
	return 0;
}
