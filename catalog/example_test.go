package catalog_test

import (
	"fmt"
	"log"

	"github.com/downsignal/downsignal/catalog"
)

func ExampleCatalog_Lookup() {
	c, err := catalog.Load()
	if err != nil {
		log.Fatal(err)
	}
	s, ok := c.Lookup("Hotmail")
	fmt.Println(ok, s.ID, s.Name, s.Parent)
	// Output: true outlook Outlook microsoft-365
}
