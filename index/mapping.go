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
	fieldURI       = "uri"
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

// newMapping returns the mapping of the posts index.
func newMapping() mapping.IndexMapping {
	text := bleve.NewTextFieldMapping()
	text.Analyzer = textAnalyzer
	text.Store = true
	text.IncludeTermVectors = true // highlighting needs term locations

	// Keyword fields keep term vectors so that a quoted multi-word value
	// (services:"Microsoft 365", codes:"451 4.3.2") matches as a phrase.
	kw := func(store bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = store
		f.IncludeTermVectors = true
		return f
	}
	plain := func(store bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Store = store
		f.IncludeInAll = false
		return f
	}
	dt := bleve.NewDateTimeFieldMapping()
	dt.Store = true
	dt.IncludeInAll = false
	num := bleve.NewNumericFieldMapping()
	num.Store = true
	num.IncludeInAll = false
	boolean := bleve.NewBooleanFieldMapping()
	boolean.Store = true
	boolean.IncludeInAll = false
	detail := bleve.NewTextFieldMapping()
	detail.Index = false
	detail.Store = true
	detail.IncludeInAll = false
	detail.IncludeTermVectors = false
	detail.DocValues = false

	post := bleve.NewDocumentStaticMapping()
	post.AddFieldMappingsAt(fieldURI, plain(true))
	post.AddFieldMappingsAt(fieldAuthor, plain(true))
	post.AddFieldMappingsAt(fieldText, text)
	post.AddFieldMappingsAt(fieldTime, dt)
	post.AddFieldMappingsAt(fieldCreatedAt, dt)
	post.AddFieldMappingsAt(fieldServices, kw(true))
	post.AddFieldMappingsAt(fieldParents, kw(false))
	post.AddFieldMappingsAt(fieldCodes, kw(true))
	post.AddFieldMappingsAt(fieldFamilies, plain(false))
	post.AddFieldMappingsAt(fieldLangs, plain(true))
	post.AddFieldMappingsAt(fieldRegions, kw(false))
	post.AddFieldMappingsAt(fieldOutage, boolean)
	post.AddFieldMappingsAt(fieldScore, num)
	post.AddFieldMappingsAt(fieldIntent, plain(false))
	post.AddFieldMappingsAt(fieldDetail, detail)

	im := bleve.NewIndexMapping()
	im.DefaultMapping = post
	im.DefaultAnalyzer = textAnalyzer
	im.DefaultField = "_all"
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im
}
