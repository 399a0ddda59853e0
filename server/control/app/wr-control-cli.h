/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The admin subcommands of warren-control (users, nodes, routes, authkeys, policy, audit): a
 * client of the admin socket (docs/control-admin.md).
 */
#pragma once

#include <glib.h>

/* exit statuses */
enum {
	WR_CLI_OK = 0,
	WR_CLI_REFUSED = 1,	/* the server said no; its message is printed */
	WR_CLI_USAGE = 2,	/* bad arguments */
	WR_CLI_UNREACHABLE = 3, /* no server on the socket */
};

/* runs `warren-control [OPTIONS] COMMAND ...`; argv[0] is the program */
int
wr_control_cli_run(int argc, char **argv);
