// Package catalog is the list of online services downsignal knows and the
// places it recognises: catalog.yaml (more than 700 services, each with a
// stable ID, canonical name, aliases and old names, hashtags, @handles,
// domains, status page, category and parent: Outlook -> Microsoft 365 ->
// Microsoft) and regions.yaml (continents, countries, big cities and cloud
// regions, named in six languages), both embedded and validated on [Load]
// (unique IDs and names, existing parents, no cycles, https status pages,
// lower-case domains).
//
// It owns the folding that makes names comparable ([Fold]: lower case,
// accents removed, full-width letters made ASCII), which the classifier
// applies to posts too, so a name matches however it is written.
//
// The classifier matches posts against the catalog; the API resolves the
// service a user names with it. It is a package of its own so that the
// API links the list, not the classifier's automaton.
package catalog
