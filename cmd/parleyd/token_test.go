package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJoinToken checks where a joining node's token comes from: --token,
// else --token-file, else $PARLEYD_TOKEN; both flags at once is a usage
// error, and a missing or empty file a clear one.
func TestJoinToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("  from-file.abc \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(tokenEnv, " from-env ")
	for _, tc := range []struct {
		flag, file, want, err string
	}{
		{flag: " from-flag ", want: "from-flag"},
		{file: file, want: "from-file.abc"},
		{want: "from-env"},
		{flag: "x", file: file, err: "give one"},
		{file: filepath.Join(dir, "missing"), err: "--token-file"},
		{file: empty, err: "is empty"},
	} {
		got, err := joinToken(tc.flag, tc.file)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("joinToken(%q, %q) = %q, %v; want an error saying %q", tc.flag, tc.file, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("joinToken(%q, %q) = %q, %v; want %q", tc.flag, tc.file, got, err, tc.want)
		}
	}
	var ue usageError
	if _, err := joinToken("x", file); !errors.As(err, &ue) {
		t.Errorf("--token with --token-file: %v, want a usage error", err)
	}
}
