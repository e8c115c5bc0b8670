"""I/O edge: the only package that imports faust, aiokafka or prometheus_client."""
