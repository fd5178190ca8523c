package framework

import (
	"fmt"
	"net"
	"os"
)

// RequirePrivateNetwork returns an error unless this process runs in a private network namespace as
// hack/netns-exec.sh makes it: loopback is its only interface (nothing can leave the machine) and the ClusterIP
// range 10.0.0.0/8 is local (the API server reaches webhooks served in the namespace). Tests that start a cluster
// call it first and fail when it returns an error; they never run outside it silently.
func RequirePrivateNetwork() error {
	const hint = "run the tests through hack/netns-exec.sh, as `make test` does (go test -exec hack/netns-exec.sh)"
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("listing network interfaces: %w", err)
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("network interface %s could send packets off this machine: %s", iface.Name, hint)
		}
	}
	l, err := net.Listen("tcp", "10.0.0.1:0")
	if err != nil {
		return fmt.Errorf("the ClusterIP range 10.0.0.0/8 is not local (%v): %s", err, hint)
	}
	_ = l.Close()
	if os.Getenv("SAIL_NETNS") != "inside" {
		return fmt.Errorf("SAIL_NETNS is not set: %s", hint)
	}
	return nil
}
