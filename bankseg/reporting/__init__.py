"""What the segments mean: profiles, names, figures, the report, drift and the metrics gate."""
