package learn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/downsignal/downsignal/classify"
)

// Options are the training settings. The defaults were chosen on the
// cross-source evaluation (cmd/train prints it); the fixed seed makes
// training deterministic: the same files give the same model bytes.
type Options struct {
	Bits      uint8   // log2 of the number of hashed weights. Default 18 (1 MiB of weights).
	Epochs    int     // passes over the examples. Default 12.
	Rate      float64 // AdaGrad step. Default 0.2.
	L2        float64 // weight decay per update. Default 1e-4.
	Folds     int     // folds of the out-of-fold predictions that calibrate. Default 5.
	Precision float64 // the precision the threshold is chosen for. Default 0.90.
	Seed      uint64  // order of the examples in each epoch. Default 1.
}

func (o *Options) defaults() {
	if o.Bits == 0 {
		o.Bits = 18
	}
	if o.Epochs == 0 {
		o.Epochs = 12
	}
	if o.Rate == 0 {
		o.Rate = 0.2
	}
	if o.L2 == 0 {
		o.L2 = 1e-4
	}
	if o.Folds == 0 {
		o.Folds = 5
	}
	if o.Precision == 0 {
		o.Precision = 0.90
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// Featurized is an example with the vector the classifier computes for it.
type Featurized struct {
	*Example
	Vec classify.Vector
}

// Featurize computes every example's vector once. c may be any classifier:
// the features do not depend on its model.
func Featurize(c *classify.Classifier, ex []Example) []Featurized {
	out := make([]Featurized, len(ex))
	for i := range ex {
		out[i] = Featurized{Example: &ex[i], Vec: c.Features(classify.Input{Text: ex[i].Text, Langs: ex[i].Langs()})}
	}
	return out
}

// Trained is a model with what its calibration saw.
type Trained struct {
	Model *classify.Model
	// OOF are the calibrated out-of-fold probabilities of the candidate
	// training examples (index into the featurized slice), for the
	// reliability table and the threshold.
	OOF map[int]float64
}

// Train fits the model on the candidate examples of fx: out-of-fold logits
// (folds by near-duplicate group) fit the Platt calibration and choose the
// threshold, the lowest whose out-of-fold precision reaches o.Precision;
// then the weights are fitted on all of them.
func Train(fx []Featurized, o Options) (*Trained, error) {
	o.defaults()
	var cands []int
	for i := range fx {
		if fx[i].Vec.Candidate {
			cands = append(cands, i)
		}
	}
	if len(cands) < 50 {
		return nil, fmt.Errorf("train: %d candidate examples, too few", len(cands))
	}
	logits := make(map[int]float64, len(cands))
	for k := range o.Folds {
		var train []int
		for _, i := range cands {
			if fx[i].Fold(o.Folds) != k {
				train = append(train, i)
			}
		}
		m := fit(fx, train, o)
		for _, i := range cands {
			if fx[i].Fold(o.Folds) == k {
				logits[i] = m.Logit(&fx[i].Vec)
			}
		}
	}
	a, b := platt(cands, logits, fx)
	if a <= 0 {
		return nil, errors.New("train: calibration found no signal (slope <= 0)")
	}
	oof := make(map[int]float64, len(cands))
	for _, i := range cands {
		oof[i] = 1 / (1 + math.Exp(-(a*logits[i] + b)))
	}
	m := fit(fx, cands, o)
	m.PlattA, m.PlattB = a, b
	m.Threshold = chooseThreshold(fx, oof, o.Precision)
	return &Trained{Model: m, OOF: oof}, nil
}

// fit runs AdaGrad logistic regression over the examples idx, in an order
// drawn from the seed each epoch.
func fit(fx []Featurized, idx []int, o Options) *classify.Model {
	n := 1 << o.Bits
	mask := uint32(n - 1)
	w := make([]float64, n)
	g2 := make([]float64, n)
	var bias, biasG2 float64
	order := append([]int(nil), idx...)
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	for range o.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		bias = epoch(fx, order, w, g2, bias, &biasG2, mask, o)
	}
	m := &classify.Model{Bits: o.Bits, W: make([]float32, n), Bias: float32(bias), PlattA: 1, Threshold: 0.5}
	for j := range w {
		m.W[j] = float32(w[j])
	}
	return m
}

// epoch is one pass of AdaGrad over the examples in order. It touches no
// memory shared with another goroutine, and is nearly all of training's
// time: it is left out of the race detector, which makes it 20 times slower
// and would keep the real-text gates out of `go test -race`.
//
//go:norace
func epoch(fx []Featurized, order []int, w, g2 []float64, bias float64, biasG2 *float64, mask uint32, o Options) float64 {
	for _, i := range order {
		v := &fx[i].Vec
		z := bias
		for k, id := range v.Idx {
			z += w[id&mask] * float64(v.Val[k])
		}
		y := 0.0
		if fx[i].Label.Outage {
			y = 1
		}
		g := sigmoid(z) - y
		for k, id := range v.Idx {
			j := id & mask
			gj := g*float64(v.Val[k]) + o.L2*w[j]
			g2[j] += gj * gj
			w[j] -= o.Rate * gj / math.Sqrt(g2[j]+1e-8)
		}
		*biasG2 += g * g
		bias -= o.Rate * g / math.Sqrt(*biasG2+1e-8)
	}
	return bias
}

// platt fits p = sigmoid(a*logit + b) to the labels by Newton's method on
// the log loss, with Platt's smoothed targets against overconfidence.
func platt(idx []int, logits map[int]float64, fx []Featurized) (a, b float64) {
	var pos, neg float64
	for _, i := range idx {
		if fx[i].Label.Outage {
			pos++
		} else {
			neg++
		}
	}
	hi, lo := (pos+1)/(pos+2), 1/(neg+2)
	a, b = 1, 0
	for range 100 {
		var ga, gb, haa, hab, hbb float64
		for _, i := range idx {
			x := logits[i]
			t := lo
			if fx[i].Label.Outage {
				t = hi
			}
			p := sigmoid(a*x + b)
			d := p - t
			s := max(p*(1-p), 1e-12)
			ga += d * x
			gb += d
			haa += s * x * x
			hab += s * x
			hbb += s
		}
		haa += 1e-9
		hbb += 1e-9
		det := haa*hbb - hab*hab
		if det == 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		a, b = a-da, b-db
		if math.Abs(da) < 1e-10 && math.Abs(db) < 1e-10 {
			break
		}
	}
	return a, b
}

// chooseThreshold returns the lowest threshold (in steps of 0.01) at which
// the out-of-fold precision of the outage decision (probability at or
// above it, and a service named) reaches want; 0.5 when none does.
func chooseThreshold(fx []Featurized, oof map[int]float64, want float64) float64 {
	for t := 0.30; t < 0.99; t += 0.01 {
		var tp, fp int
		for i, p := range oof {
			if p >= t && fx[i].Vec.Service {
				if fx[i].Label.Outage {
					tp++
				} else {
					fp++
				}
			}
		}
		if tp > 0 && float64(tp)/float64(tp+fp) >= want {
			return math.Round(t*100) / 100
		}
	}
	return 0.5
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
