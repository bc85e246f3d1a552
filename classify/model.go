package classify

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Model is the learned outage scorer: logistic regression over the hashed
// features of features.go, with a Platt calibration that turns its logit
// into a probability, and the threshold above which a post counts as an
// outage report. `go run ./classify/cmd/train` makes it from the labelled
// real posts; the binary embeds outage.model.
type Model struct {
	// Bits is log2 of the number of weights: a feature's weight is
	// W[hash & (1<<Bits - 1)].
	Bits uint8
	W    []float32
	Bias float32
	// PlattA and PlattB calibrate: p = 1 / (1 + exp(-(A*logit + B))).
	PlattA, PlattB float64
	// Threshold is the calibrated probability at and above which a post
	// is an outage report; it was chosen for precision.
	Threshold float64
}

//go:embed outage.model
var embeddedModel []byte

// modelMagic and modelVersion head the file; a reader refuses anything
// else rather than score with weights it misreads.
const (
	modelMagic   = "DSOM"
	modelVersion = 1
	maxModelBits = 24
)

// Logit is the model's raw score of v, before calibration.
func (m *Model) Logit(v *Vector) float64 {
	mask := uint32(1)<<m.Bits - 1
	s := float64(m.Bias)
	for i, idx := range v.Idx {
		s += float64(m.W[idx&mask]) * float64(v.Val[i])
	}
	return s
}

// Prob is the calibrated probability of a raw logit.
func (m *Model) Prob(logit float64) float64 {
	return 1 / (1 + math.Exp(-(m.PlattA*logit + m.PlattB)))
}

// MarshalBinary encodes the model: a header, then the weights, gzipped.
// The encoding is deterministic: the same model gives the same bytes.
func (m *Model) MarshalBinary() ([]byte, error) {
	if len(m.W) != 1<<m.Bits {
		return nil, fmt.Errorf("model: %d weights for %d bits", len(m.W), m.Bits)
	}
	var raw bytes.Buffer
	raw.WriteString(modelMagic)
	hdr := []any{uint32(modelVersion), m.Bits, m.Bias, m.PlattA, m.PlattB, m.Threshold}
	for _, v := range hdr {
		if err := binary.Write(&raw, binary.LittleEndian, v); err != nil {
			return nil, err
		}
	}
	if err := binary.Write(&raw, binary.LittleEndian, m.W); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// UnmarshalModel decodes a model written by MarshalBinary.
func UnmarshalModel(b []byte) (*Model, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 4<<maxModelBits+64))
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	r := bytes.NewReader(raw)
	magic := make([]byte, len(modelMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != modelMagic {
		return nil, errors.New("model: not a downsignal outage model")
	}
	var version uint32
	m := &Model{}
	for _, v := range []any{&version, &m.Bits, &m.Bias, &m.PlattA, &m.PlattB, &m.Threshold} {
		if err := binary.Read(r, binary.LittleEndian, v); err != nil {
			return nil, fmt.Errorf("model header: %w", err)
		}
	}
	if version != modelVersion {
		return nil, fmt.Errorf("model: version %d, want %d", version, modelVersion)
	}
	if m.Bits == 0 || m.Bits > maxModelBits {
		return nil, fmt.Errorf("model: %d bits out of range", m.Bits)
	}
	m.W = make([]float32, 1<<m.Bits)
	if err := binary.Read(r, binary.LittleEndian, m.W); err != nil {
		return nil, fmt.Errorf("model weights: %w", err)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("model: %d bytes after the weights", r.Len())
	}
	if m.PlattA <= 0 || math.IsNaN(m.PlattB) || m.Threshold <= 0 || m.Threshold >= 1 {
		return nil, fmt.Errorf("model: bad calibration a=%v b=%v threshold=%v", m.PlattA, m.PlattB, m.Threshold)
	}
	return m, nil
}
