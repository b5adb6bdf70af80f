// Package freeport picks free ports on 127.0.0.1 for the processes a
// harness starts, and never hands out the same port twice in one run.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// Ports are taken below Linux's ephemeral range (32768-60999 by default),
// so that no outgoing connection of another process is given a node's
// port while the node is down between a kill and its restart on the same
// address.
const (
	portLow  = 20000
	portHigh = 32000
	// tries bounds the random picks of one call.
	tries = 500
)

// handedOut holds every port this process has handed out.
var handedOut struct {
	mu   sync.Mutex
	used map[int]bool
}

// Addr returns a 127.0.0.1 address whose port is free for TCP and UDP
// alike and that this process has not handed out before.
func Addr() (string, error) {
	p, err := Range(1)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

// Range returns the first of n consecutive ports that are free on
// 127.0.0.1 for TCP and UDP and that this process has not handed out
// before; they are then reserved for the rest of the run.
func Range(n int) (int, error) {
	handedOut.mu.Lock()
	defer handedOut.mu.Unlock()
	if handedOut.used == nil {
		handedOut.used = make(map[int]bool)
	}
	for range tries {
		base := portLow + rand.IntN(portHigh-portLow-n)
		ok := true
		for p := base; p < base+n && ok; p++ {
			ok = !handedOut.used[p] && free(p)
		}
		if !ok {
			continue
		}
		for p := base; p < base+n; p++ {
			handedOut.used[p] = true
		}
		return base, nil
	}
	return 0, fmt.Errorf("ports: no %d free consecutive ports in %d-%d", n, portLow, portHigh)
}

// free reports whether port is free on 127.0.0.1 for both TCP and UDP, by
// binding it and closing it again.
func free(port int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	pc.Close()
	return true
}
