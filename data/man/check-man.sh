#!/bin/sh
# check-man.sh [--self-test] PAGE [HELP...] — a man page checked against the program it documents.
#
#  1. groff renders PAGE without a single warning (-ww: an unknown macro, a bad escape, …), the
#     page is plain ASCII (anything else is written as a roff escape such as \(lq), and its .TH
#     names the file: title and section.
#  2. When $PROGRAM is set (meson passes the built program), every long option that the program
#     prints in its help appears in PAGE, so that a new option without documentation fails.
#     Each HELP says whose help to read:
#       -      PROGRAM --help-all
#       NAME   PROGRAM NAME --help-all                    (a subcommand with options of its own)
#       @ARG   PROGRAM ARG, and every command it lists under "Commands:" (the first word of each
#              line): PAGE must name each command at the start of a line (as in `.B users list`
#              or `.SS "warren up …"`), and PROGRAM COMMAND --help-all is read too
#     The options are every --word of those texts except GOption's own --help and --help-*.
#     The texts are read in the C locale, so that they are the untranslated ones.
#
# --self-test also shows that the check can fail: a copy of PAGE without the lines that mention
# the first option found, and a copy with an unknown macro, must both be refused.
set -eu

self_test=no
if [ "${1:-}" = "--self-test" ]; then
	self_test=yes
	shift
fi
if [ $# -lt 1 ]; then
	echo "usage: check-man.sh [--self-test] PAGE [HELP...]" >&2
	exit 2
fi
page=$1
shift
name=$(basename "$page")
title=${name%.*}
section=${name##*.}
export LC_ALL=C
unset LANGUAGE

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

problem()
{
	echo "$name: $*"
	fail=1
}

# --- 1. rendering ---------------------------------------------------------------------------
if ! command -v groff >/dev/null 2>&1; then
	echo "groff is not installed; skipping"
	exit 77
fi
if ! groff -man -ww -z -Tutf8 "$page" >"$work/groff.out" 2>&1; then
	problem "groff failed"
fi
if [ -s "$work/groff.out" ]; then
	sed "s|^|$name: |" "$work/groff.out"
	fail=1
fi
if grep -n '[^[:print:][:space:]]' "$page" >"$work/ascii.out"; then
	problem "not plain ASCII (write a roff escape instead):"
	sed "s|^|	|" "$work/ascii.out"
fi
th=$(sed -n 's/^\.TH  *\([^ ]*\)  *\([^ ]*\).*/\1 \2/p' "$page" | head -n 1 | sed 's/\\-/-/g')
want="$(echo "$title" | tr '[:lower:]' '[:upper:]') $section"
if [ "$th" != "$want" ]; then
	problem ".TH says \"$th\", the file name \"$want\""
fi

# the page's text with \- as - and without font escapes, to search for options and commands
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\f\[[^]]*\]//g' "$page" \
	>"$work/text"

# --- 2. options -----------------------------------------------------------------------------
if [ $# -gt 0 ] && [ -z "${PROGRAM:-}" ]; then
	echo "check-man.sh: HELP given without \$PROGRAM" >&2
	exit 2
fi
: >"$work/help"
help_of()
{
	# $@: the arguments; the help goes to $work/help, a failure is a problem
	if ! "$PROGRAM" "$@" >"$work/one" 2>&1; then
		problem "\"$(basename "$PROGRAM") $*\" failed:"
		sed "s|^|	|" "$work/one"
	fi
	cat "$work/one" >>"$work/help"
}
for h in "$@"; do
	case $h in
	-)
		help_of --help-all
		;;
	@*)
		help_of "${h#@}"
		awk '/^Commands:$/ { on = 1; next } on && /^$/ { on = 0 }
		     on && /^  / && $1 ~ /^[a-z][a-z0-9-]*$/ { print $1 }' "$work/one" |
			sort -u >"$work/commands"
		if [ ! -s "$work/commands" ]; then
			problem "\"$(basename "$PROGRAM") ${h#@}\" lists no commands"
		fi
		while read -r cmd; do
			if ! grep -Eq "^(\.[A-Z]+ +)?\"?($title +)?$cmd( |\"|$)" "$work/text"; then
				problem "the command \"$cmd\" is not described"
			fi
			help_of "$cmd" --help-all
		done <"$work/commands"
		;;
	*)
		help_of "$h" --help-all
		;;
	esac
done
if [ $# -gt 0 ]; then
	grep -Eo -- '--[A-Za-z0-9][A-Za-z0-9-]*' "$work/help" | grep -Ev -- '^--help(-|$)' |
		sort -u >"$work/options" || true
	if [ ! -s "$work/options" ]; then
		problem "the help of $(basename "$PROGRAM") shows no options: is it the right program?"
	fi
	while read -r opt; do
		if ! grep -Eq -- "$opt([^A-Za-z0-9-]|\$)" "$work/text"; then
			problem "the option $opt is not documented"
		fi
	done <"$work/options"
	echo "$name: $(wc -l <"$work/options") options checked"
fi

if [ $fail -ne 0 ]; then
	exit 1
fi
echo "$name: renders without warnings"

# --- the check must be able to fail ----------------------------------------------------------
if [ $self_test = yes ]; then
	if [ ! -s "$work/options" ]; then
		echo "check-man.sh: --self-test needs HELP and \$PROGRAM" >&2
		exit 2
	fi
	opt=$(head -n 1 "$work/options")
	mkdir "$work/broken"
	grep -vF -- "$(echo "$opt" | sed 's/-/\\-/g')" "$page" >"$work/broken/$name" || true
	if out=$("$0" "$work/broken/$name" "$@" 2>&1) ||
		! printf '%s\n' "$out" | grep -q -- "option $opt is not documented"; then
		echo "self-test: the page without $opt was not refused for it:"
		printf '%s\n' "$out"
		exit 1
	fi
	cp "$page" "$work/broken/$name"
	echo ".XX an unknown macro" >>"$work/broken/$name"
	if out=$("$0" "$work/broken/$name" 2>&1); then
		echo "self-test: a page with an unknown macro was not refused:"
		printf '%s\n' "$out"
		exit 1
	fi
	echo "self-test: a page without $opt and a page with an unknown macro are refused"
fi
