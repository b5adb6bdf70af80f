package transport

import (
	"fmt"
	"slices"
	"testing"
)

func TestPage(t *testing.T) {
	var names []string
	for i := range 2500 {
		names = append(names, fmt.Sprintf("r%05d", i))
	}
	id := func(s string) string { return s }
	var got []string
	pages := 0
	for after := ""; ; pages++ {
		page, next := Page(names, id, after, 0)
		if len(page) > MaxPage {
			t.Fatalf("page of %d, max %d", len(page), MaxPage)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		after = next
	}
	if !slices.Equal(got, names) || pages != 2 {
		t.Fatalf("paged %d names in %d pages, want %d in 3", len(got), pages+1, len(names))
	}
	for _, c := range []struct {
		after string
		limit int
		want  []string
		next  string
	}{
		{"", 2, []string{"r00000", "r00001"}, "r00001"},
		{"r00001", 2, []string{"r00002", "r00003"}, "r00003"},
		{"r000015", 1, []string{"r00002"}, "r00002"}, // a cursor that names no entry
		{"r02498", 5, []string{"r02499"}, ""},
		{"r02499", 5, []string{}, ""},
		{"zzz", 5, []string{}, ""},
		{"r02497", 2, []string{"r02498", "r02499"}, ""},
	} {
		page, next := Page(names, id, c.after, c.limit)
		if !slices.Equal(page, c.want) || next != c.next {
			t.Errorf("Page(after %q, limit %d) = %v, %q; want %v, %q", c.after, c.limit, page, next, c.want, c.next)
		}
	}
}
