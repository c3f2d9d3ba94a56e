"""The segmentation itself: encoding features, choosing K, K-means, stability and scoring customers."""
