package firehose

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// carBlock is one block of a CAR v1 slice: its binary CID and its data,
// both sub-slices of the CAR bytes (no copies).
type carBlock struct {
	cid  []byte
	data []byte
}

var errTruncatedCAR = errors.New("truncated CAR")

// readCAR splits a CAR v1 file (the blocks of a relay #commit) into its
// blocks, appending to blocks. It checks lengths, not hashes: the relay is
// trusted for content unless verification is on, and verification re-reads
// the CAR with indigo.
func readCAR(b []byte, blocks []carBlock) ([]carBlock, error) {
	hl, n := binary.Uvarint(b)
	if n <= 0 || hl == 0 || hl > uint64(len(b)-n) {
		return blocks, fmt.Errorf("car header: %w", errTruncatedCAR)
	}
	b = b[n+int(hl):]
	for len(b) > 0 {
		l, n := binary.Uvarint(b)
		if n <= 0 || l == 0 || l > uint64(len(b)-n) {
			return blocks, fmt.Errorf("car section of %d bytes: %w", l, errTruncatedCAR)
		}
		sec := b[n : n+int(l)]
		b = b[n+int(l):]
		cl, err := cidLen(sec)
		if err != nil {
			return blocks, err
		}
		blocks = append(blocks, carBlock{cid: sec[:cl], data: sec[cl:]})
	}
	return blocks, nil
}

// cidLen returns the length of the binary CID at the start of b.
func cidLen(b []byte) (int, error) {
	if len(b) >= 34 && b[0] == 0x12 && b[1] == 0x20 {
		return 34, nil // CIDv0: a bare sha2-256 multihash
	}
	off := 0
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b[off:])
		if n <= 0 {
			return 0, false
		}
		off += n
		return v, true
	}
	version, ok := next()
	if !ok || version != 1 {
		return 0, errors.New("car block: bad CID version")
	}
	if _, ok := next(); !ok { // codec
		return 0, errors.New("car block: bad CID codec")
	}
	if _, ok := next(); !ok { // multihash function
		return 0, errors.New("car block: bad CID hash")
	}
	dl, ok := next()
	if !ok || dl > 128 || dl > uint64(len(b)-off) {
		return 0, errors.New("car block: bad CID digest")
	}
	return off + int(dl), nil
}

// findBlock returns the data of the block whose binary CID is key.
func findBlock(blocks []carBlock, key string) ([]byte, bool) {
	for _, bl := range blocks {
		if string(bl.cid) == key {
			return bl.data, true
		}
	}
	return nil, false
}
