package mdnslab

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Service is one resolved service that avahi-browse reported.
type Service struct {
	// Protocol is the family avahi-browse found the service over, "IPv4"
	// or "IPv6"; Address may be of either.
	Interface, Protocol, Name, Type, Host, Address, Port string
	// TXT are the TXT strings, unquoted.
	TXT []string
}

// Browse runs "avahi-browse --resolve --terminate --parsable" for service
// type typ on the lab's avahi host and returns the services it resolved.
func (l *Lab) Browse(typ string) ([]Service, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := l.avahiCommand(ctx, "avahi-browse", "-r", "-t", "-p", "-k", typ).Output()
	if err != nil {
		return nil, fmt.Errorf("avahi-browse: %w: %s", err, out)
	}
	var svcs []Service
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, ";", 10)
		if len(f) != 10 || f[0] != "=" {
			continue
		}
		svcs = append(svcs, Service{Interface: f[1], Protocol: f[2], Name: f[3], Type: f[4], Host: f[6], Address: f[7], Port: f[8], TXT: parseTXT(f[9])})
	}
	return svcs, nil
}

// parseTXT splits avahi-browse's TXT field, "\"a=b\" \"c=d\"", into its
// strings.
func parseTXT(s string) []string {
	var txt []string
	for _, q := range strings.Split(s, "\" \"") {
		if q = strings.Trim(q, "\""); q != "" {
			txt = append(txt, q)
		}
	}
	return txt
}
