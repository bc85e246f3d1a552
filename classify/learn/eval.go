package learn

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/downsignal/downsignal/classify"
)

// Counts is a confusion matrix of the outage decision against the labels.
type Counts struct{ TP, FP, FN, TN int }

// Add counts one decision.
func (c *Counts) Add(pred, truth bool) {
	switch {
	case pred && truth:
		c.TP++
	case pred:
		c.FP++
	case truth:
		c.FN++
	default:
		c.TN++
	}
}

// Precision is TP/(TP+FP) with its 95% Wilson interval (NaN when nothing
// was flagged).
func (c Counts) Precision() Interval { return wilson(c.TP, c.TP+c.FP) }

// Recall is TP/(TP+FN) with its 95% Wilson interval.
func (c Counts) Recall() Interval { return wilson(c.TP, c.TP+c.FN) }

// F1 is the harmonic mean of precision and recall.
func (c Counts) F1() float64 {
	if c.TP == 0 {
		return 0
	}
	return 2 * float64(c.TP) / float64(2*c.TP+c.FP+c.FN)
}

// Interval is a proportion with its 95% interval.
type Interval struct{ P, Lo, Hi float64 }

func (i Interval) String() string {
	if math.IsNaN(i.P) {
		return "  -  "
	}
	return fmt.Sprintf("%.2f [%.2f-%.2f]", i.P, i.Lo, i.Hi)
}

// wilson is the Wilson score interval of k successes in n at 95%.
func wilson(k, n int) Interval {
	if n == 0 {
		return Interval{math.NaN(), math.NaN(), math.NaN()}
	}
	const z = 1.96
	p := float64(k) / float64(n)
	d := 1 + z*z/float64(n)
	c := (p + z*z/(2*float64(n))) / d
	h := z * math.Sqrt(p*(1-p)/float64(n)+z*z/(4*float64(n)*float64(n))) / d
	return Interval{p, max(0, c-h), min(1, c+h)}
}

// Row compares the model with the rules on one slice of held-out posts.
type Row struct {
	Name         string
	Posts        int
	Model, Rules Counts
	// ByIntent counts, per labelled intent, the posts the model flagged:
	// where its false alarms come from (and, under "outage", its hits).
	ByIntent map[string]int
}

// Report is an evaluation: one row per held-out slice, and their sum.
type Report struct {
	Title string
	Rows  []Row
	All   Row
	// Langs are the same held-out decisions regrouped by the post's
	// language.
	Langs []Row
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%s\n", r.Title)
	fmt.Fprintf(w, "%-18s %6s %5s | %-19s %-19s %5s | %-19s %-19s %5s\n", "slice", "posts", "true", "model P", "model R", "F1", "rules P", "rules R", "F1")
	rows := append(slices.Clone(r.Rows), r.All)
	for _, l := range r.Langs {
		l.Name = "lang " + l.Name
		rows = append(rows, l)
	}
	for _, row := range rows {
		fmt.Fprintf(w, "%-18s %6d %5d | %-19s %-19s %5.2f | %-19s %-19s %5.2f\n", row.Name, row.Posts, row.Model.TP+row.Model.FN,
			row.Model.Precision(), row.Model.Recall(), row.Model.F1(), row.Rules.Precision(), row.Rules.Recall(), row.Rules.F1())
	}
	var intents []string
	for k := range r.All.ByIntent {
		intents = append(intents, k)
	}
	slices.Sort(intents)
	var b strings.Builder
	for _, k := range intents {
		fmt.Fprintf(&b, " %s=%d", k, r.All.ByIntent[k])
	}
	fmt.Fprintf(w, "flagged by the model, by labelled intent:%s\n", b.String())
}

// held is one evaluation split: what to train on and what to report.
type held struct {
	name        string
	train, test []int
}

// CrossSource trains on every source but one and reports on the one left
// out, for each source in turn: no post of the reported source, nor a copy
// of one, was seen in training. extra examples (the written sets) are
// always in training and never reported.
func CrossSource(rules *classify.Classifier, fx []Featurized, extra []int, o Options) (*Report, error) {
	var splits []held
	for _, src := range sources(fx) {
		h := held{name: src, train: slices.Clone(extra)}
		testGroups := map[string]bool{}
		for i := range fx {
			if fx[i].Source == src {
				h.test = append(h.test, i)
				testGroups[fx[i].Group] = true
			}
		}
		for i := range fx {
			if fx[i].Source != src && fx[i].Source != "written" && !testGroups[fx[i].Group] {
				h.train = append(h.train, i)
			}
		}
		splits = append(splits, h)
	}
	return evaluate("trained on the other sources, reported on the source held out", rules, fx, splits, o)
}

// CrossTime holds out, in every source whose posts are dated, its latest
// share of posts; training has the other sources and the earlier posts of
// the same source (never a copy of a held-out post).
func CrossTime(rules *classify.Classifier, fx []Featurized, extra []int, share float64, o Options) (*Report, error) {
	var splits []held
	for _, src := range sources(fx) {
		var dated []int
		for i := range fx {
			if fx[i].Source == src && !fx[i].Time.IsZero() {
				dated = append(dated, i)
			}
		}
		if len(dated) < 100 {
			continue
		}
		slices.SortStableFunc(dated, func(a, b int) int { return fx[a].Time.Compare(fx[b].Time) })
		cut := int(float64(len(dated)) * (1 - share))
		h := held{name: src, train: slices.Clone(extra), test: dated[cut:]}
		testGroups := map[string]bool{}
		for _, i := range h.test {
			testGroups[fx[i].Group] = true
		}
		testSet := map[int]bool{}
		for _, i := range h.test {
			testSet[i] = true
		}
		for i := range fx {
			if fx[i].Source != "written" && !testSet[i] && !testGroups[fx[i].Group] && (fx[i].Source != src || !fx[i].Time.IsZero()) {
				h.train = append(h.train, i)
			}
		}
		splits = append(splits, h)
	}
	return evaluate(fmt.Sprintf("trained on earlier posts and other sources, reported on each source's latest %.0f%%", share*100), rules, fx, splits, o)
}

func evaluate(title string, rules *classify.Classifier, fx []Featurized, splits []held, o Options) (*Report, error) {
	r := &Report{Title: title, All: Row{Name: "all", ByIntent: map[string]int{}}}
	langs := map[string]*Row{}
	for _, h := range splits {
		sub := make([]Featurized, len(h.train))
		for k, i := range h.train {
			sub[k] = fx[i]
		}
		tr, err := Train(sub, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.name, err)
		}
		c, err := classify.NewWith(classify.Options{Model: tr.Model})
		if err != nil {
			return nil, err
		}
		row := Row{Name: h.name, ByIntent: map[string]int{}}
		for _, i := range h.test {
			ex := fx[i].Example
			in := classify.Input{Text: ex.Text, Langs: ex.Langs()}
			m, ru := c.Classify(in).Outage, rules.Classify(in).Outage
			row.Model.Add(m, ex.Label.Outage)
			row.Rules.Add(ru, ex.Label.Outage)
			row.Posts++
			if m {
				row.ByIntent[ex.Label.Intent]++
			}
			lr := langs[ex.Lang]
			if lr == nil {
				lr = &Row{Name: ex.Lang, ByIntent: map[string]int{}}
				langs[ex.Lang] = lr
			}
			lr.Posts++
			lr.Model.Add(m, ex.Label.Outage)
			lr.Rules.Add(ru, ex.Label.Outage)
		}
		r.Rows = append(r.Rows, row)
		r.All.add(row)
	}
	for _, l := range langs {
		r.Langs = append(r.Langs, *l)
	}
	slices.SortFunc(r.Langs, func(a, b Row) int { return cmp.Or(cmp.Compare(b.Posts, a.Posts), cmp.Compare(a.Name, b.Name)) })
	return r, nil
}

func (r *Row) add(o Row) {
	r.Posts += o.Posts
	for _, p := range [][2]*Counts{{&r.Model, &o.Model}, {&r.Rules, &o.Rules}} {
		p[0].TP += p[1].TP
		p[0].FP += p[1].FP
		p[0].FN += p[1].FN
		p[0].TN += p[1].TN
	}
	for k, v := range o.ByIntent {
		r.ByIntent[k] += v
	}
}

func sources(fx []Featurized) []string {
	seen := map[string]bool{}
	var out []string
	for i := range fx {
		if s := fx[i].Source; s != "written" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	slices.SortFunc(out, cmp.Compare)
	return out
}

// Reliability is one bin of the calibration table.
type Reliability struct {
	Lo, Hi     float64
	Posts      int
	MeanPred   float64
	OutageRate float64
}

// Calibration bins the out-of-fold probabilities of a trained model.
func Calibration(fx []Featurized, oof map[int]float64, bins int) []Reliability {
	out := make([]Reliability, bins)
	for b := range out {
		out[b].Lo, out[b].Hi = float64(b)/float64(bins), float64(b+1)/float64(bins)
	}
	for i, p := range oof {
		b := min(int(p*float64(bins)), bins-1)
		out[b].Posts++
		out[b].MeanPred += p
		if fx[i].Label.Outage {
			out[b].OutageRate++
		}
	}
	for b := range out {
		if n := float64(out[b].Posts); n > 0 {
			out[b].MeanPred /= n
			out[b].OutageRate /= n
		}
	}
	return out
}
