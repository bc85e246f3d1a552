package ingest

import (
	"context"
	"fmt"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/repo"
)

// Verifier checks relay commits with indigo: the commit's signature
// against the author's current signing key (resolved through an identity
// directory) and the MST proof that the commit's ops turn the previous tree
// (prevData) into the signed one.
//
// It costs a few hundred microseconds per commit and, for the signature, a
// DID resolution per author (cached by the directory). Off by default: a
// post miner that trusts its relay does not need it.
type Verifier struct {
	dir identity.Directory
}

// NewVerifier returns a verifier that resolves signing keys with dir, or
// with indigo's default directory (PLC directory and DNS/HTTPS, cached)
// when dir is nil.
func NewVerifier(dir identity.Directory) *Verifier {
	if dir == nil {
		dir = identity.DefaultDirectory()
	}
	return &Verifier{dir: dir}
}

// VerifyCommit implements CommitVerifier.
func (v *Verifier) VerifyCommit(ctx context.Context, c *comatproto.SyncSubscribeRepos_Commit) error {
	if c == nil {
		return fmt.Errorf("verify: no commit")
	}
	if _, err := repo.VerifyCommitMessage(ctx, c); err != nil {
		return fmt.Errorf("verify mst proof: %w", err)
	}
	if err := repo.VerifyCommitSignature(ctx, v.dir, c); err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	return nil
}
