/*
 * Copyright 2026 The Warren Authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define G_LOG_DOMAIN "WrAcceptLanguage"

#include "config.h"

#include <string.h>

#include "wr-accept-language.h"

/* qvalues are read in thousandths: "0.5" is 500 */
#define Q_MAX 1000

typedef struct {
	char *range;
	int q;
	guint index; /* place in the header: equal q keeps it */
} Range;

static gboolean
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* @s[0..len) without the optional white space around it */
static void
trim(const char **s, gsize *len)
{
	while (*len > 0 && is_ows((*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_ows((*s)[*len - 1]))
		(*len)--;
}

/* RFC 4647 §2.1: language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*" */
static gboolean
range_ok(const char *s, gsize len)
{
	gsize run = 0;
	gboolean first = TRUE;

	if (len == 1 && s[0] == '*')
		return TRUE;
	if (len == 0)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (s[i] == '-') {
			if (run == 0)
				return FALSE;
			run = 0;
			first = FALSE;
			continue;
		}
		if (!(first ? g_ascii_isalpha(s[i]) : g_ascii_isalnum(s[i])) || ++run > 8)
			return FALSE;
	}
	return run > 0;
}

/* RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); -1 when
 * @s is not one */
static int
parse_qvalue(const char *s, gsize len)
{
	int q;
	int scale = 100;

	if (len == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = s[0] == '1' ? Q_MAX : 0;
	if (len == 1)
		return q;
	if (s[1] != '.' || len > 5)
		return -1;
	for (gsize i = 2; i < len; i++) {
		if (!g_ascii_isdigit(s[i]) || (s[0] == '1' && s[i] != '0'))
			return -1;
		q += (s[i] - '0') * scale;
		scale /= 10;
	}
	return q;
}

/* one list element "range [; q=value]": FALSE when it does not parse */
static gboolean
parse_element(const char *s, gsize len, char **out_range, int *out_q)
{
	const char *semi = memchr(s, ';', len);
	const char *range = s;
	gsize range_len = semi != NULL ? (gsize) (semi - s) : len;
	int q = Q_MAX;

	trim(&range, &range_len);
	if (!range_ok(range, range_len))
		return FALSE;
	if (semi != NULL) {
		const char *param = semi + 1;
		gsize param_len = len - (gsize) (param - s);

		/* the only parameter is the weight, and it comes once */
		trim(&param, &param_len);
		if (param_len < 2 || g_ascii_tolower(param[0]) != 'q' || param[1] != '=')
			return FALSE;
		q = parse_qvalue(param + 2, param_len - 2);
		if (q < 0)
			return FALSE;
	}
	*out_range = g_ascii_strdown(range, (gssize) range_len);
	*out_q = q;
	return TRUE;
}

static gint
range_cmp(gconstpointer a, gconstpointer b)
{
	const Range *x = a, *y = b;

	if (x->q != y->q)
		return x->q > y->q ? -1 : 1;
	return x->index < y->index ? -1 : (x->index > y->index ? 1 : 0);
}

GStrv
wr_accept_language_parse(const char *header)
{
	g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(Range));
	GPtrArray *out = g_ptr_array_new();
	const char *p = header;

	if (header == NULL || strlen(header) > WR_ACCEPT_LANGUAGE_MAX_LEN) {
		g_ptr_array_add(out, NULL);
		return (GStrv) g_ptr_array_free(out, FALSE);
	}
	while (*p != '\0' && ranges->len < WR_ACCEPT_LANGUAGE_MAX_RANGES) {
		const char *comma = strchr(p, ',');
		gsize len = comma != NULL ? (gsize) (comma - p) : strlen(p);
		Range r = {NULL, 0, ranges->len};

		/* empty elements are allowed in a list (RFC 9110 §5.6.1) */
		if (parse_element(p, len, &r.range, &r.q)) {
			if (r.q > 0)
				g_array_append_val(ranges, r);
			else
				g_free(r.range);
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	g_array_sort(ranges, range_cmp);
	for (guint i = 0; i < ranges->len; i++)
		g_ptr_array_add(out, g_array_index(ranges, Range, i).range);
	g_ptr_array_add(out, NULL);
	return (GStrv) g_ptr_array_free(out, FALSE);
}

/* a catalogue's name as a lower-case tag: "zh_CN.UTF-8@x" is "zh-cn" */
static char *
tag_of(const char *name)
{
	char *tag = g_ascii_strdown(name, (gssize) strcspn(name, ".@"));

	g_strdelimit(tag, "_", '-');
	return tag;
}

static const char *
find_exact(const char *tag, const char *const *available, char *const *tags)
{
	for (guint i = 0; available[i] != NULL; i++) {
		if (strcmp(tags[i], tag) == 0)
			return available[i];
	}
	return NULL;
}

/* a bare language ("de", "zh") finds the first catalogue of that language */
static const char *
find_language(const char *lang, const char *const *available, char *const *tags)
{
	gsize len = strlen(lang);

	for (guint i = 0; available[i] != NULL; i++) {
		if (strncmp(tags[i], lang, len) == 0 && tags[i][len] == '-')
			return available[i];
	}
	return NULL;
}

/* Chinese is chosen by script, not by the subtags' order: TRUE for Traditional */
static gboolean
chinese_traditional(const char *range)
{
	static const char *const traditional[] = {"hant", "tw", "hk", "mo", NULL};
	g_auto(GStrv) subtags = g_strsplit(range, "-", -1);

	for (guint i = 1; subtags[i] != NULL; i++) {
		if (g_strv_contains(traditional, subtags[i]))
			return TRUE;
	}
	return FALSE;
}

/* the first of @candidates (NULL-terminated) that is a catalogue */
static const char *
find_first(const char *const *candidates, const char *const *available, char *const *tags)
{
	for (guint i = 0; candidates[i] != NULL; i++) {
		const char *found = find_exact(candidates[i], available, tags);

		if (found != NULL)
			return found;
	}
	return NULL;
}

static const char *
lookup(const char *range, const char *const *available, char *const *tags)
{
	g_autofree char *t = g_strdup(range);

	if (strcmp(range, "zh") == 0 || g_str_has_prefix(range, "zh-")) {
		/* never the other script, whatever the region */
		const char *const traditional[] = {range, "zh-hant", "zh-tw", "zh-hk", NULL};
		const char *const simplified[] = {range, "zh-cn", "zh-hans", "zh-sg", "zh", NULL};

		return find_first(chinese_traditional(range) ? traditional : simplified, available,
				  tags);
	}
	for (;;) {
		const char *found = find_exact(t, available, tags);
		char *dash;

		if (found != NULL)
			return found;
		dash = strrchr(t, '-');
		if (dash == NULL)
			return find_language(t, available, tags);
		*dash = '\0';
		/* RFC 4647 §3.4: a singleton left at the end goes too ("de-x-priv" falls back to
		 * "de", not "de-x") */
		dash = strrchr(t, '-');
		if (dash != NULL && strlen(dash + 1) == 1)
			*dash = '\0';
	}
}

const char *
wr_accept_language_pick(const char *header, const char *const *available)
{
	g_auto(GStrv) ranges = wr_accept_language_parse(header);
	g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func(g_free);

	if (available == NULL)
		return NULL;
	for (guint i = 0; available[i] != NULL; i++)
		g_ptr_array_add(tags, tag_of(available[i]));
	for (guint i = 0; ranges[i] != NULL; i++) {
		const char *found;

		if (strcmp(ranges[i], "*") == 0)
			continue;
		found = lookup(ranges[i], available, (char *const *) tags->pdata);
		if (found != NULL)
			return found;
	}
	return NULL;
}
