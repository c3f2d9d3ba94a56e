"""Customer segmentation for banks: from raw customer records to named segments."""

__version__ = "0.1.0"
