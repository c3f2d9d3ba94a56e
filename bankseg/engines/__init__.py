"""The engines that run the heavy stages: scikit-learn on one machine, or Apache Spark."""
