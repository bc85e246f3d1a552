package classify_test

import (
	"fmt"
	"log"

	"github.com/downsignal/downsignal/classify"
)

func Example() {
	c, err := classify.New()
	if err != nil {
		log.Fatal(err)
	}
	r := c.Classify(classify.Input{
		Text:  `Outlook down? Every mail bounces with "451 4.3.2 temporary server issue" here in Chicago`,
		Langs: []string{"en"},
	})
	fmt.Println(r.Outage, r.Intent)
	for _, s := range r.Services {
		fmt.Printf("%s (%s, part of %s) matched %q\n", s.Name, s.ID, s.Parent, s.Matched)
	}
	for _, e := range r.ErrorCodes {
		fmt.Printf("%s [%s] %s\n", e.Code, e.Family, e.Meaning)
	}
	for _, g := range r.Regions {
		fmt.Printf("%s (%s)\n", g.Name, g.Kind)
	}
	// Output:
	// true outage
	// Outlook (outlook, part of Microsoft 365) matched "Outlook"
	// 451 4.3.2 [smtp] System not accepting network messages (temporary)
	// Chicago (city)
}

func ExampleClassifier_Classify_recovery() {
	c, err := classify.New()
	if err != nil {
		log.Fatal(err)
	}
	for _, text := range []string{"LINE落ちてる？メッセージ送れない", "LINE復旧した", "Outlook isn't down, it's your wifi"} {
		r := c.Classify(classify.Input{Text: text})
		fmt.Println(r.Outage, r.Intent, r.Services[0].ID)
	}
	// Output:
	// true outage line
	// false recovery line
	// false none outlook
}
