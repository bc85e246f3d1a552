package apptest

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// FreeAddr returns a loopback address nothing listens on now, for a
// process the test starts that must be told its address in advance. The
// port is drawn below Linux's ephemeral range (32768 and up), from which
// the kernel picks outgoing connections' source ports and ":0" listeners:
// a port from there, closed and handed over, can be taken by the next
// outgoing connection before the process binds it ("address already in
// use").
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	for range 100 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+rand.IntN(12000)))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
