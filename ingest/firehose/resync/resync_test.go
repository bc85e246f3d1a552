package resync_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/downsignal/downsignal/ingest/firehose/resync"
	"github.com/downsignal/downsignal/ingest/ingesttest"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func account(t *testing.T, did string) *ingesttest.Account {
	t.Helper()
	a, err := ingesttest.NewAccount(did)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// identityOf is a's DID document naming pds as its PDS and key's owner's
// signing key.
func identityOf(t *testing.T, a, key *ingesttest.Account, pds string) identity.Identity {
	t.Helper()
	id, err := key.Identity()
	if err != nil {
		t.Fatal(err)
	}
	id.DID = syntax.DID(a.DID)
	id.Services = map[string]identity.ServiceEndpoint{"atproto_pds": {Type: "AtprotoPersonalDataServer", URL: pds}}
	return id
}

func TestRepoPostsListsThePostsOnly(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	pds := ingesttest.NewPDS()
	defer pds.Close()
	alice := account(t, "did:plc:alice")
	if err := pds.Host(alice); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.Commit(alice, []ingesttest.Change{
		{Post: &ingesttest.Post{RKey: "3kbbb", Text: "Teams down"}},
		{Other: "app.bsky.feed.like/3klike"},
		{Post: &ingesttest.Post{RKey: "3kaaa", Text: "Outlook down"}},
	}); err != nil {
		t.Fatal(err)
	}
	f := resync.New(resync.Options{Directory: pds.Directory(), AllowNets: loopback, Verify: true})
	recs, err := f.RepoPosts(context.Background(), alice.DID)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range recs {
		if len(r.Data) == 0 || !strings.HasPrefix(r.CID, "bafyrei") {
			t.Errorf("record %+v without data or cid", r)
		}
		keys = append(keys, r.RKey)
	}
	if !slices.Equal(keys, []string{"3kaaa", "3kbbb"}) {
		t.Fatalf("record keys %v, want the two posts", keys)
	}
}

// Every way a repository can be wrong is an error, never a list of posts:
// a forged signature, another account's repository, one too large, a PDS
// URL that is not HTTP.
func TestRepoPostsRefusesBadRepositories(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	alice, bob := account(t, "did:plc:alice"), account(t, "did:plc:bob")
	for _, a := range []*ingesttest.Account{alice, bob} {
		if _, err := relay.Create(a, ingesttest.Post{RKey: "3kaaa", Text: "Outlook down"}); err != nil {
			t.Fatal(err)
		}
	}
	// This server answers every getRepo with bob's repository.
	bobs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		car, err := bob.RepoCAR()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = w.Write(car)
	}))
	defer bobs.Close()

	for _, tc := range []struct {
		name  string
		ident identity.Identity
		did   string
		max   int64
		want  string
	}{
		{"forged signature", identityOf(t, bob, alice, bobs.URL), bob.DID, 0, "signature"},
		{"another account's repository", identityOf(t, alice, bob, bobs.URL), alice.DID, 0, "repository of did:plc:bob, not did:plc:alice"},
		{"too large", identityOf(t, bob, bob, bobs.URL), bob.DID, 100, "larger than 100 bytes"},
		{"not http", identityOf(t, bob, bob, "ftp://"+strings.TrimPrefix(bobs.URL, "http://")), bob.DID, 0, "scheme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := identity.NewMockDirectory()
			dir.Insert(tc.ident)
			f := resync.New(resync.Options{Directory: dir, AllowNets: loopback, Verify: true, MaxRepoBytes: tc.max})
			recs, err := f.RepoPosts(context.Background(), tc.did)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %d records, error %v; want an error with %q", len(recs), err, tc.want)
			}
		})
	}
}
