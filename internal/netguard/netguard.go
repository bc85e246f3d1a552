// Package netguard builds the dial guard for connections to addresses that
// others choose (webhook URLs, PDS URLs in DID documents): private,
// loopback, link-local (cloud metadata), multicast and other
// special-purpose addresses are refused unless the operator allowed them.
package netguard

import (
	"net/netip"

	"code.dny.dev/ssrf"
)

// New returns a guard that lets through the allowed prefixes (for example
// 127.0.0.0/8 for a service on this host) on any port. Use its Safe method
// as a net.Dialer Control function: it checks the address actually dialled,
// after DNS, so a name that resolves to a private address is refused too.
func New(allow []netip.Prefix) *ssrf.Guardian {
	var v4, v6 []netip.Prefix
	for _, p := range allow {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return ssrf.New(ssrf.WithAnyPort(), ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...))
}
