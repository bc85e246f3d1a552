// Command train fits downsignal's outage scorer on the labelled real posts
// and writes the model the classifier embeds. Run it from the repository
// root after changing the corpus, the features or the rules:
//
//	go run ./classify/cmd/train            # writes classify/outage.model
//	go run ./classify/cmd/train -eval      # also the held-out reports
//
// Training is deterministic: the same files give the same model bytes.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/classify/learn"
)

func main() {
	log.SetFlags(0)
	corpus := flag.String("corpus", "classify/testdata/real", "labelled real posts (posts/*.jsonl, labels/final.jsonl)")
	extra := flag.String("labels", "", "more labelled posts in the corpus format, e.g. from 'downsignal labels export' (one JSON object per line: the post fields and outage, intent)")
	written := flag.String("written", "classify/testdata/eval/*.jsonl", "written posts whose tune half joins training (never the held half)")
	out := flag.String("out", "classify/outage.model", "where the model is written")
	eval := flag.Bool("eval", false, "also report precision and recall on held-out sources and times")
	var o learn.Options
	flag.Float64Var(&o.Precision, "precision", 0.90, "the out-of-fold precision the threshold is chosen for")
	flag.IntVar(&o.Epochs, "epochs", 0, "passes over the examples (0: the default)")
	flag.Float64Var(&o.L2, "l2", 0, "weight decay (0: the default)")
	flag.Float64Var(&o.Rate, "rate", 0, "AdaGrad step (0: the default)")
	bits := flag.Uint("bits", 0, "log2 of the number of hashed weights (0: the default)")
	flag.Parse()
	o.Bits = uint8(*bits)

	ex, err := learn.LoadCorpus(*corpus)
	if err != nil {
		log.Fatal(err)
	}
	if *extra != "" {
		more, err := learn.LoadExport(*extra)
		if err != nil {
			log.Fatal(err)
		}
		ex = append(ex, more...)
	}
	ws, err := learn.LoadWritten(*written)
	if err != nil {
		log.Fatal(err)
	}
	ex = append(ex, learn.AsExamples(ws)...)
	rules, err := classify.NewWith(classify.Options{RulesOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	fx := learn.Featurize(rules, ex)
	tr, err := learn.Train(fx, o)
	if err != nil {
		log.Fatal(err)
	}
	b, err := tr.Model.MarshalBinary()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("trained on %d posts (%d candidates); threshold %.2f, calibration a=%.3f b=%.3f; wrote %s (%d bytes)\n",
		len(ex), len(tr.OOF), tr.Model.Threshold, tr.Model.PlattA, tr.Model.PlattB, *out, len(b))
	fmt.Println("reliability of the out-of-fold probabilities:")
	fmt.Printf("  %-11s %6s %9s %9s\n", "bin", "posts", "mean p", "outage")
	for _, r := range learn.Calibration(fx, tr.OOF, 10) {
		fmt.Printf("  %.1f-%.1f %8d %9.3f %9.3f\n", r.Lo, r.Hi, r.Posts, r.MeanPred, r.OutageRate)
	}
	if !*eval {
		return
	}
	var writtenIdx []int
	for i := range fx {
		if fx[i].Source == "written" {
			writtenIdx = append(writtenIdx, i)
		}
	}
	for _, f := range []func() (*learn.Report, error){
		func() (*learn.Report, error) { return learn.CrossSource(rules, fx, writtenIdx, o) },
		func() (*learn.Report, error) { return learn.CrossTime(rules, fx, writtenIdx, 0.3, o) },
	} {
		r, err := f()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println()
		r.Print(os.Stdout)
	}
}
