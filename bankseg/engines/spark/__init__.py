"""The Apache Spark engine (``engine: spark``)."""
