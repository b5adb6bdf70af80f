package mapreduce_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/transport"
)

// TestCancelStopsTheJob cancels a job while its map tasks run on several
// nodes: the job says it was cancelled (never done), and every node stops
// its attempts and removes their files.
func TestCancelStopsTheJob(t *testing.T) {
	c := daemontest.StartCluster(t, 3, daemontest.Options{Configure: func(_ int, cfg *daemon.Config) {
		cfg.AnalyticsScanDelay = 20 * time.Millisecond
		cfg.AnalyticsMemBytes = 1 << 10 // every task spills
	}})
	chat(t, c.Addr(0), 40)
	alice := dialUser(t, c.Addr(0), "alice")
	dirs := make([]string, c.Len())
	for i := range dirs {
		dirs[i] = chatcore.DataLayout(c.Config(i).DataDir).Analytics()
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var last transport.AnalyticsProgress
	busy := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := alice.Analytics(ctx, "top-words", client.AnalyticsParams{Progress: func(p transport.AnalyticsProgress) {
			mu.Lock()
			last = p
			mu.Unlock()
			if len(p.Running) >= 2 {
				once.Do(func() { close(busy) })
			}
		}})
		done <- err
	}()
	select {
	case <-busy:
	case err := <-done:
		t.Fatalf("the job ended before it ran on two nodes: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the job never ran on two nodes")
	}
	// The attempts really hold files on the nodes.
	poll(t, "attempt files on the nodes", func() error {
		if n := countFiles(dirs); n == 0 {
			return errors.New("no files")
		}
		return nil
	})
	mu.Lock()
	p := last
	mu.Unlock()
	t.Logf("cancelling job %s with %d files on the nodes: %+v", p.JobID, countFiles(dirs), p)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled job returned %v", err)
	}

	sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
	defer scancel()
	st, err := alice.AnalyticsStatus(sctx, p.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Cancelled || st.Done || st.Error == nil || !strings.Contains(st.Error.Message, "cancelled") || len(st.Rows) != 0 {
		t.Errorf("status of the cancelled job: %+v, want cancelled, not done, no rows", st)
	}
	poll(t, "every node drops the job's attempts and files", func() error {
		if n := countFiles(dirs); n != 0 {
			return fmt.Errorf("%d files left", n)
		}
		return nil
	})
	// It stays cancelled: polling it again never turns it into a result.
	st, err = alice.AnalyticsStatus(sctx, p.JobID)
	if err != nil || !st.Cancelled || st.Done {
		t.Errorf("status later: %+v, %v", st, err)
	}
	// Another user cannot see alice's job.
	bob := dialUser(t, c.Addr(1), "bob")
	if _, err := bob.AnalyticsStatus(sctx, p.JobID); transport.CodeOf(err) != transport.CodeNotFound {
		t.Errorf("bob polls alice's job: %v, want not_found", err)
	}
}

// countFiles counts the files and directories under every dir.
func countFiles(dirs []string) int {
	n := 0
	for _, d := range dirs {
		filepath.WalkDir(d, func(path string, _ os.DirEntry, err error) error {
			if err == nil && path != d {
				n++
			}
			return nil
		})
	}
	return n
}

// poll calls f until it returns nil, failing t after a minute.
func poll(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
