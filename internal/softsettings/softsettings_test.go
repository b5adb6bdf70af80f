package softsettings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// What the helper image saw while its packages initialised, as dragonboat
// would: its working directory and the settings file in it.
var (
	initDir, _      = os.Getwd()
	initSettings, _ = os.ReadFile(fileName)
	_               = noiseAtInit()
)

// noiseAtInit writes to stderr while the re-executed image initialises, as
// dragonboat does when it applies a setting.
func noiseAtInit() bool {
	if _, reexecuted := os.LookupEnv(envStderr); reexecuted && os.Getenv("SOFTSETTINGS_HELPER") != "" {
		fmt.Fprintln(os.Stderr, "noise while initialising")
	}
	return true
}

// report is what the helper prints after Apply.
type report struct {
	PID         int
	Dir         string
	InitDir     string
	InitDirGone bool
	Settings    map[string]uint64
	Env         []string
}

// TestMain runs the test binary as the helper when asked to.
func TestMain(m *testing.M) {
	if os.Getenv("SOFTSETTINGS_HELPER") == "" {
		os.Exit(m.Run())
	}
	if _, ok := os.LookupEnv(envStderr); !ok {
		fmt.Printf("pid %d\n", os.Getpid()) // the first image
	}
	if err := Apply(); err != nil {
		fmt.Fprintln(os.Stderr, "apply:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "after apply")
	r := report{PID: os.Getpid(), InitDir: initDir}
	r.Dir, _ = os.Getwd()
	_, err := os.Stat(initDir)
	r.InitDirGone = errors.Is(err, fs.ErrNotExist)
	json.Unmarshal(initSettings, &r.Settings)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PARLEY_SOFTSETTINGS_") {
			r.Env = append(r.Env, kv)
		}
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	os.Exit(0)
}

// TestApplyReexecutesWithTheSettings: the same process, re-executed, finds
// the settings file in its working directory while it initialises, and
// then runs in the directory it was started in, with the temporary
// directory gone, nothing left in its environment, and the stderr written
// while initialising dropped.
func TestApplyReexecutesWithTheSettings(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SOFTSETTINGS_HELPER=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper: %v; stderr %q", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("helper printed %q, want its pid and its report", stdout.String())
	}
	var pid int
	if _, err := fmt.Sscanf(lines[0], "pid %d", &pid); err != nil {
		t.Fatalf("first line %q: %v", lines[0], err)
	}
	var r report
	if err := json.Unmarshal([]byte(lines[1]), &r); err != nil {
		t.Fatalf("report %q: %v", lines[1], err)
	}
	if r.PID != pid {
		t.Errorf("re-executed as pid %d, started as %d: not the same process", r.PID, pid)
	}
	wantDir, _ := filepath.EvalSymlinks(dir)
	if gotDir, _ := filepath.EvalSymlinks(r.Dir); gotDir != wantDir {
		t.Errorf("runs in %q after Apply, want %q", r.Dir, dir)
	}
	if r.InitDir == r.Dir || !r.InitDirGone {
		t.Errorf("initialised in %q (gone: %v), want a temporary directory, removed", r.InitDir, r.InitDirGone)
	}
	if fmt.Sprint(r.Settings) != fmt.Sprint(Settings) {
		t.Errorf("settings file at initialisation: %v, want %v", r.Settings, Settings)
	}
	if len(r.Env) > 0 {
		t.Errorf("environment left behind: %v", r.Env)
	}
	if got := stderr.String(); got != "after apply\n" {
		t.Errorf("stderr %q, want only what was written after Apply", got)
	}
}
