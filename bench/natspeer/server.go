package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// runServer runs one embedded nats-server until SIGTERM or SIGINT.
func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	name := fs.String("name", "", "server name")
	port := fs.Int("port", 0, "client port on 127.0.0.1")
	clusterPort := fs.Int("cluster-port", 0, "cluster (route) port on 127.0.0.1")
	routes := fs.String("routes", "", "route URLs of the cluster's servers, comma-separated")
	store := fs.String("store", "", "JetStream store directory")
	sync := fs.String("sync", "default", `JetStream fsync: "default" (every 2 minutes) or "always" (every write)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *port == 0 || *clusterPort == 0 || *store == "" {
		return fmt.Errorf("server: --name, --port, --cluster-port and --store are required")
	}
	opts := &server.Options{
		ServerName: *name,
		Host:       "127.0.0.1",
		Port:       *port,
		JetStream:  true,
		StoreDir:   *store,
		Cluster: server.ClusterOpts{
			Name: "bench",
			Host: "127.0.0.1",
			Port: *clusterPort,
		},
		Routes: server.RoutesFromStr(*routes),
		NoSigs: true,
	}
	switch *sync {
	case "default":
	case "always":
		opts.SyncAlways = true
	default:
		return fmt.Errorf("server: --sync %q: want default or always", *sync)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.ConfigureLogger()
	go s.Start()
	if !s.ReadyForConnections(time.Minute) {
		return fmt.Errorf("server: not ready after a minute")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	s.Shutdown()
	s.WaitForShutdown()
	return nil
}
