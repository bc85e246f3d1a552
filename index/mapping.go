package index

import (
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/downsignal/downsignal/record"
)

// Field names of an indexed post. Analysts use them in query strings
// (services:Outlook, codes:"451 4.3.2"), so they are part of the API.
const (
	fieldAuthor    = "author"
	fieldText      = "text"
	fieldTime      = "time"
	fieldCreatedAt = "created_at"
	fieldServices  = "services"
	fieldParents   = "parents"
	fieldCodes     = "codes"
	fieldFamilies  = "code_families"
	fieldLangs     = "langs"
	fieldRegions   = "regions"
	fieldOutage    = "outage"
	fieldScore     = "score"
	fieldIntent    = "intent"
	fieldDetail    = "detail"
)

// textAnalyzer is Bleve's CJK analyzer: Unicode word segmentation, width
// folding, lower case and bigrams for Han, Hiragana and Katakana runs. It
// has no stop-word filter on purpose: the English analyzer drops "down",
// "not" and "out", the very words outage posts are made of.
const textAnalyzer = cjk.AnalyzerName

// NewMapping returns the mapping of every day partition. Exported, with
// NewDocument, so benchmarks and tools can compare against Bleve alone on
// the same documents.
func NewMapping() mapping.IndexMapping { return newMapping() }

// NewDocument returns what the index stores in Bleve for a post signal.
func NewDocument(sig *record.Signal) any { return newDoc(sig) }

// newMapping returns the mapping of the posts index. Every stored field,
// term vector and doc value is there for a reader (BenchmarkScale reports
// the bytes per post they add up to):
//   - stored: what a hit shows (author, text, times, langs, outage, score,
//     and detail, the classification as the API answers it); the document
//     ID is the at-URI, so the URI is not a field of its own;
//   - term vectors: text, for highlighting, and the keyword fields whose
//     values have several words, for quoted query-string values;
//   - doc values: time (sorting) and the faceted fields (services, codes,
//     langs) only;
//   - no _all field: a query-string term without a field searches text,
//     which holds every service name and code a post was classified by.
func newMapping() mapping.IndexMapping {
	text := bleve.NewTextFieldMapping()
	text.Analyzer = textAnalyzer
	text.Store = true
	text.IncludeTermVectors = true // highlighting needs term locations
	text.IncludeInAll = false
	text.DocValues = false

	// Keyword fields keep term vectors so that a quoted multi-word value
	// (services:"Microsoft 365", codes:"451 4.3.2") matches as a phrase.
	kw := func(facet bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.IncludeTermVectors = true
		f.IncludeInAll = false
		f.DocValues = facet
		return f
	}
	plain := func(store, facet bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Store = store
		f.IncludeInAll = false
		f.DocValues = facet
		return f
	}
	dt := bleve.NewDateTimeFieldMapping()
	dt.Store = true
	dt.IncludeInAll = false
	created := bleve.NewDateTimeFieldMapping() // shown, never queried
	created.Index = false
	created.Store = true
	created.IncludeInAll = false
	created.DocValues = false
	num := bleve.NewNumericFieldMapping()
	num.Store = true
	num.IncludeInAll = false
	num.DocValues = false
	boolean := bleve.NewBooleanFieldMapping()
	boolean.Store = true
	boolean.IncludeInAll = false
	boolean.DocValues = false
	detail := bleve.NewTextFieldMapping()
	detail.Index = false
	detail.Store = true
	detail.IncludeInAll = false
	detail.IncludeTermVectors = false
	detail.DocValues = false

	post := bleve.NewDocumentStaticMapping()
	post.AddFieldMappingsAt(fieldAuthor, plain(true, false))
	post.AddFieldMappingsAt(fieldText, text)
	post.AddFieldMappingsAt(fieldTime, dt)
	post.AddFieldMappingsAt(fieldCreatedAt, created)
	post.AddFieldMappingsAt(fieldServices, kw(true))
	post.AddFieldMappingsAt(fieldParents, kw(false))
	post.AddFieldMappingsAt(fieldCodes, kw(true))
	post.AddFieldMappingsAt(fieldFamilies, plain(false, false))
	post.AddFieldMappingsAt(fieldLangs, plain(true, true))
	post.AddFieldMappingsAt(fieldRegions, kw(false))
	post.AddFieldMappingsAt(fieldOutage, boolean)
	post.AddFieldMappingsAt(fieldScore, num)
	post.AddFieldMappingsAt(fieldIntent, plain(false, false))
	post.AddFieldMappingsAt(fieldDetail, detail)

	im := bleve.NewIndexMapping()
	im.DefaultMapping = post
	im.DefaultAnalyzer = textAnalyzer
	im.DefaultField = fieldText
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im
}
