package resync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/internal/netguard"
	"github.com/downsignal/downsignal/record"
)

// DefaultMaxRepoBytes bounds a fetched repository. Most accounts' are a
// few megabytes; a larger one is refused rather than read into memory.
const DefaultMaxRepoBytes = 256 << 20

// Options configures a Fetcher.
type Options struct {
	// Directory resolves an account's DID to its PDS and signing key.
	// Default: indigo's default directory (PLC directory, did:web, cached).
	Directory identity.Directory
	// AllowNets are PDS addresses let through that are otherwise refused:
	// private, loopback, link-local (cloud metadata) and special-purpose
	// addresses. A DID document is written by its owner, so its PDS URL
	// must not reach into the operator's network.
	AllowNets []netip.Prefix
	// Verify checks the fetched repository's commit signature against the
	// account's signing key.
	Verify bool
	// MaxRepoBytes bounds the repository read. Default DefaultMaxRepoBytes.
	MaxRepoBytes int64
}

// Fetcher fetches repositories; it implements firehose.RepoFetcher.
type Fetcher struct {
	o      Options
	client *http.Client
}

// New returns a Fetcher.
func New(o Options) *Fetcher {
	if o.Directory == nil {
		o.Directory = identity.DefaultDirectory()
	}
	if o.MaxRepoBytes <= 0 {
		o.MaxRepoBytes = DefaultMaxRepoBytes
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: netguard.New(o.AllowNets).Safe}
	return &Fetcher{o: o, client: &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // a proxy would dial where the guard cannot see
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return checkScheme(req.URL)
		},
	}}
}

// RepoPosts implements firehose.RepoFetcher: the account's post records, in
// record-key order. A post whose block the repository lacks is listed
// with no data: it still exists, it just cannot be read.
func (f *Fetcher) RepoPosts(ctx context.Context, did string) ([]firehose.RepoRecord, error) {
	d, err := syntax.ParseDID(did)
	if err != nil {
		return nil, err
	}
	ident, err := f.o.Directory.LookupDID(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", did, err)
	}
	u, err := getRepoURL(ident, did)
	if err != nil {
		return nil, err
	}
	commit, r, err := f.getRepo(ctx, u, did)
	if err != nil {
		return nil, err
	}
	if f.o.Verify {
		key, err := ident.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("signing key of %s: %w", did, err)
		}
		if err := commit.VerifySignature(key); err != nil {
			return nil, fmt.Errorf("repository of %s: %w", did, err)
		}
	}
	return postRecords(ctx, r, did)
}

// getRepoURL is the com.atproto.sync.getRepo call for did on the PDS its
// DID document names.
func getRepoURL(ident *identity.Identity, did string) (*url.URL, error) {
	pds := ident.PDSEndpoint()
	if pds == "" {
		return nil, fmt.Errorf("%s has no PDS in its DID document", did)
	}
	u, err := url.Parse(pds)
	if err != nil {
		return nil, fmt.Errorf("pds %q: %w", pds, err)
	}
	if err := checkScheme(u); err != nil {
		return nil, err
	}
	u = u.JoinPath("xrpc", "com.atproto.sync.getRepo")
	u.RawQuery = url.Values{"did": {did}}.Encode()
	return u, nil
}

// getRepo fetches and loads the repository at u, no larger than
// MaxRepoBytes, and checks that it is did's.
func (f *Fetcher) getRepo(ctx context.Context, u *url.URL, did string) (*repo.Commit, *repo.Repo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/vnd.ipld.car")
	req.Header.Set("User-Agent", "downsignal")
	resp, err := f.client.Do(req)
	if err != nil {
		// The URL is in the message below already; keep the cause.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("getRepo from %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("getRepo from %s: http %d", u.Host, resp.StatusCode)
	}
	body := &limitedReader{r: resp.Body, n: f.o.MaxRepoBytes}
	commit, r, err := repo.LoadRepoFromCAR(ctx, body)
	if body.over {
		return nil, nil, fmt.Errorf("getRepo from %s: repository larger than %d bytes", u.Host, f.o.MaxRepoBytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("getRepo from %s: %w", u.Host, err)
	}
	if commit.DID != did {
		return nil, nil, fmt.Errorf("getRepo from %s: repository of %s, not %s", u.Host, commit.DID, did)
	}
	return commit, r, nil
}

// postRecords lists the post records of a loaded repository, in
// record-key order (the MST's).
func postRecords(ctx context.Context, r *repo.Repo, did string) ([]firehose.RepoRecord, error) {
	prefix := record.PostCollection + "/"
	var out []firehose.RepoRecord
	err := r.MST.Walk(func(key []byte, val cid.Cid) error {
		k := string(key)
		if !strings.HasPrefix(k, prefix) {
			return nil
		}
		rec := firehose.RepoRecord{RKey: k[len(prefix):], CID: val.String()}
		if blk, err := r.RecordStore.Get(ctx, val); err == nil {
			rec.Data = blk.RawData()
		}
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repository of %s: %w", did, err)
	}
	return out, nil
}

func checkScheme(u *url.URL) error {
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("pds url scheme %q: want https or http", u.Scheme)
	}
	return nil
}

// limitedReader fails once more than n bytes were read.
type limitedReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.over = true
		return 0, errors.New("repository too large")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
