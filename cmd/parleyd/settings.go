package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/internal/atomicfile"
)

// settings are the flags a node must keep across restarts: its addresses
// (the Raft address is part of its identity) and its name. They are saved in
// chatcore.Layout.Settings (<data>/parleyd.json) when the node first starts, so "parleyd --data DIR"
// alone restarts it as it was; a flag given again overrides the saved value.
type settings struct {
	Name      string `json:"name,omitempty"`
	Listen    string `json:"listen"`
	Raft      string `json:"raft"`
	HTTP      string `json:"http"`
	HTTPS     string `json:"https,omitempty"`
	Advertise string `json:"advertise"`
}

func settingsPath(dataDir string) string { return chatcore.DataLayout(dataDir).Settings() }

// applySavedSettings fills the flags the user did not set from the saved
// settings, if there are any.
func applySavedSettings(fset *flag.FlagSet, cfg *daemon.Config) error {
	b, err := os.ReadFile(settingsPath(cfg.DataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	var s settings
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("settings: %s: %w", settingsPath(cfg.DataDir), err)
	}
	set := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, pair := range map[string][2]*string{
		"name": {&cfg.Name, &s.Name}, "listen": {&cfg.Listen, &s.Listen}, "raft": {&cfg.Raft, &s.Raft},
		"http": {&cfg.HTTP, &s.HTTP}, "https": {&cfg.HTTPS, &s.HTTPS}, "advertise": {&cfg.Advertise, &s.Advertise},
	} {
		if !set[name] && *pair[1] != "" {
			*pair[0] = *pair[1]
		}
	}
	return nil
}

// saveSettings records the settings the node runs with.
func saveSettings(cfg daemon.Config, advertise string) error {
	s := settings{Name: cfg.Name, Listen: cfg.Listen, Raft: cfg.Raft, HTTP: cfg.HTTP, HTTPS: cfg.HTTPS, Advertise: advertise}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if err := atomicfile.Write(settingsPath(cfg.DataDir), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}
