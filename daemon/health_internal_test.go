package daemon

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	if err := checkWritable(dir); err != nil {
		t.Fatalf("writable dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".health-check")); !os.IsNotExist(err) {
		t.Fatalf("the check left its file behind: %v", err)
	}
	if err := checkWritable(filepath.Join(dir, "gone")); err == nil {
		t.Fatal("a missing dir passed the check")
	}
}
