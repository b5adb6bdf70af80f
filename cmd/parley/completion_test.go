package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The completion scripts complete subcommands and each one's flags in the
// real shells.
func TestCompletionInRealShells(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			bin, err := exec.LookPath(shell)
			if err != nil {
				t.Fatalf("%s not found: install it (Debian package %s, see .ci/run)", shell, shell)
			}
			te := newTestEnv(t, nil)
			if code := te.run("completion", shell); code != 0 {
				t.Fatalf("parley completion %s: exit %d: %s", shell, code, te.errOut.String())
			}
			script := filepath.Join(t.TempDir(), "parley."+shell)
			if err := os.WriteFile(script, te.out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				words string
				want  string
			}{
				{"parley se", "send"},
				{"parley send --ro", "--room"},
				{"parley tail --l", "--last"},
				{"parley --room r hi", "history"}, // after flags, still a command
				{"parley completion z", "zsh"},
				{"parley --se", "--server"},
			} {
				words := strings.Fields(tc.words)
				setup := "COMP_WORDS=(" + tc.words + "); COMP_CWORD=" + strconv.Itoa(len(words)-1) + "; "
				if shell == "zsh" {
					// bashcompinit runs the function with bash's
					// 0-based arrays.
					setup = "setopt ksharrays; " + setup
				}
				cmd := exec.Command(bin, "-c", "source "+script+"; "+setup+"_parley; echo \"${COMPREPLY[*]}\"")
				cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%q: %v\n%s", tc.words, err, out)
				}
				got := strings.Fields(strings.TrimSpace(string(out)))
				found := false
				for _, g := range got {
					found = found || g == tc.want
				}
				if !found {
					t.Errorf("%s: completing %q gave %q, want %q among them", shell, tc.words, got, tc.want)
				}
			}
		})
	}
}

func TestCompletionNeedsAShell(t *testing.T) {
	te := newTestEnv(t, nil)
	if code := te.run("completion", "fish"); code != 2 {
		t.Fatalf("completion fish: exit %d", code)
	}
	if _, err := completionScript(context.Background()); err != nil {
		t.Fatal(err)
	}
}
