/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Friend API of wr-allowedips for the tests: white-box checks of the trie's structure.
 */

#pragma once

#include "wr-allowedips.h"

/* walks the whole trie and checks every structural invariant (masked keys, children that
 * extend their parent on the right side, parent links, glue with exactly two children, the
 * per-peer lists and the count); returns the number of nodes, glue included, or -EUCLEAN
 * at the first broken invariant, which g_debug names */
long
wr_allowedips_check(const WrAllowedIps *self);
