/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for event names: sysfast_event_intern must accept a
 * name exactly when an independent reference check calls it valid, give
 * a ValueError otherwise, and every accepted name must round-trip through
 * sysfast_event_find and sysfast_event_name.
 *
 * The input, cut at 1024 bytes and at its first NUL, is the name.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sysfast/sysfast.h>

#include "fuzz.h"

#define INPUT_MAX 1024

/* Names are immortal, so each new one costs memory for good: past this
 * many, new names are only looked up, never interned. */
#define INTERN_BUDGET 100000

/*
 * Reference UTF-8 check, written unlike the library's on purpose: decode
 * each code point from its bit pattern, then reject what the decoded value
 * shows to be wrong (overlong for its length, a surrogate, past U+10FFFF).
 */
static int ref_utf8_valid(const unsigned char *s, size_t len)
{
	static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80)
			n = 1, cp = c;
		else if ((c & 0xe0) == 0xc0)
			n = 2, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			n = 3, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			n = 4, cp = c & 0x07;
		else
			return 0;
		if (len - i < n)
			return 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min_for_len[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n;
	}
	return 1;
}

static int ref_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len >= 1 && len <= 255 && ref_utf8_valid((const unsigned char *)name, len);
}

/* NULL and ids that name nothing: errors where the contract says so, and
 * never a name. */
static void check_null_and_bad_ids(void)
{
	CHECK(sysfast_event_intern(NULL) == 0 && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(sysfast_event_find(NULL) == 0 && !sysfast_err_occurred());
	CHECK(sysfast_event_name(0) == NULL);
	CHECK(sysfast_event_name((sysfast_event_id)sysfast_event_count() + 1) == NULL);
}

/* A name starting with '+' also interns BURST names derived from it, each
 * new one taking the next id: the name index and the id table grow past
 * their first sizes. */
#define BURST 512

static size_t burst(const char *name)
{
	char derived[INPUT_MAX + 16];
	size_t added = 0;

	for (unsigned i = 0; i < BURST; i++) {
		sysfast_event_id before = (sysfast_event_id)sysfast_event_count(), id;
		bool known;

		snprintf(derived, sizeof(derived), "%s#%u", name, i);
		known = sysfast_event_find(derived) != 0;
		id = sysfast_event_intern(derived);
		CHECK(id != 0 && !sysfast_err_occurred());
		CHECK(known || id == before + 1);
		CHECK(sysfast_event_find(derived) == id
		      && !strcmp(sysfast_event_name(id), derived));
		added += !known;
	}
	return added;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static size_t interned;
	char name[INPUT_MAX + 1];
	size_t n = size < INPUT_MAX ? size : INPUT_MAX;
	int valid;
	sysfast_event_id found, id;

	if (!ready) {
		CHECK(sysfast_init() == 0);
		ready = 1;
	}
	memcpy(name, data, n);
	name[n] = '\0';
	valid = ref_name_valid(name);

	found = sysfast_event_find(name);
	CHECK(!sysfast_err_occurred());
	CHECK(valid || found == 0);
	if (found == 0 && valid && interned >= INTERN_BUDGET)
		return 0;

	id = sysfast_event_intern(name);
	if (!valid) {
		CHECK(id == 0);
		CHECK(sysfast_err_occurred() == sysfast_ValueError);
		CHECK(strncmp(sysfast_err_message(), "event name ", 11) == 0);
		sysfast_err_clear();
		return 0;
	}
	CHECK(id != 0);
	CHECK(!sysfast_err_occurred());
	CHECK(found == 0 || found == id);
	CHECK(id <= sysfast_event_count());
	CHECK(sysfast_event_name(id) && strcmp(sysfast_event_name(id), name) == 0);
	CHECK(sysfast_event_find(name) == id);
	if (found == 0)
		interned++;
	if (name[0] == '+' && n <= 240 && interned + BURST <= INTERN_BUDGET)
		interned += burst(name);
	check_null_and_bad_ids();
	return 0;
}
