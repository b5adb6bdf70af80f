package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/parleychat/parley/backup"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/internal/atomicfile"
)

// runAdminBackup implements "parley admin export [--room R]… [--output
// FILE]" and "parley admin import FILE|-". done is false when args are
// another admin action, which runAdmin then serves.
func runAdminBackup(ctx context.Context, e *env, args []string) (done bool, err error) {
	// Only a command line naming export or import is theirs: parsing any
	// other with these flags would print their usage for "admin -h".
	if !slices.ContainsFunc(args, func(a string) bool { return a == "export" || a == "import" }) {
		return false, nil
	}
	f := newFlagSet("admin", "parley admin export [--room ROOM]… [--output FILE] | import FILE [flags]")
	rooms := &roomList{}
	f.Var(rooms, "room", "export only this `room` (repeat, or separate with commas; default: every room, direct messages included)")
	output := f.String("output", "", "write the backup to `FILE` instead of standard output")
	if err := f.parse(e, args); err != nil {
		return true, err
	}
	if f.Arg(0) != "export" && f.Arg(0) != "import" {
		return false, nil
	}
	if f.Arg(0) == "export" {
		if f.NArg() != 1 {
			return true, usagef("export takes no arguments; name rooms with --room")
		}
		return true, adminExport(ctx, e, f, rooms.names, *output)
	}
	if f.NArg() != 2 || len(rooms.names) > 0 || *output != "" {
		return true, usagef("import takes one argument, the backup FILE (- for standard input), and no --room or --output")
	}
	return true, adminImport(ctx, e, f, f.Arg(1))
}

// adminExport writes a backup of rooms to output (standard output if ""),
// with a progress bar on standard error when it is a terminal. A file is
// written whole or not at all.
func adminExport(ctx context.Context, e *env, f *flagSet, rooms []string, output string) error {
	c, _, err := f.common.dial(ctx, e, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	bar := newBackupBar(e.stderr, isTerminal(e.stderr))
	var last client.ExportProgress
	export := func(out io.Writer) error {
		w := backup.NewWriter(out)
		// An export may run for long: it is bounded by Ctrl-C, not --timeout.
		err := c.Export(ctx, rooms, w.Write, func(p client.ExportProgress) {
			last = p
			bar.show(fmt.Sprintf("room %d/%d", p.Rooms, p.RoomsTotal), p.Rooms, p.RoomsTotal, fmt.Sprintf("%d messages", p.Messages))
		})
		bar.clear()
		if err != nil {
			return err
		}
		return w.Flush()
	}
	if output == "" {
		err = export(e.stdout)
	} else {
		err = atomicfile.WriteWith(output, 0o600, export)
	}
	if err != nil {
		return err
	}
	if bar.on {
		fmt.Fprintf(e.stderr, "exported %d rooms, %d messages\n", last.RoomsTotal, last.Messages)
	}
	return nil
}

// adminImport restores the backup in path ("-": standard input).
func adminImport(ctx context.Context, e *env, f *flagSet, path string) error {
	var in io.Reader = e.stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer file.Close()
		in = file
	}
	c, s, err := f.common.dial(ctx, e, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	bar := newBackupBar(e.stderr, isTerminal(e.stderr))
	st, err := c.Import(ctx, in, func(p client.ImportProgress) {
		bar.show(p.Room, int(p.Messages), int(p.MessagesTotal), fmt.Sprintf("%d/%d messages", p.Messages, p.MessagesTotal))
	})
	bar.clear()
	if err != nil {
		return err
	}
	p := newPrinter(e.stdout, s.json)
	if p.json {
		return p.writeJSON(struct {
			Cluster      string   `json:"cluster"`
			Rooms        int      `json:"rooms"`
			Added        int      `json:"added"`
			Skipped      int      `json:"skipped"`
			MembersAdded int      `json:"members_added"`
			MembersStale []string `json:"members_stale,omitempty"`
		}{st.Cluster, st.Rooms, st.Added, st.Skipped, st.MembersAdded, st.MembersStale})
	}
	fmt.Fprintf(p.w, "imported %d rooms from cluster %s: %d messages added, %d already here, %d members added\n",
		st.Rooms, st.Cluster, st.Added, st.Skipped, st.MembersAdded)
	if len(st.MembersStale) > 0 {
		fmt.Fprintf(p.w, "rooms that moved on since the backup keep their members: %s\n", strings.Join(st.MembersStale, ", "))
	}
	return nil
}

// backupBar draws a progress bar on a terminal, at most ten times a
// second.
type backupBar struct {
	w     io.Writer
	on    bool
	drawn time.Time
}

func newBackupBar(w io.Writer, on bool) *backupBar { return &backupBar{w: w, on: on} }

func (b *backupBar) show(label string, done, total int, tail string) {
	if !b.on || total <= 0 || (time.Since(b.drawn) < 100*time.Millisecond && done < total) {
		return
	}
	const width = 30
	filled := width * min(done, total) / total
	fmt.Fprintf(b.w, "\r\033[K[%s%s] %s, %s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), clean(label), tail)
	b.drawn = time.Now()
}

func (b *backupBar) clear() {
	if !b.drawn.IsZero() {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
