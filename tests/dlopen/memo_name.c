/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A library that only holds an event name, as a literal: built twice
 * (memo_name_a.so, memo_name_b.so) with names of the same length, so that
 * the second, loaded where the first was, has its literal at the same
 * address. See memo_host.c.
 */
__attribute__((visibility("default"))) const char *memo_event_name(void)
{
	return MEMO_EVENT_NAME;
}
