package ingesttest

import (
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/bluesky-social/indigo/atproto/identity"
)

// PDS is a personal data server on loopback that serves its accounts'
// repositories (com.atproto.sync.getRepo), and the identity directory
// that points their DIDs at it.
type PDS struct {
	srv *httptest.Server
	dir *identity.MockDirectory

	mu       sync.Mutex
	accounts map[string]*Account
	fetches  map[string]int
	down     bool
}

// NewPDS starts a PDS.
func NewPDS() *PDS {
	p := &PDS{accounts: map[string]*Account{}, fetches: map[string]int{}}
	p.dir = identity.NewMockDirectory()
	p.srv = httptest.NewServer(http.HandlerFunc(p.getRepo))
	return p
}

// URL is the PDS's base URL, as a DID document names it.
func (p *PDS) URL() string { return p.srv.URL }

// Close stops the server.
func (p *PDS) Close() { p.srv.Close() }

// Directory resolves the DIDs of the PDS's accounts to it.
func (p *PDS) Directory() identity.Directory { return p.dir }

// Host makes the PDS the account's home and publishes its DID document.
func (p *PDS) Host(a *Account) error {
	a.mu.Lock()
	a.pds = p.srv.URL
	a.mu.Unlock()
	ident, err := a.Identity()
	if err != nil {
		return err
	}
	p.dir.Insert(ident)
	p.mu.Lock()
	p.accounts[a.DID] = a
	p.mu.Unlock()
	return nil
}

// SetDown makes getRepo answer 503 Service Unavailable while down is true.
func (p *PDS) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// Fetches counts the getRepo requests for did.
func (p *PDS) Fetches(did string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetches[did]
}

func (p *PDS) getRepo(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/xrpc/com.atproto.sync.getRepo" {
		http.NotFound(w, r)
		return
	}
	did := r.URL.Query().Get("did")
	p.mu.Lock()
	a := p.accounts[did]
	p.fetches[did]++
	down := p.down
	p.mu.Unlock()
	if down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if a == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"RepoNotFound","message":"Could not find repo"}`))
		return
	}
	car, err := a.RepoCAR()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.ipld.car")
	_, _ = w.Write(car)
}
