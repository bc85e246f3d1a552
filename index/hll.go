package index

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"
)

// Distinct authors are counted with a HyperLogLog sketch per series and
// minute, merged across minutes when a trend step spans several: the store
// never keeps a DID, only 4,096 six-bit registers at most (about 1.6 %
// standard error), and far less for a quiet minute, where the sketch is a
// short sorted list of the registers in use and the estimate is exact in
// practice (linear counting).
const (
	hllP      = 12
	hllM      = 1 << hllP
	hllSparse = hllM / 16 // registers kept as a list below this many
)

// hll is one sketch: sparse (sorted idx<<8|rank entries) or dense.
type hll struct {
	sparse []uint32
	dense  []uint8
}

func hllRegister(h uint64) (idx uint32, rank uint8) {
	idx = uint32(h >> (64 - hllP))
	rest := h<<hllP | 1<<(hllP-1) // a sentinel bit bounds the rank
	return idx, uint8(bits.LeadingZeros64(rest) + 1)
}

// add records one author hash.
func (s *hll) add(h uint64) {
	idx, rank := hllRegister(h)
	s.raise(idx, rank)
}

// merge adds every author of o.
func (s *hll) merge(o *hll) {
	if o.dense != nil {
		for i, r := range o.dense {
			if r > 0 {
				s.raise(uint32(i), r)
			}
		}
		return
	}
	for _, e := range o.sparse {
		s.raise(e>>8, uint8(e))
	}
}

// raise sets register idx to at least rank.
func (s *hll) raise(idx uint32, rank uint8) {
	if s.dense != nil {
		s.dense[idx] = max(s.dense[idx], rank)
		return
	}
	i, found := slices.BinarySearchFunc(s.sparse, idx, func(e, t uint32) int { return int(e>>8) - int(t) })
	if found {
		if uint8(s.sparse[i]) < rank {
			s.sparse[i] = idx<<8 | uint32(rank)
		}
		return
	}
	s.sparse = slices.Insert(s.sparse, i, idx<<8|uint32(rank))
	if len(s.sparse) > hllSparse {
		s.dense = make([]uint8, hllM)
		for _, e := range s.sparse {
			s.dense[e>>8] = uint8(e)
		}
		s.sparse = nil
	}
}

func (s *hll) empty() bool { return len(s.sparse) == 0 && s.dense == nil }

// mergeInto raises regs to this sketch's registers.
func (s *hll) mergeInto(regs *[hllM]uint8) {
	if s.dense != nil {
		for i, r := range s.dense {
			regs[i] = max(regs[i], r)
		}
		return
	}
	for _, e := range s.sparse {
		regs[e>>8] = max(regs[e>>8], uint8(e))
	}
}

// count estimates the distinct authors of one sketch.
func (s *hll) count() int {
	if s.dense == nil {
		sum := float64(hllM - len(s.sparse))
		for _, e := range s.sparse {
			sum += hllPow[uint8(e)&63]
		}
		return hllEstimate(sum, hllM-len(s.sparse))
	}
	var regs [hllM]uint8
	copy(regs[:], s.dense)
	return hllCount(&regs)
}

// hllPow[r] is 2^-r.
var hllPow = func() (t [64]float64) {
	for r := range t {
		t[r] = math.Ldexp(1, -r)
	}
	return t
}()

// hllCount estimates the distinct authors of merged registers.
func hllCount(regs *[hllM]uint8) int {
	var sum float64
	zeros := 0
	for _, r := range regs {
		if r == 0 {
			zeros++
		}
		sum += hllPow[r&63]
	}
	return hllEstimate(sum, zeros)
}

func hllEstimate(sum float64, zeros int) int {
	const m = float64(hllM)
	alpha := 0.7213 / (1 + 1.079/m)
	e := alpha * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros))
	}
	return int(math.Round(e))
}

func (s *hll) appendBinary(out []byte) []byte {
	switch {
	case s.dense != nil:
		out = append(out, 2)
		return append(out, s.dense...)
	case len(s.sparse) > 0:
		out = append(out, 1)
		out = binary.AppendUvarint(out, uint64(len(s.sparse)))
		for _, e := range s.sparse {
			out = binary.BigEndian.AppendUint32(out, e)
		}
		return out
	default:
		return append(out, 0)
	}
}

var errBadSketch = errors.New("bad author sketch")

// readHLL decodes a sketch and returns the rest of v.
func readHLL(v []byte) (hll, []byte, error) {
	if len(v) == 0 {
		return hll{}, nil, errBadSketch
	}
	switch v[0] {
	case 0:
		return hll{}, v[1:], nil
	case 1:
		n, k := binary.Uvarint(v[1:])
		if k <= 0 || n > hllSparse || uint64(len(v)-1-k) < 4*n {
			return hll{}, nil, errBadSketch
		}
		v = v[1+k:]
		s := hll{sparse: make([]uint32, n)}
		for i := range s.sparse {
			e := binary.BigEndian.Uint32(v[4*i:])
			if e>>8 >= hllM || uint8(e) > 64 || (i > 0 && e>>8 <= s.sparse[i-1]>>8) {
				return hll{}, nil, errBadSketch
			}
			s.sparse[i] = e
		}
		return s, v[4*n:], nil
	case 2:
		if len(v) < 1+hllM {
			return hll{}, nil, errBadSketch
		}
		return hll{dense: slices.Clone(v[1 : 1+hllM])}, v[1+hllM:], nil
	}
	return hll{}, nil, errBadSketch
}

func (s hll) clone() hll {
	return hll{sparse: slices.Clone(s.sparse), dense: slices.Clone(s.dense)}
}
