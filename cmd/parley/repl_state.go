package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/parleychat/parley/internal/atomicfile"
)

// seenFile is the name of the REPL's state file in its config directory:
// per user and room, the last seq that user has seen on this machine.
const seenFile = "seen.json"

// seenDoc is the JSON form of the state file.
type seenDoc struct {
	// Users maps a user name to its rooms' last seen seqs.
	Users map[string]map[string]uint64 `json:"users"`
}

// seenState is one user's last seen seqs, kept in the state file. Several
// REPLs may share the file: save merges what it holds, keeping the
// highest seq of each room. It is safe for concurrent use.
type seenState struct {
	path string
	user string

	saving sync.Mutex // held by save

	mu    sync.Mutex
	rooms map[string]uint64
	dirty bool
}

// loadSeen reads user's last seen seqs from the state file at path. A
// missing file is an empty state; so is an empty path, which is then
// never written. On error the returned state is empty and usable.
func loadSeen(path, user string) (*seenState, error) {
	s := &seenState{path: path, user: user, rooms: make(map[string]uint64)}
	if path == "" {
		return s, nil
	}
	doc, err := readSeenDoc(path)
	if err != nil {
		return s, err
	}
	for room, seq := range doc.Users[user] {
		s.rooms[room] = seq
	}
	return s, nil
}

// readSeenDoc reads the state file; a missing one is empty.
func readSeenDoc(path string) (seenDoc, error) {
	doc := seenDoc{Users: make(map[string]map[string]uint64)}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return doc, nil
	}
	if err != nil {
		return doc, fmt.Errorf("state file: %w", err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return seenDoc{Users: make(map[string]map[string]uint64)}, fmt.Errorf("state file %s: %w", path, err)
	}
	if doc.Users == nil {
		doc.Users = make(map[string]map[string]uint64)
	}
	return doc, nil
}

// get returns the last seq seen in room (0: none).
func (s *seenState) get(room string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[room]
}

// all returns every room's last seen seq.
func (s *seenState) all() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.rooms)
}

// mark records that seq of room was seen; seqs only move forward.
func (s *seenState) mark(room string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq > s.rooms[room] {
		s.rooms[room] = seq
		s.dirty = true
	}
}

// save writes the state file if anything was marked since the last save:
// it reads the file again, keeps the higher seq of each room, and
// replaces the file atomically (a temporary file renamed over it), mode
// 0600. Only one save runs at a time; marks go on meanwhile. A state with
// no path is never saved.
func (s *seenState) save() error {
	s.saving.Lock()
	defer s.saving.Unlock()
	s.mu.Lock()
	if !s.dirty || s.path == "" {
		s.mu.Unlock()
		return nil
	}
	snap := maps.Clone(s.rooms)
	s.dirty = false
	s.mu.Unlock()

	doc, err := readSeenDoc(s.path)
	if err != nil {
		// A corrupt file is replaced rather than kept forever.
		doc = seenDoc{Users: make(map[string]map[string]uint64)}
	}
	mine := doc.Users[s.user]
	if mine == nil {
		mine = make(map[string]uint64)
		doc.Users[s.user] = mine
	}
	for room, seq := range snap {
		mine[room] = max(mine[room], seq)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err == nil {
		err = atomicfile.Write(s.path, append(b, '\n'), 0o600)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.dirty = true
		return fmt.Errorf("state file: %w", err)
	}
	for room, seq := range mine {
		s.rooms[room] = max(s.rooms[room], seq)
	}
	return nil
}

// unread returns how many messages of a room with last seq lastSeq come
// after seen.
func unread(lastSeq, seen uint64) uint64 {
	if lastSeq <= seen {
		return 0
	}
	return lastSeq - seen
}

// replConfigDir returns the REPL's config directory, parley/ under the
// user's config directory (where known_clusters also lives).
func replConfigDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config dir: %w", err)
	}
	return filepath.Join(d, "parley"), nil
}
