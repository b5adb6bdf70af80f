package chatcore_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeShowsExample checks that the README's Embedding section shows
// exactly the body of Example (example_test.go), the source of truth, so
// the snippet there compiles and runs as the example does.
func TestReadmeShowsExample(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(src), "\nfunc Example() {\n")
	if !ok {
		t.Fatal("example_test.go has no func Example")
	}
	body, _, ok = strings.Cut(body, "\t// Output:")
	if !ok {
		t.Fatal("Example has no // Output: line")
	}
	var want []string
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		want = append(want, strings.TrimPrefix(line, "\t"))
	}
	_, section, ok := strings.Cut(string(readme), "\n## Embedding\n")
	if !ok {
		t.Fatal("README.md has no Embedding section")
	}
	_, block, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal("README.md's Embedding section has no Go block")
	}
	block, _, _ = strings.Cut(block, "```")
	if got := strings.TrimRight(block, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("README.md's Embedding block differs from Example's body:\n--- README\n%s\n--- Example\n%s", got, strings.Join(want, "\n"))
	}
}
