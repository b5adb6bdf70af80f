package main

import (
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/parleychat/parley/internal/conffile"
)

// envConfig names another config file than the default one.
const envConfig = "PARLEY_CONFIG"

// configKeys are the settings the client's config file may hold.
var configKeys = []string{"server", "user", "ca", "timeout", "color"}

// clientConfig is the content of the client's config file,
// <user config dir>/parley/config.conf (see conffile for its syntax):
//
//	server = 192.168.1.10:7400,192.168.1.11:7400
//	user = alice
//	color = auto        # or always, never
//
// A flag wins over the environment, which wins over the file, which wins
// over the defaults.
type clientConfig struct {
	path    string
	server  string
	user    string
	ca      string
	timeout time.Duration
	color   string
}

// configPath is where the config file is: $PARLEY_CONFIG, else
// $XDG_CONFIG_HOME/parley/config.conf, else ~/.config/parley/config.conf.
// explicit reports that PARLEY_CONFIG named it, so that it must exist.
func configPath(e *env) (path string, explicit bool) {
	if p := e.getenv(envConfig); p != "" {
		return p, true
	}
	if d := e.getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "parley", "config.conf"), false
	}
	if h := e.getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "parley", "config.conf"), false
	}
	return "", false
}

// config loads the config file once; a missing default file is an empty
// config.
func (e *env) config() (*clientConfig, error) {
	if e.conf != nil {
		return e.conf, nil
	}
	path, explicit := configPath(e)
	c := &clientConfig{path: path, color: "auto"}
	if path == "" {
		e.conf = c
		return c, nil
	}
	file, err := conffile.Load(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		e.conf = c
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := file.Check(configKeys...); err != nil {
		return nil, err
	}
	for _, s := range file.Settings {
		bad := func(msg string) error {
			return &conffile.Error{Path: path, Line: s.Line, Msg: s.Key + " = " + s.Value + ": " + msg}
		}
		switch s.Key {
		case "server":
			c.server = s.Value
		case "user":
			c.user = s.Value
		case "ca":
			c.ca = s.Value
		case "timeout":
			d, err := time.ParseDuration(s.Value)
			if err != nil || d <= 0 {
				return nil, bad("want a positive duration such as 15s")
			}
			c.timeout = d
		case "color":
			if s.Value != "auto" && s.Value != "always" && s.Value != "never" {
				return nil, bad("want auto, always or never")
			}
			c.color = s.Value
		}
	}
	e.conf = c
	return c, nil
}

// colorWanted applies the config's color setting and NO_COLOR to whether
// the output is a terminal: NO_COLOR always wins, then "never" and
// "always", then "auto" colours a terminal.
func (c *clientConfig) colorWanted(noColorSet, tty bool) (noColor, asTTY bool) {
	switch {
	case noColorSet || c.color == "never":
		return true, tty
	case c.color == "always":
		return false, true
	}
	return false, tty
}
