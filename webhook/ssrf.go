package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"code.dny.dev/ssrf"

	"github.com/downsignal/downsignal/internal/netguard"
)

// Guard refuses destinations an outside user must not reach through us:
// private, loopback, link-local (cloud metadata), multicast and other
// special-purpose addresses, unless the operator allowed them.
type Guard struct {
	g *ssrf.Guardian
}

// NewGuard returns a guard that lets through the allowed prefixes (for
// example 127.0.0.0/8 for a receiver on this host, or 10.0.0.0/8 for an
// internal one). Any port is allowed: receivers listen where they like.
func NewGuard(allow []netip.Prefix) *Guard {
	return &Guard{g: netguard.New(allow)}
}

// Control is a net.Dialer Control function: it checks the address
// actually dialled, after DNS, so a name that later resolves to a private
// address (DNS rebinding) is still refused.
func (g *Guard) Control(network, address string, c syscall.RawConn) error {
	return g.g.Safe(network, address, c)
}

// CheckURL resolves the URL's host and refuses it when any address is not
// allowed.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: url has no host", ErrInvalid)
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
			return fmt.Errorf("%w: resolve %s: %v", ErrInvalid, clip(host, 64), err)
		}
	}
	for _, a := range addrs {
		if err := g.g.SafeAddr(a.Unmap()); err != nil {
			return fmt.Errorf("%w: %s resolves to %s, which is not allowed (private, loopback, link-local or special-purpose)", ErrInvalid, clip(host, 64), a)
		}
	}
	return nil
}
