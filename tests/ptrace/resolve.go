// Resolves web.socktrace.test through /etc/resolv.conf with Go's own
// resolver (no libc: write and read on a UDP socket connected to port 53)
// and connects to it at port 9, where nothing listens. Exits 0 when that
// connect was refused, 1 when the name did not resolve.
package main

import (
	"errors"
	"net"
	"os"
	"syscall"
)

func main() {
	_, err := net.Dial("tcp4", "web.socktrace.test:9")
	if errors.Is(err, syscall.ECONNREFUSED) {
		os.Exit(0)
	}
	os.Stderr.WriteString(err.Error() + "\n")
	os.Exit(1)
}
