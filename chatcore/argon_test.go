package chatcore

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"golang.org/x/crypto/argon2"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

func TestPasswordHashProfiles(t *testing.T) {
	for _, name := range []string{"default", "small"} {
		p, err := ParseArgonProfile(name)
		if err != nil {
			t.Fatal(err)
		}
		h, err := hashPassword("s3cret", p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(h), "argon2id$v=19$m=") {
			t.Fatalf("%s: hash %q is not PHC-style", name, h)
		}
		if !checkPassword(h, "s3cret") {
			t.Fatalf("%s: the right password is refused", name)
		}
		if checkPassword(h, "s3cret!") {
			t.Fatalf("%s: a wrong password is accepted", name)
		}
	}
	if _, err := ParseArgonProfile("huge"); !errors.Is(err, parley.ErrInvalid) {
		t.Fatalf("ParseArgonProfile(huge) = %v, want ErrInvalid", err)
	}
}

// A hash stored before hashes recorded their parameters still verifies.
func TestPasswordHashLegacyForm(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("old"), salt, 2, 19*1024, 1, 32)
	enc := base64.RawStdEncoding
	stored := []byte("argon2id$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key))
	if !checkPassword(stored, "old") || checkPassword(stored, "new") {
		t.Fatal("legacy hash: wrong verdict")
	}
}

// Stored parameters out of any profile's range are refused rather than
// computed: a corrupt record must not make a node hash with gigabytes.
func TestPasswordHashRefusesWildParams(t *testing.T) {
	for _, s := range []string{
		"argon2id$v=19$m=4194304,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAA",
		"argon2id$v=19$m=19456,t=99,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAA",
		"argon2id$v=18$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAA",
		"argon2id$v=19$m=19456,t=2$MDEyMzQ1Njc4OWFiY2RlZg$AAAA",
		"bcrypt$x$y",
	} {
		if checkPassword([]byte(s), "x") {
			t.Fatalf("%q accepted", s)
		}
	}
}

func TestPasswordSlotsBound(t *testing.T) {
	slots := newPasswordSlots(2, false)
	var running, peak atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots.do(context.Background(), func() {
				r := running.Add(1)
				for {
					p := peak.Load()
					if r <= p || peak.CompareAndSwap(p, r) {
						break
					}
				}
				<-release
				running.Add(-1)
			})
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for running.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := slots.do(ctx, func() { t.Error("ran without a slot") }); !errors.Is(err, parley.ErrUnavailable) {
		t.Errorf("full slots, ended context: %v, want ErrUnavailable", err)
	}
	close(release)
	wg.Wait()
	if peak.Load() != 2 {
		t.Fatalf("peak concurrency %d, want 2", peak.Load())
	}
}

// heapRetained is the memory the Go heap holds from the OS: live and dead
// objects, free spans not yet returned, and span slack.
func heapRetained() uint64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	metrics.Read(s)
	var n uint64
	for _, x := range s {
		n += x.Value.Uint64()
	}
	return n
}

// TestPasswordSlotsGiveMemoryBack checks that a small node's hash leaves
// no memory behind: a hash-sized allocation made in a slot is back with the
// OS when the slot is released, where without giveBack the heap keeps it.
func TestPasswordSlotsGiveMemoryBack(t *testing.T) {
	const size = 64 << 20
	for _, giveBack := range []bool{false, true} {
		debug.FreeOSMemory()
		before := heapRetained()
		slots := newPasswordSlots(2, giveBack)
		if err := slots.do(context.Background(), func() {
			buf := make([]byte, size)
			for i := range buf {
				buf[i] = byte(i)
			}
			runtime.KeepAlive(buf)
		}); err != nil {
			t.Fatal(err)
		}
		grew := int64(heapRetained()) - int64(before)
		if giveBack && grew > size/4 {
			t.Errorf("giveBack: the heap kept %d MiB of a %d MiB hash", grew>>20, size>>20)
		}
		if !giveBack && grew < size/2 {
			t.Errorf("without giveBack the heap kept only %d MiB of a %d MiB hash: the check proves nothing", grew>>20, size>>20)
		}
	}
}
