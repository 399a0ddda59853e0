/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer target for what the tray's sign-in reads from warrend (app/tray/wr-tray-signin.c):
 * the Health strings, through wr_tray_signin_find_failure(), and the failure found, through
 * wr_tray_signin_error_text().  Besides the sanitizers it checks the contracts: a failure is
 * only found in an entry of the form "sign-in failed (<Name>): <message>", its code is one of
 * WrDbusError and its message that entry's rest; the sentence is never empty and the detail is
 * the message (none when it is empty).
 *
 * Input: the Health entries, one per line ('\n'); a line may hold anything but '\n' and NUL.
 */

#define G_LOG_DOMAIN "WrFuzzTraySignin"

#include "config.h"

#include <glib.h>
#include <string.h>

#include "wr-tray-signin.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) health = NULL;
	g_autoptr(GError) failure = NULL;
	g_autofree char *sentence = NULL;
	g_autofree char *detail = NULL;
	gboolean from_entry = FALSE;

	if (memchr(data, '\0', size) != NULL)
		return 0; /* a D-Bus string holds no NUL */
	(void) WR_DBUS_ERROR;
	text = g_strndup((const char *) data, size);
	health = g_strsplit(text, "\n", -1);
	failure = wr_tray_signin_find_failure((const char *const *) health);
	if (failure == NULL)
		return 0;
	g_assert_true(failure->domain == WR_DBUS_ERROR);
	g_assert_cmpint(failure->code, >=, 0);
	g_assert_cmpint(failure->code, <, WR_DBUS_ERROR_LAST);
	for (gsize i = 0; health[i] != NULL; i++) {
		const char *rest;

		if (!g_str_has_prefix(health[i], "sign-in failed ("))
			continue;
		rest = strstr(health[i], "): ");
		if (rest != NULL && strcmp(rest + 3, failure->message) == 0) {
			from_entry = TRUE;
			break;
		}
	}
	g_assert_true(from_entry);
	sentence = wr_tray_signin_error_text(failure, &detail);
	g_assert_nonnull(sentence);
	g_assert_cmpuint(strlen(sentence), >, 0);
	if (failure->message[0] == '\0')
		g_assert_null(detail);
	else
		g_assert_cmpstr(detail, ==, failure->message);
	return 0;
}
