// Connects to 127.0.0.1:9, where nothing listens: Go's net package makes
// raw system calls and never calls libc. Exits 0 when refused.
package main

import (
	"errors"
	"net"
	"os"
	"syscall"
)

func main() {
	_, err := net.Dial("tcp", "127.0.0.1:9")
	if errors.Is(err, syscall.ECONNREFUSED) {
		os.Exit(0)
	}
	os.Exit(1)
}
