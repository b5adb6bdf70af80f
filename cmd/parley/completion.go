package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// runCompletion prints a shell completion script for bash or zsh:
//
//	source <(parley completion bash)       # in ~/.bashrc
//	source <(parley completion zsh)        # in ~/.zshrc
//
// It completes the subcommands and each one's flags. The zsh script is the
// bash one run through zsh's bashcompinit.
func runCompletion(ctx context.Context, e *env, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(e.stdout, "Usage: parley completion bash|zsh\n\nPrints a completion script: add 'source <(parley completion bash)' to ~/.bashrc,\nor 'source <(parley completion zsh)' to ~/.zshrc.\n")
		return errHelp
	}
	if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh") {
		return usagef("want bash or zsh")
	}
	script, err := completionScript(ctx)
	if err != nil {
		return err
	}
	if args[0] == "zsh" {
		fmt.Fprint(e.stdout, "#compdef parley\n# zsh completion for parley, through bashcompinit.\nautoload -U +X compinit && compinit -u\nautoload -U +X bashcompinit && bashcompinit\n")
	}
	_, err = io.WriteString(e.stdout, script)
	return err
}

// flagLine matches a flag in the output of flag.PrintDefaults.
var flagLine = regexp.MustCompile(`(?m)^\s+-([a-z][a-z0-9-]*)`)

// commandFlags returns the flags of command name, read from its -h.
func commandFlags(ctx context.Context, name string) ([]string, error) {
	cmd := lookup(name)
	if cmd == nil {
		return nil, fmt.Errorf("completion: no command %q", name)
	}
	var out bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" },
		askPassword: func(string) (string, error) { return "", errNoTerminal }}
	cmd.run(ctx, e, []string{"-h"})
	var flags []string
	for _, m := range flagLine.FindAllStringSubmatch(out.String(), -1) {
		flags = append(flags, "--"+m[1])
	}
	slices.Sort(flags)
	return slices.Compact(flags), nil
}

// completionScript is the bash completion function for every command.
func completionScript(ctx context.Context) (string, error) {
	var names []string
	var cases strings.Builder
	for _, c := range commands {
		names = append(names, c.name)
		var words []string
		switch c.name {
		case "completion":
			words = []string{"bash", "zsh"}
		case "version":
		default:
			flags, err := commandFlags(ctx, c.name)
			if err != nil {
				return "", err
			}
			words = flags
		}
		fmt.Fprintf(&cases, "\t\t%s) words=%q ;;\n", c.name, strings.Join(words, " "))
	}
	replFlags, err := commandFlags(ctx, "repl")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`# bash completion for parley: source <(parley completion bash)
_parley() {
	local cur="${COMP_WORDS[COMP_CWORD]}" cmd="" w words i
	local cmds=%q
	for ((i = 1; i < COMP_CWORD; i++)); do
		w="${COMP_WORDS[i]}"
		case " $cmds " in *" $w "*) cmd="$w"; break ;; esac
	done
	if [[ -z "$cmd" && "$cur" != -* ]]; then
		COMPREPLY=($(compgen -W "$cmds help" -- "$cur"))
		return 0
	fi
	case "$cmd" in
%s		*) words=%q ;;
	esac
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
	return 0
}
complete -F _parley parley
`, strings.Join(names, " "), cases.String(), strings.Join(replFlags, " ")), nil
}
