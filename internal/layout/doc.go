// Package layout holds no code: its test checks the shape of the module
// that docs/architecture.md describes, so the rules are not only written
// down. Data flows one way (no package imports one downstream of it), the
// wire records are a leaf, kafka-go is imported by package broker alone,
// and the read models do not link the ingest wire protocols or the
// classifier's automaton.
package layout
