#!/bin/bash
# libractl's bash completion (libractl --bash-completion), driven as bash
# drives it: every command and option libractl's own help lists is offered
# where it belongs, and nothing is offered where a value is expected.
#   bash_completion_test.sh LIBRACTL
set -euo pipefail
libractl=$1
source <("$libractl" --bash-completion)
failed=0

# complete WORD...: the completions of the last word, as bash would ask
complete_words() {
	COMP_WORDS=(libractl "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_libractl
	echo "${COMPREPLY[*]}"
}
expect() { # expect WANT WORD...
	local want=$1 got
	shift
	got=$(complete_words "$@")
	if [[ $got != "$want" ]]; then
		echo "libractl $*<TAB>: got '$got', want '$want'"
		failed=1
	fi
}

# the commands libractl --help lists, and each one's options from its own help
commands=$("$libractl" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p')
[[ -n $commands ]] || { echo "no commands in libractl --help"; exit 1; }
for c in $commands; do
	options=$("$libractl" "$c" --help | grep -o '^  \(-[a-zA-Z] \[ \)\?--[a-z-]*' | grep -o -- '--[a-z-]*' | sort)
	offered=$(complete_words "$c" -- | tr ' ' '\n' | sort)
	if [[ $options != "$offered" ]]; then
		echo "libractl $c --<TAB>: offers [$(echo $offered)], its help lists [$(echo $options)]"
		failed=1
	fi
	[[ " $(complete_words "") " == *" $c "* ]] || { echo "command $c not offered"; failed=1; }
	[[ " $(complete_words help "") " == *" $c "* ]] || { echo "help $c not offered"; failed=1; }
done

expect "enable" en
expect "status stats" st
expect "--pid --port" enable --p
expect "" enable --pid ""
expect "" stats --interval ""
expect "status stats" --socket /run/libra/librad.sock st
expect "sockets" help so
expect "--bash-completion" --bash
((failed == 0)) && echo "bash completion ok"
