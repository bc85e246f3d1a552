// Package classify turns the text of one social-media post into outage signals: which online
// services it names, whether it reports that one of them is failing now, which error codes it
// quotes and which places it mentions.
//
// # What it owns
//
//   - Through package catalog, the service catalog (catalog.yaml, embedded): more than 500 services people complain about,
//     each with a stable ID, canonical name, aliases and old names, hashtags, @handles, domains,
//     status page, category and parent (Outlook -> Microsoft 365 -> Microsoft). [Classifier.Catalog]
//     exposes it; loading validates it (unique IDs and names, existing parents, no cycles, https
//     status pages, lower-case domains).
//   - The region list (regions.yaml, embedded): continents, countries, big cities and cloud regions,
//     with names in the six languages below.
//   - The classifier: [New] builds it once; [Classifier.Classify] is safe for concurrent use,
//     allocates a few hundred bytes per post and never panics.
//
// It knows nothing of Kafka, HTTP or storage. [Classifier.Signal] turns a downsignal.posts event
// (package record) into its downsignal.signals record; package app wires that into a Kafka stage.
// The stdin command (stdin.go) only calls Classify.
//
// # How a post is read
//
//  1. The text (cut to 4 KB) is folded: lower case, accents removed, full-width letters made
//     ASCII, curly quotes and dashes made plain, invalid UTF-8 made spaces. Offsets back into the
//     original are kept so matches quote the post as written.
//  2. One Aho-Corasick automaton scans the folded text once for every pattern: service names,
//     aliases, domains and handles, region names, the cue phrases of English, Spanish, Portuguese,
//     French, German and Japanese, and AWS error names. Word boundaries hold in every script: a
//     Japanese or Chinese neighbour is a boundary ("Outlookが落ちてる"), katakana names must not
//     be glued to more katakana ("ライン" is not in "オンライン").
//  3. Hashtags are split ("#OutlookDown", "#PanneOrange"); error codes are read by a scanner that
//     wants a cue around bare numbers ("error 503", "503 Service Unavailable", "500s"), never a
//     price, time, date, version or phone number.
//  4. Ambiguous names ("Outlook", "Teams", "X", "Steam", "Zoom", "Apple", "Signal", "LINE", "au")
//     count only with a cue nearby, a hashtag or @mention, an error code, a related service, or a
//     capital letter in mid-sentence; some must be written in exactly their case, some only count
//     in one language.
//  5. A score adds up the evidence: failure cues next to a service (weighted by distance and
//     sentence), questions to others ("anyone else?"), error codes; and takes away denials ("isn't
//     down, it's your wifi"), past events, hypotheticals, business news and ads. "down" counts only
//     next to a service and not as a number going down ("shares down 8%") or in another sense
//     ("download", "let me down"). A recovery cue after the failure makes the intent "recovery".
//
// Outage is true when the post reports that a named service (or one an error code implies:
// AADSTS -> Entra ID, CAA -> Teams, PlayStation and Xbox codes -> their networks) is failing now.
//
// # Accuracy and speed
//
// testdata/eval holds a hand-labelled evaluation set in six languages; `go test` reports precision,
// recall, service accuracy and error-code exactness on its held-back half and fails below the
// gates in eval_test.go. It also runs the real Bluesky posts of the shared data set, none of which
// is an outage report. BenchmarkClassify measures posts per second on the evaluation texts.
package classify
