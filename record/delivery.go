package record

// Position is where a record sits in its Kafka topic. The stores
// downstream keep, with their data, the next offset of every partition
// they applied, so a redelivered record is recognised and skipped.
type Position struct {
	Partition int
	Offset    int64
	// HighWaterMark is the partition's end offset when the record was
	// fetched: Offset+1 == HighWaterMark means the consumer is caught up.
	HighWaterMark int64
}

// Delivery is one consumed record handed to a stage: where it came from
// and its decoded value. Invalid marks a record that did not decode (the
// consumer counted and logged it); its Value is the zero value and a stage
// only moves its offsets past it, so every stage treats bad input alike.
type Delivery[T any] struct {
	Position
	Value   T
	Invalid bool
}
