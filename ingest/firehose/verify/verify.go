package verify

import (
	"context"
	"fmt"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/repo"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Verifier checks relay commits with indigo; it implements
// firehose.CommitVerifier. Signing keys are resolved through an identity
// directory.
//
// It costs a few hundred microseconds per commit and, for the signature, a
// DID resolution per author (cached by the directory). Off by default: a
// post miner that trusts its relay does not need it.
type Verifier struct {
	dir identity.Directory
}

// New returns a verifier that resolves signing keys with dir, or
// with indigo's default directory (PLC directory and DNS/HTTPS, cached)
// when dir is nil.
func New(dir identity.Directory) *Verifier {
	if dir == nil {
		dir = identity.DefaultDirectory()
	}
	return &Verifier{dir: dir}
}

// VerifyCommit implements firehose.CommitVerifier.
func (v *Verifier) VerifyCommit(ctx context.Context, c *comatproto.SyncSubscribeRepos_Commit) error {
	if c == nil {
		return fmt.Errorf("verify: no commit")
	}
	if _, err := repo.VerifyCommitMessage(ctx, c); err != nil {
		return fmt.Errorf("verify mst proof: %w", err)
	}
	err := repo.VerifyCommitSignature(ctx, v.dir, c)
	if err != nil && ctx.Err() == nil {
		// The cached key may be stale (the author rotated it): look the
		// DID up afresh once before calling the commit forged.
		if did, perr := syntax.ParseDID(c.Repo); perr == nil {
			if v.dir.Purge(ctx, did.AtIdentifier()) == nil {
				err = repo.VerifyCommitSignature(ctx, v.dir, c)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	return nil
}
