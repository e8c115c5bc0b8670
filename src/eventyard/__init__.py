"""eventyard: a Kafka-native router for B2B product-analytics events."""

__version__ = "0.1.0"
