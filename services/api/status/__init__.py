"""The pipeline monitor behind /v1/pipeline/*: lag judgement, Kafka reads, probes, the view."""
