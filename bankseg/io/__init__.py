"""Reading and writing the pipeline's files, one module per job.

- :mod:`bankseg.io.atomic`: every output written atomically (temporary file, then rename),
  whole files of each format, and reading the pipeline's own JSON;
- :mod:`bankseg.io.formulas`: text a spreadsheet would run as a formula, neutralised in CSV;
- :mod:`bankseg.io.blocks`: one Parquet or CSV file written a block of rows at a time;
- :mod:`bankseg.io.models`: models saved as canonical skops archives, and loaded after
  :mod:`bankseg.io.trust` has checked them against ``dvc.lock``.
"""
