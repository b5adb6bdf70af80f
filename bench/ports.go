package bench

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// Ports are taken below Linux's ephemeral range (32768-60999 by default),
// so that no outgoing connection is given a node's port while the node is
// down between a kill and its restart on the same address.
const (
	portLow  = 20000
	portHigh = 32000
)

var ports struct {
	mu   sync.Mutex
	used map[int]bool
}

// portFree reports whether port is free on 127.0.0.1 for both TCP and UDP,
// by binding it and closing it again.
func portFree(port int) bool {
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

// freeAddr returns a 127.0.0.1 address whose port the OS reports free for
// TCP and UDP and that this process has not handed out before.
func freeAddr() (string, error) {
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.used == nil {
		ports.used = make(map[int]bool)
	}
	for range 500 {
		p := portLow + rand.IntN(portHigh-portLow)
		if ports.used[p] || !portFree(p) {
			continue
		}
		ports.used[p] = true
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
	}
	return "", fmt.Errorf("ports: no free port in %d-%d", portLow, portHigh)
}
