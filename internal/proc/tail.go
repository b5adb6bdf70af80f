package proc

import (
	"bytes"
	"fmt"
	"os"
)

// Tail returns the last n lines of the file at path, such as a process's
// log, for an error report; if the file cannot be read, it says why.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
