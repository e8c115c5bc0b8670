"""The one Kafka layer: clients, batch producer, partitioner, high-watermark drain, topics."""
