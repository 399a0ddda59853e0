/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Helpers for the tests that run the real servers: a free loopback port to give one, a child
 * that dies with the test, the wait until it is ready, and the removal of a temporary tree
 * afterwards.
 */

#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

/* a port on 127.0.0.1 that was free a moment ago (SOCK_STREAM or SOCK_DGRAM) */
static inline guint16
wr_test_free_port(int type)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *) &addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *) &addr, &len), ==, 0);
	close(fd);
	return ntohs(addr.sin_port);
}

/*
 * A GSubprocessLauncher child setup: the server goes with the test, even when an assertion
 * aborts it half-way
 */
static inline void
wr_test_die_with_parent_cb(gpointer user_data)
{
	(void) prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/*
 * Asks ready(data) every 20 ms until it says yes (TRUE), proc has ended or timeout_ms have
 * passed (FALSE: the caller fails with the server's log).
 */
static inline gboolean
wr_test_wait_ready(GSubprocess *proc, guint timeout_ms, gboolean (*ready)(gpointer data),
		   gpointer data)
{
	gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

	while (g_get_monotonic_time() < deadline) {
		if (ready(data))
			return TRUE;
		/* the child watch runs in GLib's worker thread: no main context to turn */
		if (g_subprocess_get_identifier(proc) == NULL)
			return FALSE;
		g_usleep(20 * 1000);
	}
	return FALSE;
}

/* removes path and, if it is a directory, everything below it (no symlinks are followed) */
static inline void
wr_test_rm_rf(const char *path)
{
	g_autoptr(GDir) dir = NULL;
	const char *name;

	if (path == NULL)
		return;
	if (g_file_test(path, G_FILE_TEST_IS_SYMLINK) ||
	    (dir = g_dir_open(path, 0, NULL)) == NULL) {
		(void) g_unlink(path);
		return;
	}
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *child = g_build_filename(path, name, NULL);

		wr_test_rm_rf(child);
	}
	(void) g_rmdir(path);
}
