package framework

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
)

// ForwardTCPT forwards every TCP connection made to from (host:port) to to (host:port) for the rest of the test.
// It stands in for what moves packets between addresses in a real network, which the private network namespace
// of the tests lacks: kube-proxy (a Service's ClusterIP and port to an endpoint's address and target port), or a
// gateway or load balancer publishing istiod's ports under another address.
func ForwardTCPT(t *testing.T, from, to string) {
	t.Helper()
	l, err := net.Listen("tcp", from)
	NewWithT(t).Expect(err).NotTo(HaveOccurred(), "listening on %s to forward to %s", from, to)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	track := func(c net.Conn, open bool) {
		mu.Lock()
		defer mu.Unlock()
		if open {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for c := range conns { // e.g. the API server's idle keep-alive connections to a webhook
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			track(conn, true)
			wg.Go(func() {
				defer track(conn, false)
				pipe(conn, to)
			})
		}
	})
}

// pipe copies between conn and a new connection to addr until both directions are done or conn is closed.
func pipe(conn net.Conn, addr string) {
	defer conn.Close()
	upstream, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer upstream.Close()
	done := make(chan struct{}, 2)
	copyHalf := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go copyHalf(upstream, conn)
	go copyHalf(conn, upstream)
	<-done
	// conn closed (by the client or by the cleanup) or upstream finished: end the other direction too.
	_ = conn.Close()
	_ = upstream.Close()
	<-done
}

// ServiceIPT returns the ClusterIP of a Service, waiting until it exists.
func (c *Cluster) ServiceIPT(t *testing.T, namespace, name string) string {
	t.Helper()
	var ip string
	NewWithT(t).Eventually(func() error {
		var err error
		ip, err = c.serviceIP(context.Background(), namespace, name)
		return err
	}, MultiClusterWait).Should(Succeed())
	return ip
}
